"""A real LiteLLM proxy (`litellm[proxy]`) for tests, in its own virtualenv outside the work tree.

LiteLLM pins an older `openai` major than the gateway's, so it never shares our venv. The venv lives
under `~/.cache/link-assistant-router/litellm-venv` (override with `LITELLM_VENV`); `ensure_venv`
creates it on first use (about a minute, network needed). `.ci/run` calls this module to warm it:
`python -m tests.openai.litellm_env`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MASTER_KEY = "sk-litellm-master-for-tests"
MOCK_TEXT = "Hello from LiteLLM mock"
CONFIG = f"""model_list:
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_key: sk-fake-upstream, mock_response: "{MOCK_TEXT}"}}
  - model_name: claude-mock
    litellm_params: {{model: anthropic/claude-sonnet-4-5, api_key: sk-ant-fake, mock_response: "{MOCK_TEXT}"}}
general_settings: {{master_key: {MASTER_KEY}}}
litellm_settings: {{telemetry: false}}
"""
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 90


def venv_dir() -> Path:
    default = Path.home() / ".cache" / "link-assistant-router" / "litellm-venv"
    return Path(os.environ.get("LITELLM_VENV", default))


def ensure_venv() -> Path:
    """The `litellm` executable, installing it first if needed. Raises RuntimeError on failure."""
    venv = venv_dir()
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return exe
    venv.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, capture_output=True
        )
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "litellm[proxy]"],
            check=True,
            timeout=INSTALL_TIMEOUT_S,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise RuntimeError(f"could not install litellm[proxy] into {venv}: {exc}") from exc
    if not exe.exists():
        raise RuntimeError(f"litellm[proxy] installed but {exe} is missing")
    return exe


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"litellm exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health/liveliness", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"litellm did not become ready within {START_TIMEOUT_S}s")


@contextmanager
def litellm_proxy(workdir: Path) -> Iterator[str]:
    """Run a LiteLLM proxy with mock_response models on 127.0.0.1; yields its base URL."""
    exe = ensure_venv()
    config = workdir / "litellm.yaml"
    config.write_text(CONFIG)
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "NO_DOCKER": "1",
    }
    log = (workdir / "litellm.log").open("wb")
    process = subprocess.Popen(
        [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


if __name__ == "__main__":
    print(ensure_venv())
