"""The gateway's OpenTelemetry instruments and their Prometheus exposition.

Instruments are created once per app in `GatewayMetrics`. The hot path (`observe`, once per
request) only does plain arithmetic: an SDK `Counter.add`/`Histogram.record` costs 8-30 µs here, so
counters and gauges are observable instruments reading `UsageCounters` at collect time, and the
histograms are pre-aggregated (`histograms.LocalHistogram`, attribute dicts cached per label set)
and merged into what the SDK readers export. Exposition uses a per-app prometheus_client registry
(never the global one), so several apps in one process (tests, workers) do not share series.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest

from gateway.telemetry.histograms import InMemoryReader, LocalHistogram, PrometheusReader
from gateway.telemetry.labels import ModelLabels, Surface, status_class
from gateway.telemetry.request_info import RequestInfo
from gateway.telemetry.usage import UsageCounters, UsageEvent, UsageFeed

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# GenAI semantic-convention bucket advice (seconds).
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
SCOPE = "link_assistant_router"
ACCOUNT_STATES = ("healthy", "busy", "cooling_down", "quota_exhausted", "unhealthy", "drained")


@dataclass(frozen=True)
class AccountSample:
    name: str
    state: str
    cooldown_remaining_seconds: float


AccountSource = Callable[[], Iterable[AccountSample]]

# (counter name, description, UsageCounters attribute): the seed's unlabelled counters.
_SEED_COUNTERS: tuple[tuple[str, str, Callable[[UsageCounters], int]], ...] = (
    ("link_assistant_requests", "Requests on the API surfaces", lambda u: u.requests_total),
    ("link_assistant_errors", "API requests answered with status >= 400", lambda u: u.errors_total),
    ("link_assistant_bytes_in", "Request body bytes received from clients", lambda u: u.bytes_in),
    ("link_assistant_bytes_out", "Response body bytes sent to clients", lambda u: u.bytes_out),
    (
        "link_assistant_openai_chat_completions",
        "OpenAI chat completion requests",
        lambda u: u.openai_chat_completions,
    ),
    ("link_assistant_openai_responses", "OpenAI Responses API requests", lambda u: u.openai_responses),
    ("link_assistant_anthropic_messages", "Anthropic-surface requests", lambda u: u.anthropic_messages),
    ("link_assistant_tokens_issued", "API keys issued", lambda u: u.tokens_issued),
    ("link_assistant_tokens_revoked", "API keys revoked", lambda u: u.tokens_revoked),
)


class GatewayMetrics:
    """All instruments of one gateway app, the counters behind them and the usage feed."""

    def __init__(
        self,
        *,
        in_memory: bool = False,
        model_limit: int = 64,
        preload_models: tuple[str, ...] = (),
    ) -> None:
        self.usage = UsageCounters()
        self.feed = UsageFeed()
        self.models = ModelLabels(model_limit, preload_models)
        self._account_source: AccountSource = tuple
        self._attrs: dict[tuple[str, str, str, str], dict[str, str]] = {}
        self._ttft_attrs: dict[tuple[str, str, str], dict[str, str]] = {}
        self._duration = LocalHistogram(
            "gen_ai.server.request.duration",
            "s",
            "Time from request received to response finished",
            DURATION_BUCKETS,
        )
        self._ttft = LocalHistogram(
            "gen_ai.server.time_to_first_token",
            "s",
            "Time from request received to the first streamed token sent",
            TTFT_BUCKETS,
        )
        resource = Resource.create({"service.name": "link-assistant-router"})
        self.registry = CollectorRegistry(auto_describe=True)
        prometheus = PrometheusReader(
            disable_target_info=True, scope_info_enabled=False, registry=self.registry
        )
        readers: list[PrometheusReader | InMemoryReader] = [prometheus]
        self.memory_reader: InMemoryReader | None = InMemoryReader() if in_memory else None
        if self.memory_reader is not None:
            readers.append(self.memory_reader)
        self._token_hist = LocalHistogram(
            "gen_ai.client.token.usage",
            "{token}",
            "Tokens per request by gen_ai.token.type (input, output, cache_read, cache_write)",
            TOKEN_BUCKETS,
        )
        self._token_attrs: dict[tuple[str, str, str], dict[str, str]] = {}
        histograms = (self._duration, self._ttft, self._token_hist)
        for reader in readers:
            reader.attach(lambda: histograms, resource, SCOPE)
        self._provider = MeterProvider(
            metric_readers=readers,
            resource=resource,
            shutdown_on_exit=False,
            exemplar_filter=AlwaysOffExemplarFilter(),
        )
        meter = self._provider.get_meter(SCOPE)
        for name, description, read in _SEED_COUNTERS:
            meter.create_observable_counter(name, [self._plain(read)], description=description)
        observables = (
            ("link_assistant_status", "API requests by HTTP status", self._by_status),
            ("link_assistant_account_calls", "API requests served by each account", self._by_account),
            ("link_assistant_token_usage", "Tokens by model, account and gen_ai.token.type", self._tokens),
            ("link_assistant_upstream_errors", "Failed upstream attempts by account and kind", self._errors),
            ("link_assistant_budget_rejections", "Requests refused by a key's budget", self._rejections),
        )
        for name, description, callback in observables:
            meter.create_observable_counter(name, [callback], description=description)
        meter.create_observable_gauge(
            "link_assistant_active_streams", [self._streams], description="Streaming responses in flight"
        )
        meter.create_observable_gauge(
            "link_assistant_account_state", [self._account_state], description="1 for the account's state"
        )
        meter.create_observable_gauge(
            "link_assistant.account.cooldown.remaining",
            [self._account_cooldown],
            unit="s",
            description="Seconds until the account's cooldown ends (0 when none)",
        )

    # -- hot path -------------------------------------------------------------------------------

    def observe(self, info: RequestInfo, status: int, bytes_in: int, bytes_out: int) -> None:
        """Record one finished request: counters, duration (and TTFT for streams), usage event."""
        duration = info.elapsed()
        usage = self.usage
        account = info.account or ""
        model = self.models.label(info.model)
        surface = info.surface
        if surface is not None:
            usage.requests_total += 1
            if status >= 400:
                usage.errors_total += 1
            usage.status_counts[status] = usage.status_counts.get(status, 0) + 1
            usage.bytes_in += bytes_in
            usage.bytes_out += bytes_out
            if surface is Surface.ANTHROPIC:
                usage.anthropic_messages += 1
            elif surface is Surface.OPENAI_CHAT:
                usage.openai_chat_completions += 1
            else:
                usage.openai_responses += 1
            if account:
                usage.account_calls[account] = usage.account_calls.get(account, 0) + 1
        key = (info.route, model, account, status_class(status))
        attrs = self._attrs.get(key)
        if attrs is None:
            attrs = {"route": key[0], "model": model, "account": account, "status_class": key[3]}
            self._attrs[key] = attrs
        self._duration.record(duration, key, attrs)
        if info.streaming:
            ttft = info.first_token_s if info.first_token_s is not None else info.headers_s
            if ttft is not None:
                self._ttft.record(ttft, key[:3], self._ttft_attributes(info.route, model, account))
        if info.input_tokens or info.output_tokens or info.cache_read_tokens or info.cache_write_tokens:
            self._count_tokens(model, account, info)
        for failed in info.upstream_errors:
            usage.upstream_errors[failed] = usage.upstream_errors.get(failed, 0) + 1
        if info.rejection:
            usage.budget_rejections[info.rejection] = usage.budget_rejections.get(info.rejection, 0) + 1
        # Always kept, watched or not: a watcher that reconnects resumes from its last sequence.
        self.feed.publish(_event(info, status, account, model, duration))

    def _ttft_attributes(self, route: str, model: str, account: str) -> dict[str, str]:
        key = (route, model, account)
        attrs = self._ttft_attrs.get(key)
        if attrs is None:
            attrs = self._ttft_attrs[key] = {"route": route, "model": model, "account": account}
        return attrs

    def _count_tokens(self, model: str, account: str, info: RequestInfo) -> None:
        table = self.usage.token_usage
        for kind, count in (
            ("input", info.input_tokens),
            ("output", info.output_tokens),
            ("cache_read", info.cache_read_tokens),
            ("cache_write", info.cache_write_tokens),
        ):
            if count:
                key = (model, account, kind)
                table[key] = table.get(key, 0) + count
                attrs = self._token_attrs.get(key)
                if attrs is None:
                    attrs = {"model": model, "account": account, "gen_ai.token.type": kind}
                    self._token_attrs[key] = attrs
                self._token_hist.record(count, key, attrs)

    def stream_started(self) -> None:
        self.usage.active_streams += 1

    def stream_finished(self) -> None:
        self.usage.active_streams -= 1

    def token_issued(self) -> None:
        self.usage.tokens_issued += 1

    def token_revoked(self) -> None:
        self.usage.tokens_revoked += 1

    def watch_accounts(self, source: AccountSource) -> None:
        """Where account state and cooldown gauges come from (read at collect time only)."""
        self._account_source = source

    # -- exposition -----------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The Prometheus text exposition of every instrument."""
        return generate_latest(self.registry)

    def shutdown(self) -> None:
        self._provider.shutdown()

    # -- observable callbacks (collect time) ----------------------------------------------------

    def _plain(self, read: Callable[[UsageCounters], int]) -> Callable[[CallbackOptions], list[Observation]]:
        def callback(_options: CallbackOptions) -> list[Observation]:
            return [Observation(read(self.usage))]

        return callback

    def _by_status(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"code": str(code)}) for code, n in sorted(self.usage.status_counts.items())]

    def _by_account(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"account": name}) for name, n in sorted(self.usage.account_calls.items())]

    def _tokens(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(n, {"model": model, "account": account, "gen_ai.token.type": kind})
            for (model, account, kind), n in self.usage.token_usage.items()
        ]

    def _errors(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(n, {"account": account, "kind": kind})
            for (account, kind), n in self.usage.upstream_errors.items()
        ]

    def _rejections(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"reason": reason}) for reason, n in self.usage.budget_rejections.items()]

    def _streams(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self.usage.active_streams)]

    def _account_state(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(1 if sample.state == state else 0, {"account": sample.name, "state": state})
            for sample in self._account_source()
            for state in ACCOUNT_STATES
        ]

    def _account_cooldown(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(max(0.0, sample.cooldown_remaining_seconds), {"account": sample.name})
            for sample in self._account_source()
        ]


def _event(info: RequestInfo, status: int, account: str, model: str, duration: float) -> UsageEvent:
    return UsageEvent(
        time=time.time(),
        request_id=info.request_id,
        route=info.route,
        status=status,
        account=account,
        model=model,
        duration_seconds=duration,
        input_tokens=info.input_tokens,
        output_tokens=info.output_tokens,
        cache_read_tokens=info.cache_read_tokens,
        cache_write_tokens=info.cache_write_tokens,
    )


METRICS = web.AppKey("metrics", GatewayMetrics)
"""The app's metrics; absent when metrics are off (`--disable-metrics`)."""
