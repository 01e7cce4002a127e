"""ConfigService over gRPC: validate DSL text with the config loader; show the running config.

Validation is `dsl.config.load_config`: every problem, each with line and column, comes back in
the response (an invalid config is a normal answer, not an RPC error). The effective config is
the running `RouterConfig` flattened by `dsl.config.view`, where secrets show only as references.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeAlias

from aiohttp import web

from dsl.config import load_config
from dsl.config.view import flatten
from dsl.errors import DslError, Problem
from gateway.admin_grpc.gen import config_pb2 as pb
from gateway.admin_grpc.gen import config_pb2_grpc
from gateway.admin_grpc.status import invalid
from gateway.context import GATEWAY
from gateway.reload.reloader import RELOADER, Outcome

Context: TypeAlias = Any  # grpc.aio.ServicerContext (grpcio ships no type stubs)
MAX_CONFIG_CHARS = 1_000_000


def problem_message(problem: Problem) -> pb.Problem:
    return pb.Problem(
        line=problem.line or 0,
        column=problem.column or 0,
        message=problem.message + (f" ({problem.hint})" if problem.hint else ""),
        expected=problem.expected or "",
        filename=problem.file,
    )


def validate(text: str, filename: str) -> pb.ValidateConfigResponse:
    try:
        load_config(text, filename)
    except DslError as exc:
        return pb.ValidateConfigResponse(valid=False, problems=[problem_message(p) for p in exc.problems])
    return pb.ValidateConfigResponse(valid=True)


class ConfigServicer(config_pb2_grpc.ConfigServiceServicer):
    def __init__(self, app: web.Application) -> None:
        self._ctx = app[GATEWAY]
        self._reloader = app[RELOADER]

    async def ValidateConfig(
        self, request: pb.ValidateConfigRequest, context: Context
    ) -> pb.ValidateConfigResponse:
        if len(request.text) > MAX_CONFIG_CHARS:
            await invalid(context, f"config text is larger than {MAX_CONFIG_CHARS} characters")
        # A large document takes ~1 s of parsing: off the event loop, so the proxy keeps serving.
        return await asyncio.to_thread(validate, request.text, request.filename or "<grpc>")

    async def ReloadConfig(
        self, request: pb.ReloadConfigRequest, context: Context
    ) -> pb.ReloadConfigResponse:
        result = await self._reloader.reload("admin gRPC request")
        return pb.ReloadConfigResponse(
            reloaded=["config"] if result.outcome is Outcome.APPLIED else [],
            outcome=result.outcome.value,
            changes=list(result.changes),
            restart_required=list(result.restart_keys),
            problems=list(result.problems),
        )

    async def GetEffectiveConfig(
        self, request: pb.GetEffectiveConfigRequest, context: Context
    ) -> pb.EffectiveConfig:
        rows = dict(flatten(self._ctx.config))
        return pb.EffectiveConfig(json=json.dumps(rows, indent=2, sort_keys=True))
