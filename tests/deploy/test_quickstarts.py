"""The README's quick starts, tested as written: each `# quick start: NAME` block is replayed (helm
install → helm template with the same arguments, `config render … > FILE` → the real CLI, `kubectl
create secret` → a record of the Secrets and keys it makes, `kubectl apply -f` of a RouterConfig → the
controller's renderer), then every Secret key, env var and secret file the gateway pods read must be one
the commands created. The Akash and compose paths name every secret too, and compose.yaml passes the
compose-spec JSON schema (vendored with its provenance)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import kubernetes_validate
import pytest
import yaml

from controller.akash import placeholder
from controller.configcheck import check_resource
from controller.render import render_children
from controller.spec import parse_resource
from tests.controller import tools
from tests.deploy.running import running, wait_ready
from tests.support.ports import free_port
from tests.support.redis_server import redis_server

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"```sh\n# quick start: (?P<name>[\w-]+)\n(?P<body>.*?)```", re.S)
QUICK_STARTS = {m.group("name"): m.group("body").strip().splitlines() for m in BLOCK.finditer(README)}
K8S_VERSION = "1.33.0"


class Replay:
    """What the documented commands leave behind: Secrets by (namespace, name), files, objects."""

    def __init__(self, tmp_path: Path) -> None:
        self.secrets: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.files: dict[str, str] = {}
        self.objects: list[dict[str, Any]] = []
        self.tmp = tmp_path

    def run(self, line: str) -> None:
        redirect = None
        if " > " in line:
            line, redirect = (part.strip() for part in line.rsplit(" > ", 1))
        words = shlex.split(line)
        if words[:2] == ["link-assistant-router", "config"]:
            out = subprocess.run(
                [sys.executable, "-m", "gateway.cli.main", *words[1:]],
                capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr
            assert redirect is not None
            self.files[redirect] = out.stdout
        elif words[:2] == ["helm", "install"]:
            self._helm(words[2:])
        elif words[:4] == ["kubectl", "create", "secret", "generic"]:
            self._secret(words[4:])
        elif words[:2] == ["kubectl", "apply"]:
            self._apply(words[words.index("-f") + 1])
        else:
            assert words[:2] == ["kubectl", "get"], f"a quick-start command the test cannot replay: {line}"

    def _local(self, path: str) -> Path:
        if path in self.files:
            local = self.tmp / path
            local.write_text(self.files[path])
            return local
        assert (ROOT / path).is_file(), f"the quick start names a file that is not in the repository: {path}"
        return ROOT / path

    def _helm(self, args: list[str]) -> None:
        release, chart, rest = args[0], args[1], args[2:]
        rest = [str(self._local(a)) if i and rest[i - 1] == "-f" else a for i, a in enumerate(rest)]
        rest = [a for a in rest if a != "--create-namespace"]
        try:
            helm = tools.helm()
        except tools.ToolUnavailable as exc:
            pytest.fail(f"helm unavailable: {exc}")
        out = subprocess.run(
            [helm, "template", release, str(ROOT / chart), *rest],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        self.objects += [d for d in yaml.safe_load_all(out.stdout) if d]

    def _secret(self, args: list[str]) -> None:
        name, namespace = args[0], "default"
        for arg in args[1:]:
            if arg.startswith("--from-literal="):
                self.secrets[(namespace, name)].add(arg.split("=", 2)[1])
            elif arg.startswith("--from-file="):
                spec = arg.split("=", 1)[1]
                self.secrets[(namespace, name)].add(spec.split("=")[0] if "=" in spec else Path(spec).name)

    def _apply(self, path: str) -> None:
        body = yaml.safe_load(self._local(path).read_text())
        assert body["kind"] == "RouterConfig"
        resource = parse_resource(body)
        check = check_resource(resource)
        assert check.valid and check.config is not None, check.message()
        self.objects += render_children(resource, check.config)

    def gateway_pods(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (o["metadata"].get("namespace") or "default", o["spec"]["template"]["spec"])
            for o in self.objects
            if o["kind"] == "Deployment"
            and o["spec"]["template"]["spec"]["containers"][0]["name"] == "gateway"
        ]


def _needed(namespace: str, pod: dict[str, Any]) -> list[tuple[tuple[str, str], str, str]]:
    """((namespace, secret), key, why) of every Secret key the gateway container cannot start without."""
    container = pod["containers"][0]
    needed = []
    for env in container["env"]:
        ref = (env.get("valueFrom") or {}).get("secretKeyRef")
        if ref and not ref.get("optional"):
            needed.append(((namespace, ref["name"]), ref["key"], f"env {env['name']}"))
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        secret = volumes[mount["name"]].get("secret")
        if secret and not secret.get("optional"):
            key = mount.get("subPath") or ""
            needed.append(((namespace, secret["secretName"]), key, f"file {mount['mountPath']}"))
    return needed


@pytest.mark.parametrize("name", ["kubernetes", "kubernetes-redis", "gateway-chart", "gateway-chart-redis"])
def test_kubernetes_quick_start_creates_every_secret_its_pods_read(name: str, tmp_path: Path) -> None:
    assert name in QUICK_STARTS, f"README has no `# quick start: {name}` block"
    replay = Replay(tmp_path)
    for line in QUICK_STARTS[name]:
        replay.run(line)
    pods = replay.gateway_pods()
    assert pods, "the quick start deploys no gateway"
    for namespace, pod in pods:
        for secret, key, why in _needed(namespace, pod):
            assert secret in replay.secrets, f"{why} reads Secret {secret}, which no command creates"
            assert not key or key in replay.secrets[secret], f"{why} reads key {key!r} of {secret}"
        env = {e["name"] for e in pod["containers"][0]["env"]}
        assert {"TOKEN_SECRET", "ANTHROPIC_API_KEY"} <= env
        if name.endswith("redis"):
            assert "REDIS_URL" in env
    for obj in replay.objects:
        if obj["kind"] not in ("ServiceMonitor", "CustomResourceDefinition"):
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    kinds = {o["kind"] for o in replay.objects}
    assert ("PersistentVolumeClaim" in kinds) is (
        name in ("kubernetes", "gateway-chart", "gateway-chart-redis")
    )


def test_akash_quick_start_names_every_secret_to_fill_in() -> None:
    lines = QUICK_STARTS["akash"]
    render = shlex.split(lines[0].rsplit(" > ", 1)[0])
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *render[1:]],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout == (ROOT / "akash" / "deploy.yaml").read_text()  # the committed SDL is this output
    env = yaml.safe_load(out.stdout.split("---\n", 1)[1])["services"]["router"]["env"]
    secrets = [item.split("=", 1)[0] for item in env if item.endswith(placeholder(item.split("=", 1)[0]))]
    section = README[README.index("### Akash") : README.index("# quick start: akash")]
    assert secrets and all(f"`{name}`" in section for name in secrets), secrets


def test_compose_file_passes_the_compose_spec_schema() -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    validator = jsonschema.Draft7Validator(schema)  # the schema's own draft
    validator.validate(compose)
    broken = json.loads(json.dumps(compose))
    broken["services"]["gateway"]["stop_grace_periods"] = "65s"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_compose_gateway_reads_only_what_the_quick_start_creates() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    gateway = compose["services"]["gateway"]
    env = gateway["environment"]
    dotenv = QUICK_STARTS["compose"][0]
    created = set(re.findall(r"([A-Z_]+)=%s", dotenv))
    required = {name for name, value in env.items() if re.fullmatch(r"\$\{\w+:\?.*\}", str(value))}
    assert required == created == {"TOKEN_SECRET", "ANTHROPIC_API_KEY"}
    mounts = {v.split(":")[1]: v.split(":")[0] for v in gateway["volumes"] if v.startswith("./")}
    config_path = gateway["command"][gateway["command"].index("--config") + 1]
    source = ROOT / mounts[config_path]
    assert source.is_file()
    config_env = set(re.findall(r"-env \"?([A-Z_]+)", source.read_text()))
    assert config_env <= set(env), f"the config reads {config_env - set(env)}, which compose does not set"
    assert "-file" not in source.read_text()
    for volume in compose["services"]["litellm"]["volumes"]:
        assert (ROOT / volume.split(":")[0]).is_file()
    assert compose["services"]["litellm"]["profiles"] == ["litellm"]
    assert "docker compose --profile litellm up -d" in QUICK_STARTS["compose"]


async def test_the_compose_gateway_comes_up_with_the_quick_start_env(tmp_path: Path) -> None:
    """The gateway service as compose runs it (its command, its config file, its environment with the
    .env values the quick start writes), against a real Redis in place of the `redis` service."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    gateway = compose["services"]["gateway"]
    config_path = gateway["command"][gateway["command"].index("--config") + 1]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in gateway["volumes"] if v.startswith("./")}
    command = [c if c != config_path else str(ROOT / mounts[config_path]) for c in gateway["command"]]
    dotenv = {"TOKEN_SECRET": "compose-token-secret-0123456789abcdef", "ANTHROPIC_API_KEY": "sk-ant-compose"}
    port = free_port()
    async with redis_server(tmp_path / "redis") as redis_url:
        env = {
            name: re.sub(r"\$\{(\w+)(:[?-][^}]*)?\}", lambda m: dotenv.get(m.group(1), ""), str(value))
            for name, value in gateway["environment"].items()
        }
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        env.update(
            REDIS_URL=redis_url,  # the `redis` service, here on 127.0.0.1
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            HOME=str(tmp_path), DATA_DIR=str(tmp_path / "data"), ROUTER_HOST="127.0.0.1",
            ROUTER_PORT=str(port), ADMIN_GRPC_PORT="off", ROUTER_SHUTDOWN_DELAY="0",
        )  # fmt: skip
        argv = ["link-assistant-router", *command]
        async with running(argv, env, tmp_path) as proc, aiohttp.ClientSession() as http:
            await wait_ready(http, f"http://127.0.0.1:{port}", proc)
        assert proc.returncode == 0
