"""Log setup for gateway processes, with a filter that redacts secrets from every record.

`configure_logging` installs one stderr handler on the root logger. The `RedactionFilter` rewrites
each record's final message: known secret values (TOKEN_SECRET, the admin key, provider keys) and
anything shaped like a credential (`la_sk_…`, `sk-ant-…`, `Bearer …`) become `[REDACTED]`, also in
exception text. This is a safety net: code must still never log a secret on purpose.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

REDACTED = "[REDACTED]"
CREDENTIAL_PATTERNS = re.compile(
    r"la_sk_[A-Za-z0-9._\-]+"
    r"|sk-ant-[A-Za-z0-9_\-]+"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return CREDENTIAL_PATTERNS.sub(REDACTED, text)


class RedactionFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info), self.secrets)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, Mapping):
            entry.update(extra)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def level_from(verbose: bool, environ: Mapping[str, str]) -> int:
    """VERBOSE → DEBUG; otherwise LOG_LEVEL or the seed's RUST_LOG (`debug`, `info`, `trace`...)."""
    if verbose:
        return logging.DEBUG
    raw = (environ.get("LOG_LEVEL") or environ.get("RUST_LOG") or "info").strip().lower()
    raw = raw.split(",")[0].split("=")[-1]
    return {
        "trace": logging.DEBUG,
        "debug": logging.DEBUG,
        "info": logging.INFO,
        "warn": logging.WARNING,
        "warning": logging.WARNING,
        "error": logging.ERROR,
    }.get(raw, logging.INFO)


def configure_logging(
    level: int,
    json_logs: bool = False,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Replace the root logger's handlers with one redacting stderr handler; returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactionFilter(secrets))
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
