"""The multi-account pool: per-account state, outcome classification, cooldowns and selection.

Layers: `classify` (upstream status/headers/stream errors -> a verdict, pure), `machine` (verdict ->
new account state, pure), `select` (strategies, affinity, pinning, concurrency, pure), `pool` (the one
mutable object the proxy talks to, clock injected), `build` (from the config) and `view` (rendering).
"""
