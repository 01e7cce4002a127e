"""`python -m gateway.cli.healthcheck`: the container image's HEALTHCHECK. Exit 0 when the gateway in this
container answers `GET /health`, else 1 with one line on stderr (never a traceback).

The port is the effective one. `serve` writes the port it bound to `$ROUTER_LISTEN_FILE` (the image sets
it), so flags such as `serve --config FILE` or `--port` count; without that file, the port is what
`serve` would resolve from the environment, ./.lenv, ./.env and the config file `ROUTER_CONFIG` names.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from dsl.errors import DslError
from gateway.cli.settings import settings_from_args

LISTEN_FILE_ENV = "ROUTER_LISTEN_FILE"
TIMEOUT_SECONDS = 3.0


def listened_port(environ: Mapping[str, str]) -> int | None:
    """The port a running `serve` wrote, if it did."""
    path = environ.get(LISTEN_FILE_ENV)
    if not path:
        return None
    try:
        return int(Path(path).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def effective_port(environ: Mapping[str, str], cwd: Path) -> int:
    port = listened_port(environ)
    if port is not None:
        return port
    return settings_from_args(argparse.Namespace(), environ, cwd).config.server.port


def main() -> int:
    try:
        port = effective_port(os.environ, Path.cwd())
    except DslError as err:
        print(f"unhealthy: cannot read the settings: {err.problems[0].render()}", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            healthy = response.status == 200
    except (OSError, urllib.error.URLError) as err:
        print(f"unhealthy: {url}: {getattr(err, 'reason', err)}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
