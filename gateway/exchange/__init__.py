"""The exchange: the one path every proxied request takes, whatever surface it came in on.

    authorize → read → translate (the surface) → backend: admit, open upstream, retry before the
    first byte → relay (one loop, a `BodyCodec` per response) → settle usage (one rule)

The seams are in `interface` (Surface, Translator, BodyCodec, Backend, Usage, UpstreamRequest);
the pipeline is `pipeline.run`. A new surface registers itself with a route handler of one line:

    from gateway.exchange.pipeline import run

    class BedrockSurface:                      # implements interface.Surface
        async def translator(self, incoming, record):
            return BedrockTranslator(parse(incoming.body), record)   # implements interface.Translator

    async def converse(request: web.Request) -> web.StreamResponse:
        return await run(request, BedrockSurface())            # or run(request, surface, own_backend)

Errors raised before the first byte (`GatewayError`) are rendered by the error middleware in the
Anthropic or OpenAI shape by path; a surface with an error body of its own passes
`run(..., error_shape=render)` (a `GatewayError` → response function).

    app.router.add_post("/model/{model}/converse", converse)

The translator's `call` is an Anthropic Messages request (sent through the configured account-pool
backend: direct, cli or hybrid) or, with a backend of its own passed to `run`, any raw request; its
`answer(status, reason, headers)` returns `Relay(codec, ...)` for a body translated chunk by chunk
(`codec.feed(bytes) -> bytes`, `finish()`, `fail(error)` for the in-band error, `usage`) or
`Whole(convert)` for a body read whole (JSON answers, errors: `convert` raises `GatewayError`,
which the error middleware renders in the route's own error shape). `passthrough` holds the
identity translator (`AnthropicSurface`) and the identity codec other pass-through surfaces reuse.
"""
