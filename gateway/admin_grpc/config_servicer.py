"""ConfigService over gRPC: validate DSL text with the config loader; show the running config.

Validation is `dsl.config.load_config`: every problem, each with line and column, comes back in
the response (an invalid config is a normal answer, unless the caller asks for `require_valid`:
then it is INVALID_ARGUMENT with a BadRequest violation per problem). ReloadConfig reloads the
config file through the app's `Reloader` (its outcome is part of the answer, never an RPC error) and
re-reads TLS certificate files and the token and provider stores. The effective config is
the running `RouterConfig` flattened by `dsl.config.view`, where secrets show only as references.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeAlias

import grpc
from aiohttp import web

from dsl.config import load_config
from dsl.config.view import flatten
from dsl.errors import DslError, Problem
from gateway.admin_grpc.status import abort, abort_for, invalid
from gateway.context import GATEWAY
from gateway.errors import GatewayError
from gateway.providers.store import PROVIDERS
from gateway.reload.reloader import RELOADER, Outcome
from gateway.tlsfiles import RELOADERS, CertificateReloader
from gateway.tokens.service import TOKENS
from link_assistant_router_admin.v1 import config_pb2 as pb
from link_assistant_router_admin.v1 import config_pb2_grpc

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


def located(problem: pb.Problem) -> str:
    """`router.lino:3:5: message`, as compilers print it."""
    return f"{problem.filename}:{problem.line}:{problem.column}: {problem.message}"


def validate(text: str, filename: str) -> pb.ValidateConfigResponse:
    try:
        load_config(text, filename)
    except DslError as exc:
        return pb.ValidateConfigResponse(valid=False, problems=[problem_message(p) for p in exc.problems])
    return pb.ValidateConfigResponse(valid=True)


class ConfigServicer(config_pb2_grpc.ConfigServiceServicer):
    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._ctx = app[GATEWAY]
        self._reloader = app[RELOADER]

    async def ValidateConfig(
        self, request: pb.ValidateConfigRequest, context: Context
    ) -> pb.ValidateConfigResponse:
        if len(request.text) > MAX_CONFIG_CHARS:
            await invalid(context, f"config text is larger than {MAX_CONFIG_CHARS} characters")
        # A large document takes ~1 s of parsing: off the event loop, so the proxy keeps serving.
        verdict = await asyncio.to_thread(validate, request.text, request.filename or "<grpc>")
        if request.require_valid and not verdict.valid:
            first = verdict.problems[0]
            await abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"config is not valid: {len(verdict.problems)} problem(s), first {located(first)}",
                "CONFIG_INVALID",
                [("text", located(p)) for p in verdict.problems],
                {"line": str(first.line), "column": str(first.column), "filename": first.filename},
            )
        return verdict

    async def GetEffectiveConfig(
        self, request: pb.GetEffectiveConfigRequest, context: Context
    ) -> pb.EffectiveConfig:
        rows = dict(flatten(self._ctx.config))
        return pb.EffectiveConfig(json=json.dumps(rows, indent=2, sort_keys=True))

    async def ReloadConfig(
        self, request: pb.ReloadConfigRequest, context: Context
    ) -> pb.ReloadConfigResponse:
        result = await self._reloader.reload("admin gRPC request")  # the config file, as SIGHUP does
        reloaded: list[str] = ["config"] if result.outcome is Outcome.APPLIED else []
        reloaders: list[CertificateReloader] = self._app.get(RELOADERS, [])
        try:
            for reloader in reloaders:
                await asyncio.to_thread(reloader.reload)
        except OSError as exc:
            await abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"cannot re-read a TLS certificate or key file: {exc.strerror or exc}",
                "TLS_FILES_UNREADABLE",
            )
        if reloaders:
            reloaded.append("tls_certificates")
        tokens = self._app.get(TOKENS)
        try:
            if tokens is not None:
                await tokens.refresh()
                reloaded.append("tokens")
            await asyncio.to_thread(self._app[PROVIDERS].records)
        except GatewayError as exc:
            await abort_for(context, exc)
        reloaded.append("providers")
        return pb.ReloadConfigResponse(
            reloaded=reloaded,
            outcome=result.outcome.value,
            changes=list(result.changes),
            restart_required=list(result.restart_keys),
            problems=list(result.problems),
        )
