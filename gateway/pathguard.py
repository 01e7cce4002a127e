"""Which client paths may be forwarded to the upstream: no dot segments, however spelled.

Pure. The catch-all Anthropic route forwards the path as the client wrote it (escapes kept, so
odd-but-valid paths pass through untouched). A path that could resolve outside the proxied API at
the upstream or anything between is refused instead of forwarded: a `.` or `..` segment, also
spelled `%2e%2e` / `%2E.` or delimited by an encoded slash or backslash (`%2f`, `%5c`, which some
servers decode before resolving dots), a literal backslash, NUL or control bytes. An encoded
slash inside an ordinary segment (`/v1/files/file%2F01`) passes untouched. So
`/api/latest/anthropic/../../api/tokens` never reaches the upstream as `/../../api/tokens` with
the account's credential attached. Refusing, not normalising: the client learns its path is
wrong rather than being silently sent somewhere else.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_SEPARATOR = re.compile(r"/|%2f|%5c", re.IGNORECASE)


class PathRefused(ValueError):
    """The path may not be forwarded; the message says why (safe to show: it never echoes the path)."""


def check_upstream_path(path: str) -> str:
    """`path` itself when it is safe to forward; `PathRefused` otherwise."""
    if any(escape == "00" for escape in _ESCAPE.findall(path)):
        raise PathRefused("an encoded NUL in the path is not allowed")
    if "\\" in path or any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        raise PathRefused("backslashes and control characters in the path are not allowed")
    decoded = _ESCAPE.sub(lambda m: "." if m.group(1).lower() == "2e" else m.group(0), path)
    if any(segment in (".", "..") for segment in _SEPARATOR.split(decoded)):
        raise PathRefused("'.' and '..' path segments (also as %2e) are not allowed")
    return path
