"""A real Kubernetes API server for custom resources: etcd + the upstream apiextensions-apiserver, on
127.0.0.1, plus the small discovery shim kubectl needs (see tests/controller/tools.py).

It serves CRDs and custom objects with real schema validation, defaulting and the status subresource; it
does not serve core types (those tests use kmock).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kmock
from aiohttp import ClientSession, TCPConnector, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.controller.emulator import ClusterEmulator
from tests.controller.tools import ToolUnavailable, apiserver_binary

SESSION = web.AppKey("session", ClientSession)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cert(
    ca_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    subject: x509.Name,
    ca: bool = False,
    san: x509.SubjectAlternativeName | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write_certs(folder: Path) -> None:
    """A CA, an admin client certificate in group system:masters, and the server's certificate."""
    pem = serialization.Encoding.PEM
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    ca, _ = _cert(ca_key, ca_name, ca_name, ca=True, key=ca_key)
    folder.joinpath("ca.crt").write_bytes(ca.public_bytes(pem))
    admin = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
        ]
    )
    serving = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    loopback = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    for name, (cert, key) in (
        ("admin", _cert(ca_key, ca_name, admin)),
        ("serving", _cert(ca_key, ca_name, serving, san=loopback)),
    ):
        folder.joinpath(f"{name}.crt").write_bytes(cert.public_bytes(pem))
        folder.joinpath(f"{name}.key").write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )


def _kubeconfig(
    server: str, cert: Path | None = None, key: Path | None = None, ca: Path | None = None
) -> str:
    user = {"client-certificate": str(cert), "client-key": str(key)} if cert and key else {}
    cluster: dict[str, object] = {"server": server}
    if ca is not None:
        cluster["certificate-authority"] = str(ca)
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "test",
            "clusters": [{"name": "test", "cluster": cluster}],
            "users": [{"name": "test", "user": user}],
            "contexts": [
                {"name": "test", "context": {"cluster": "test", "user": "test", "namespace": "default"}}
            ],
        }
    )


@dataclass
class RealApiServer:
    folder: Path
    https_url: str
    shim_url: str
    kubeconfig: Path  # TLS with the admin client cert: for the kubernetes client
    shim_kubeconfig: Path  # plain HTTP through the shim: custom resources real, core/apps types emulated
    core: ClusterEmulator  # where the shim sends ConfigMaps, Services, Events and Deployments


# Types the apiextensions-apiserver does not serve; the shim routes them to a kmock emulator instead.
CORE_PREFIXES = ("/api/v1/", "/apis/apps/", "/apis/policy/", "/apis/monitoring.coreos.com/")


class _Shim:
    """Discovery shim: serves /api, /api/v1 and /apis, proxies custom resources to the real server over
    TLS and core/apps types to an in-process kmock emulator, so a whole controller can run against it."""

    def __init__(self, upstream: str, ssl_ctx: ssl.SSLContext, port: int) -> None:
        self.upstream, self.ssl_ctx, self.port = upstream, ssl_ctx, port
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="discovery-shim")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        session = request.app[SESSION]
        path = request.path
        if path in ("/api", "/api/"):
            return web.json_response(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
                }
            )
        if path == "/api/v1":
            return web.json_response(
                {
                    "kind": "APIResourceList",
                    "groupVersion": "v1",
                    "resources": [
                        {
                            "name": "namespaces",
                            "singularName": "namespace",
                            "namespaced": False,
                            "kind": "Namespace",
                            "verbs": ["get", "list", "watch"],
                        }
                    ],
                }
            )
        if path in ("/apis", "/apis/"):
            async with session.get(
                f"{self.upstream}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
            ) as r:
                crds = (await r.json()).get("items", [])
            groups = [
                {
                    "name": "apiextensions.k8s.io",
                    "versions": [{"groupVersion": "apiextensions.k8s.io/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": "apiextensions.k8s.io/v1", "version": "v1"},
                }
            ]
            for crd in crds:
                group = crd["spec"]["group"]
                versions = [
                    {"groupVersion": f"{group}/{v['name']}", "version": v["name"]}
                    for v in crd["spec"]["versions"]
                    if v.get("served")
                ]
                if versions:
                    groups.append({"name": group, "versions": versions, "preferredVersion": versions[0]})
            return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        drop = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
        target = self.core_url if path.startswith(CORE_PREFIXES) else self.upstream
        headers = {k: v for k, v in request.headers.items() if k.lower() not in drop}
        body = await request.read()  # an empty body must stay absent: a typed empty one gets a 406
        async with session.request(
            request.method, f"{target}{request.rel_url}", headers=headers, data=body or None
        ) as upstream:
            response = web.StreamResponse(status=upstream.status)
            for k, v in upstream.headers.items():
                if k.lower() not in drop:
                    response.headers[k] = v
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> web.AppRunner:
            self.core = ClusterEmulator(garbage_collection=False)
            await self.core.__aenter__()
            self.core_server = kmock.Server(self.core)
            await self.core_server.__aenter__()
            self.core_url = str(self.core_server.url).rstrip("/")
            app = web.Application()
            app[SESSION] = ClientSession(connector=TCPConnector(ssl=self.ssl_ctx))
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, shutdown_timeout=0.5)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            return runner

        self.runner = self.loop.run_until_complete(start())
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(10)

    def stop(self) -> None:
        async def close() -> None:
            await self.runner.app[SESSION].close()
            await self.runner.cleanup()
            await self.core_server.__aexit__(None, None, None)
            await self.core.__aexit__(None, None, None)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:  # e.g. a watch kubectl left open
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        fut = asyncio.run_coroutine_threadsafe(close(), self.loop)
        with contextlib.suppress(Exception):
            fut.result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _wait_live(url: str, ctx: ssl.SSLContext, proc: subprocess.Popen[bytes], limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ToolUnavailable(f"apiextensions-apiserver exited with {proc.returncode}")
        probe = f"{url}/livez"
        with contextlib.suppress(OSError), urllib.request.urlopen(probe, context=ctx, timeout=1) as r:
            if r.status == 200:
                return
        time.sleep(0.1)
    raise ToolUnavailable(f"apiextensions-apiserver not live after {limit:.0f}s")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def real_api_server() -> Iterator[RealApiServer]:
    """Start etcd, the API server and the shim; raises ToolUnavailable when they cannot run here."""
    etcd = shutil.which("etcd")
    if etcd is None:
        raise ToolUnavailable("etcd is not installed (apt-get install etcd-server)")
    binary = apiserver_binary()
    folder = Path(tempfile.mkdtemp(prefix="lar-k8s-"))
    etcd_proc = api_proc = None
    shim = None
    try:
        _write_certs(folder)
        client_port, peer_port, api_port, shim_port = (free_port() for _ in range(4))
        etcd_url = f"http://127.0.0.1:{client_port}"
        etcd_proc = subprocess.Popen(
            [
                etcd,
                "--data-dir",
                str(folder / "etcd"),
                "--listen-client-urls",
                etcd_url,
                "--advertise-client-urls",
                etcd_url,
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{peer_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "etcd.log").open("wb"),
        )
        https_url = f"https://127.0.0.1:{api_port}"
        kubeconfig = folder / "admin.kubeconfig"
        kubeconfig.write_text(
            _kubeconfig(https_url, folder / "admin.crt", folder / "admin.key", folder / "ca.crt")
        )
        api_proc = subprocess.Popen(
            [
                str(binary),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--tls-cert-file={folder / 'serving.crt'}",
                f"--tls-private-key-file={folder / 'serving.key'}",
                f"--client-ca-file={folder / 'ca.crt'}",
                "--authentication-skip-lookup",
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--enable-priority-and-fairness=false",
                "--disable-admission-plugins=NamespaceLifecycle,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,"
                "ValidatingAdmissionPolicy,MutatingAdmissionPolicy",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "apiserver.log").open("wb"),
        )
        ctx = ssl.create_default_context(cafile=str(folder / "ca.crt"))
        ctx.load_cert_chain(folder / "admin.crt", folder / "admin.key")
        _wait_live(https_url, ctx, api_proc, 60)
        shim = _Shim(https_url, ctx, shim_port)
        shim.start()
        shim_kubeconfig = folder / "shim.kubeconfig"
        shim_kubeconfig.write_text(_kubeconfig(f"http://127.0.0.1:{shim_port}"))
        yield RealApiServer(
            folder, https_url, f"http://127.0.0.1:{shim_port}", kubeconfig, shim_kubeconfig, shim.core
        )
    finally:
        if shim is not None:
            shim.stop()
        _stop(api_proc)  # the API server before etcd: without etcd it ignores SIGTERM
        _stop(etcd_proc)
        shutil.rmtree(folder, ignore_errors=True)
