"""Traces: one server span per request, one client span per upstream attempt, W3C traceparent both ways.

The telemetry middleware opens the server span (parent: the client's `traceparent`, if any) and
closes it from the request's record, which the exchange pipeline filled in (model, account, tokens,
failed attempts). Client spans come from an aiohttp `TraceConfig` on the upstream session, so every
attempt the backends make (retries, failovers, a refresh exchange) gets its own span and carries
our `traceparent` upstream, whichever backend sent it. Attributes follow the OpenTelemetry HTTP and
GenAI conventions. Never recorded: prompt or answer text, headers, query strings, keys.
The provider is this app's own (not the global one), so several apps in one process stay apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.telemetry.labels import Surface
from gateway.telemetry.request_info import RequestInfo

SCOPE = "link_assistant_router"
_OPERATION = {Surface.ANTHROPIC: "chat", Surface.OPENAI_CHAT: "chat", Surface.OPENAI_RESPONSES: "chat"}


class Tracing:
    """The app's tracer, sampler and propagator; `close()` flushes what is still queued."""

    def __init__(
        self,
        exporter: SpanExporter,
        ratio: float,
        resource: Resource,
        providers: Mapping[str, str] | None = None,
        account_attribute: bool = False,
    ) -> None:
        self._provider = TracerProvider(
            sampler=ParentBased(TraceIdRatioBased(ratio)), resource=resource, shutdown_on_exit=False
        )
        self._provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self._provider.get_tracer(SCOPE)
        self.propagator = TraceContextTextMapPropagator()
        self._providers = dict(providers or {})
        """Account or provider name → gen_ai.provider.name (anything else is an Anthropic account)."""
        self._account_attribute = account_attribute

    # -- server span (the telemetry middleware) -------------------------------------------------

    def start_server(self, method: str, route: str, scheme: str, headers: Mapping[str, str]) -> ServerSpan:
        parent = self.propagator.extract(headers)
        span = self.tracer.start_span(f"{method} {route}", context=parent, kind=SpanKind.SERVER)
        if span.is_recording():  # attributes only for the sampled share: the rest pay no dicts
            span.set_attributes({"http.request.method": method, "http.route": route, "url.scheme": scheme})
        server = ServerSpan(span, otel_context.attach(trace.set_span_in_context(span, parent)))
        server.current = _CURRENT.set(server)
        return server

    def finish_server(self, server: ServerSpan, info: RequestInfo, status: int) -> None:
        if server.current is not None:
            _CURRENT.reset(server.current)
        otel_context.detach(server.token)
        span = server.span
        if not span.is_recording():
            span.end()
            return
        span.set_attribute("http.response.status_code", status)
        if status >= 500 or status == 499:
            span.set_status(Status(StatusCode.ERROR))
        if status >= 400:
            span.set_attribute("error.type", str(status))
        operation = _OPERATION.get(info.surface) if info.surface is not None else None
        if operation is not None:
            span.set_attribute("gen_ai.operation.name", operation)
            provider = self._providers.get(info.account or "", "anthropic")
            span.set_attribute("gen_ai.provider.name", provider)
            if info.model:
                span.set_attribute("gen_ai.request.model", info.model)
            if info.response_model:
                span.set_attribute("gen_ai.response.model", info.response_model)
            if info.input_tokens:
                span.set_attribute("gen_ai.usage.input_tokens", info.input_tokens)
            if info.output_tokens:
                span.set_attribute("gen_ai.usage.output_tokens", info.output_tokens)
        if info.account and self._account_attribute:
            span.set_attribute("link_assistant.account", info.account)
        if info.upstream_errors:
            span.set_attribute("link_assistant.upstream_failures", len(info.upstream_errors))
        span.end()

    # -- client spans (the upstream session) ----------------------------------------------------

    def trace_config(self) -> aiohttp.TraceConfig:
        """Hooks for the upstream `ClientSession`: a span per request and our traceparent on it."""
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._client_start)
        config.on_request_end.append(self._client_end)
        config.on_request_exception.append(self._client_failed)
        return config

    async def _client_start(
        self, _session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        server = _CURRENT.get()
        if server is None:
            return  # outside a request (a background refresh): nothing to hang a span on
        attempt = server.attempts  # earlier upstream requests of this request: its resend count
        server.attempts += 1
        if not server.span.is_recording():
            # Unsampled: nothing is recorded, so no client span either; the upstream still gets the
            # trace id (and "not sampled") so its own spans, if any, join the caller's trace.
            params.headers["traceparent"] = server.traceparent()
            return
        url = params.url
        attributes: dict[str, Any] = {
            "http.request.method": params.method,
            "server.address": url.host or "",
            "url.full": str(url.with_query(None).with_fragment(None).with_user(None)),
        }
        if url.port is not None:
            attributes["server.port"] = url.port
        if attempt:
            attributes["http.request.resend_count"] = attempt
        span = self.tracer.start_span(params.method, kind=SpanKind.CLIENT, attributes=attributes)
        ctx.span = span
        self.propagator.inject(params.headers, context=trace.set_span_in_context(span))

    async def _client_end(
        self, _session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        span = getattr(ctx, "span", None)
        if span is None:
            return
        status = params.response.status
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    async def _client_failed(
        self,
        _session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        span = getattr(ctx, "span", None)
        if span is None:
            return
        span.set_attribute("error.type", type(params.exception).__qualname__)
        span.set_status(Status(StatusCode.ERROR))
        span.end()

    def close(self) -> None:
        self._provider.shutdown()


class ServerSpan:
    """A request's open server span, the context tokens to undo, and its upstream attempt count."""

    __slots__ = ("attempts", "current", "span", "token")

    def __init__(self, span: trace.Span, token: Token[otel_context.Context]) -> None:
        self.span = span
        self.token = token
        self.current: Token[ServerSpan | None] | None = None
        self.attempts = 0

    def traceparent(self) -> str:
        """The W3C header naming this span as the parent (used for unsampled requests)."""
        context = self.span.get_span_context()
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


_CURRENT: ContextVar[ServerSpan | None] = ContextVar("lar_server_span", default=None)

TRACING = web.AppKey("tracing", Tracing)
"""The app's tracing, when an OTLP endpoint is known and traces are on (the upstream session's hooks)."""
