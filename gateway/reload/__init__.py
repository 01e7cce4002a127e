"""Config hot reload: what changed between two configs (`diff`), how account state carries over
(`accounts`), and the reloader that loads, validates and swaps the running config (`reloader`)."""
