"""UsageService over gRPC: the /v1/usage counters and a live stream of per-request usage events.

Reads the app's `GatewayMetrics` (the same object behind /metrics and /v1/usage). When metrics
are disabled the service answers FAILED_PRECONDITION rather than pretending everything is zero.
WatchUsage resumes from `after_sequence` through the feed's ring (see `UsageFeed`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import grpc
from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.telemetry.metrics import METRICS, GatewayMetrics
from gateway.telemetry.usage import UsageEvent
from link_assistant_router_admin.v1 import usage_pb2 as pb
from link_assistant_router_admin.v1 import usage_pb2_grpc

Context: TypeAlias = Any  # grpc.aio.ServicerContext (grpcio ships no type stubs)
_DISABLED = "metrics are disabled on this gateway (features.metrics off / --disable-metrics)"


def snapshot_message(snapshot: dict[str, Any]) -> pb.UsageSnapshot:
    fields = pb.UsageSnapshot.DESCRIPTOR.fields_by_name
    plain = {k: v for k, v in snapshot.items() if isinstance(v, int) and k in fields}
    return pb.UsageSnapshot(
        **plain,
        status_counts=snapshot["status_counts"],
        account_calls=snapshot["account_calls"],
        token_usage=snapshot["token_usage"],
    )


def event_message(event: UsageEvent, dropped: int, sequence: int = 0) -> pb.UsageEvent:
    when = Timestamp()
    when.FromNanoseconds(int(event.time * 1e9))
    return pb.UsageEvent(
        time=when,
        request_id=event.request_id,
        route=event.route,
        status=event.status,
        account=event.account,
        model=event.model,
        duration_seconds=event.duration_seconds,
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        cache_read_tokens=event.cache_read_tokens,
        cache_write_tokens=event.cache_write_tokens,
        dropped=dropped,
        sequence=sequence,
    )


def wanted(request: pb.WatchUsageRequest, event: UsageEvent) -> bool:
    """Whether an event passes the watcher's filters (empty filters pass everything)."""
    return (
        (not request.account or event.account == request.account)
        and (not request.route or event.route == request.route)
        and (not request.errors_only or event.status >= 400)
    )


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def _metrics(self, context: Context) -> GatewayMetrics:
        metrics = self._app.get(METRICS)
        if metrics is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, _DISABLED)
            raise AssertionError("unreachable: context.abort raises")
        return metrics

    async def GetUsage(self, request: pb.GetUsageRequest, context: Context) -> pb.UsageSnapshot:
        metrics = await self._metrics(context)
        snapshot = snapshot_message(metrics.usage.snapshot())
        snapshot.last_sequence = metrics.feed.last_sequence
        return snapshot

    async def WatchUsage(
        self, request: pb.WatchUsageRequest, context: Context
    ) -> AsyncIterator[pb.UsageEvent]:
        metrics = await self._metrics(context)
        # Runs until the client cancels (grpc cancels this generator) or the server stops.
        after = request.after_sequence if request.HasField("after_sequence") else None
        lost = 0
        async for sequence, event, dropped in metrics.feed.watch(after):
            lost += dropped  # reported on the next event this watcher's filters let through
            if wanted(request, event):
                yield event_message(event, lost, sequence)
                lost = 0
