"""Run the real Claude Code CLI (`claude -p`) offline, in a throwaway home, with a bounded wait.

`.ci/run` installs `@anthropic-ai/claude-code` when it is missing; tests skip without `CLAUDE`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

CLAUDE = shutil.which("claude")
QUIET = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
}


async def run_claude(
    home: Path, env: Mapping[str, str], *args: str, timeout: float = 90
) -> tuple[int, str, str]:
    """`claude -p <args>` with `home` as HOME and working directory: (exit code, stdout, stderr)."""
    assert CLAUDE is not None, "the claude CLI is not installed"
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **QUIET, **env}
    process = await asyncio.create_subprocess_exec(
        CLAUDE,
        "-p",
        *args,
        cwd=home,
        env=full_env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
