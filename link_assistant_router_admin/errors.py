"""Admin API errors as one typed exception, with the `google.rpc` details decoded.

The gateway puts a `google.rpc.Status` in the `grpc-status-details-bin` trailer of every error:
an `ErrorInfo` (a machine-readable `reason`, e.g. TOKEN_NOT_FOUND, INVALID_PAGE_TOKEN, and
metadata) and, for bad input, a `BadRequest` listing the request fields at fault. `AdminError`
carries them; `from_rpc_error` converts grpc's exception at the client boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2, status_pb2

DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


@dataclass
class AdminError(Exception):
    """An admin call failed: the gRPC code, the server's message and its decoded details."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    violations: list[FieldViolation] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.code.name}: {self.message}" + (f" [{self.reason}]" if self.reason else "")]
        lines += [f"  {v.field}: {v.description}" for v in self.violations]
        return "\n".join(lines)


def decode_details(raw: bytes) -> tuple[str, dict[str, str], list[FieldViolation]]:
    """(reason, metadata, field violations) from a serialized google.rpc.Status. Pure."""
    status = status_pb2.Status.FromString(raw)
    reason, metadata, violations = "", dict[str, str](), list[FieldViolation]()
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        if detail.Is(info.DESCRIPTOR) and detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(bad.DESCRIPTOR) and detail.Unpack(bad):
            violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return reason, metadata, violations


def from_rpc_error(error: grpc.RpcError) -> AdminError:
    """grpc's exception (an aio.AioRpcError, or a sync call's) as an AdminError."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    reason, metadata, violations = "", dict[str, str](), list[FieldViolation]()
    for key, value in trailers or ():
        if key == DETAILS_KEY and isinstance(value, bytes):
            reason, metadata, violations = decode_details(value)
    return AdminError(code, message or "", reason, metadata, violations)
