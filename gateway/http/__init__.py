"""HTTP plumbing shared by every route: health, route families and toggles, the error middleware."""
