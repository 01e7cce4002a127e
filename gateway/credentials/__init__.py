"""Upstream credentials: Claude Code OAuth credential files (with refresh) and plain API keys.

Every credential source answers `auth_headers()` with the headers to send upstream; the proxy never
looks inside. The user's Claude Code files are only ever read; rotated tokens live in our data dir.
"""
