"""The `cli` and `hybrid` routing modes: answer Messages requests by running the `claude` CLI.

`invocation` (request body → CLI arguments and prompt, pure), `events` (the CLI's stream-json
output → Anthropic SSE frames or one Messages response, pure), `runner` (the subprocess) and
`serve` (the route glue: account choice, retries, response).
"""
