"""Provider records, the providers.lenv store (seed format, AES-256-GCM keys), imports and the CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dsl.model import OpenAICompatibleDefaults, RouterConfig, SecretRef
from gateway.cli.main import main
from gateway.errors import GatewayError
from gateway.providers.active import active_provider, provider_url
from gateway.providers.crypto import ProviderKeyError, decrypt_key, encrypt_key
from gateway.providers.imports import parse_import
from gateway.providers.records import provider_input
from gateway.providers.store import ProviderStore

SECRET = "router-token-secret"
KEY = "sk-litellm-master-key-1234"


def seed_encrypt(plaintext: str, secret: str, nonce: bytes) -> str:
    """The seed's scheme written out independently: SHA-256(secret) key, nonce ‖ ct ‖ tag, b64."""
    sealed = AESGCM(hashlib.sha256(secret.encode()).digest()).encrypt(nonce, plaintext.encode(), None)
    return "aes256gcm:" + base64.b64encode(nonce + sealed).decode()


def test_encryption_matches_the_seed_scheme_and_round_trips() -> None:
    nonce = bytes(range(12))
    stored = encrypt_key(KEY, SECRET, nonce)
    assert stored == seed_encrypt(KEY, SECRET, nonce)
    assert decrypt_key(stored, SECRET) == KEY
    assert KEY not in encrypt_key(KEY, SECRET)
    assert encrypt_key(KEY, SECRET) != encrypt_key(KEY, SECRET)  # a fresh nonce every time


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("plain:abc", "unknown format"),
        ("aes256gcm:!!!", "not valid base64"),
        ("aes256gcm:" + base64.b64encode(b"short").decode(), "too short"),
        (seed_encrypt(KEY, "another-secret", bytes(12)), "TOKEN_SECRET"),
    ],
)
def test_undecryptable_keys_fail_clearly(stored: str, reason: str) -> None:
    with pytest.raises(ProviderKeyError, match=reason):
        decrypt_key(stored, SECRET)


def test_a_store_written_in_the_seed_format_loads(tmp_path: Path) -> None:
    encrypted = seed_encrypt(KEY, SECRET, b"\x07" * 12)
    (tmp_path / "providers.lenv").write_text(
        "# Link.Assistant.Router provider store\n"
        "# Each PROVIDER value is JSON; inline API keys are encrypted.\n"
        'PROVIDER: {"name":"litellm","kind":"openai-compatible","base_url":"http://litellm:4000/v1",'
        f'"default_model":"claude-sonnet","models":["claude-sonnet","gpt-4o"],"encrypted_api_key":"{encrypted}",'
        '"enabled":true}\n'
        'PROVIDER: {"name":"vllm","kind":"openai-compatible","base_url":"http://vllm:8000/v1","enabled":false}\n'
    )
    store = ProviderStore(tmp_path, SECRET)
    litellm, vllm = store.records()
    assert (litellm.name, litellm.default_model, litellm.models) == (
        "litellm",
        "claude-sonnet",
        ("claude-sonnet", "gpt-4o"),
    )
    assert not vllm.enabled
    config = RouterConfig(openai_compatible=OpenAICompatibleDefaults(provider_name="litellm"))
    active = active_provider(config, {}, store.records(), SECRET)
    assert active.api_key == KEY and active.base_url == "http://litellm:4000/v1"


def test_store_writes_the_seed_format_sorted_owner_only_and_upsert_replaces(tmp_path: Path) -> None:
    store = ProviderStore(tmp_path, SECRET)
    store.upsert(provider_input({"name": "zeta", "base_url": "http://z/v1/", "api_key": KEY}))
    store.upsert(provider_input({"name": "alpha", "base_url": "http://a/v1", "models": "m1, m2"}))
    lines = (tmp_path / "providers.lenv").read_text().splitlines()
    assert lines[:2] == [
        "# Link.Assistant.Router provider store",
        "# Each PROVIDER value is JSON; inline API keys are encrypted.",
    ]
    assert (
        lines[2]
        == 'PROVIDER: {"name":"alpha","kind":"openai-compatible","base_url":"http://a/v1","models":["m1","m2"],"enabled":true}'
    )
    zeta = json.loads(lines[3].removeprefix("PROVIDER: "))
    assert zeta["base_url"] == "http://z/v1" and decrypt_key(zeta["encrypted_api_key"], SECRET) == KEY
    assert KEY not in (tmp_path / "providers.lenv").read_text()
    assert stat.S_IMODE((tmp_path / "providers.lenv").stat().st_mode) == 0o600
    store.upsert(provider_input({"name": "zeta", "base_url": "http://z2/v1"}))  # whole record replaced
    zeta2 = store.get("zeta")
    assert zeta2 is not None and zeta2.encrypted_api_key is None and zeta2.base_url == "http://z2/v1"
    assert store.remove("alpha") and not store.remove("alpha")
    assert [r.name for r in store.records()] == ["zeta"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"base_url": "http://x"}, "name is required"),
        ({"name": "bad name", "base_url": "http://x"}, "name is required"),
        ({"name": "x"}, "base_url' is required"),
        ({"name": "x", "base_url": "ftp://x"}, "http:// or https://"),
        ({"name": "x", "base_url": "http://x", "kind": "gemini"}, "not supported"),
        ({"name": "x", "base_url": "http://x", "models": 3}, "models"),
    ],
)
def test_invalid_provider_records_are_refused(data: dict, message: str) -> None:
    with pytest.raises(GatewayError, match=message) as caught:
        provider_input(data)
    assert caught.value.status == 400


README_LINKS = """# providers
litellm
  kind "openai-compatible"
  base-url "http://litellm:4000/v1"
  model "claude-sonnet"
  models "claude-sonnet,gpt-4o"
  api-key-env "LITELLM_MASTER_KEY"

local
  api_base http://127.0.0.1:8000/v1
  api-key "sk-inline"
  enabled no
"""


def test_import_formats() -> None:
    links = parse_import(README_LINKS)
    assert [e.record.name for e in links] == ["litellm", "local"]
    assert (
        links[0].record.models == ("claude-sonnet", "gpt-4o")
        and links[0].record.api_key_env == "LITELLM_MASTER_KEY"
    )
    assert links[1].api_key == "sk-inline" and not links[1].record.enabled
    wrapped = parse_import(json.dumps({"providers": [{"name": "a", "base_url": "http://a"}]}))
    assert [e.record.name for e in wrapped] == ["a"]
    assert [e.record.name for e in parse_import('[{"name":"b","base_url":"http://b"}]')] == ["b"]
    assert [e.record.name for e in parse_import('{"name":"c","base_url":"http://c","api_key":"k"}')] == ["c"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p\n  colour red\n", "line 2: unknown provider setting 'colour'"),
        ("  base-url http://x\n", "line 1: an indented setting comes before any provider name"),
        ("# nothing here\n\n", "no providers"),
        ("{not json", "not valid JSON"),
        ("p\n  kind openai\n", "base_url' is required"),
    ],
)
def test_import_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(GatewayError, match=message):
        parse_import(text)


def test_another_routers_store_imports_with_its_encrypted_keys(tmp_path: Path) -> None:
    other = ProviderStore(tmp_path / "other", SECRET)
    other.upsert(provider_input({"name": "shared", "base_url": "http://s/v1", "api_key": KEY}))
    mine = ProviderStore(tmp_path / "mine", SECRET)
    mine.upsert_many(parse_import((tmp_path / "other" / "providers.lenv").read_text()))
    record = mine.get("shared")
    assert record is not None and record.encrypted_api_key is not None
    assert decrypt_key(record.encrypted_api_key, SECRET) == KEY


def test_provider_url_does_not_double_v1() -> None:
    assert provider_url("http://h:4000/v1", "/v1/chat/completions") == "http://h:4000/v1/chat/completions"
    assert provider_url("http://h:4000", "/v1/chat/completions") == "http://h:4000/v1/chat/completions"


def test_env_key_wins_over_inline_and_boot_config_is_the_fallback(tmp_path: Path) -> None:
    store = ProviderStore(tmp_path, SECRET)
    store.upsert(
        provider_input({"name": "litellm", "base_url": "http://l/v1", "api_key": KEY, "api_key_env": "LK"})
    )
    config = RouterConfig()
    assert active_provider(config, {"LK": "from-env"}, store.records(), SECRET).api_key == "from-env"
    assert active_provider(config, {"LK": ""}, store.records(), SECRET).api_key == KEY
    boot = RouterConfig(
        openai_compatible=OpenAICompatibleDefaults(
            provider_name="other", base_url="http://boot/v1/", api_key=SecretRef(env="BOOT_KEY"), model="m"
        )
    )
    fallback = active_provider(boot, {"BOOT_KEY": "bk"}, store.records(), SECRET)
    assert (fallback.name, fallback.base_url, fallback.api_key, fallback.default_model) == (
        "other",
        "http://boot/v1",
        "bk",
        "m",
    )


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_add_list_show_remove_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKEN_SECRET", SECRET)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    code, out, _ = run_cli(
        [
            "providers",
            "add",
            "--name",
            "litellm",
            "--base-url",
            "http://litellm:4000/v1",
            "--model",
            "claude-sonnet",
            "--models",
            "claude-sonnet,gpt-4o",
            "--api-key",
            KEY,
        ],
        capsys,
    )
    assert code == 0 and KEY not in out
    assert json.loads(out) == {
        "name": "litellm",
        "kind": "openai-compatible",
        "base_url": "http://litellm:4000/v1",
        "default_model": "claude-sonnet",
        "models": ["claude-sonnet", "gpt-4o"],
        "has_encrypted_api_key": True,
        "enabled": True,
    }
    code, out, _ = run_cli(["providers", "list"], capsys)
    assert out.split("\n")[0].split() == ["name", "kind", "base_url", "enabled", "default_model"]
    assert out.split("\n")[1].split() == [
        "litellm",
        "openai-compatible",
        "http://litellm:4000/v1",
        "true",
        "claude-sonnet",
    ]
    code, out, _ = run_cli(["providers", "show", "litellm"], capsys)
    assert code == 0 and json.loads(out)["has_encrypted_api_key"] is True and KEY not in out
    code, _, err = run_cli(["providers", "show", "missing"], capsys)
    assert code == 2 and err.strip() == "not found: missing"
    (tmp_path / "p.lino").write_text(README_LINKS)
    code, out, _ = run_cli(["providers", "import", "p.lino"], capsys)
    assert code == 0 and out.strip() == "imported 2 provider(s)"
    code, out, _ = run_cli(["providers", "remove", "local"], capsys)
    assert code == 0 and out.strip() == "removed local"
    code, _, err = run_cli(["providers", "remove", "local"], capsys)
    assert code == 2
    code, _, err = run_cli(["providers", "add", "--name", "x y", "--base-url", "http://x"], capsys)
    assert code == 1 and err.startswith("error: provider name is required")
    assert KEY not in (tmp_path / "data" / "providers.lenv").read_text()


def test_cli_needs_token_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOKEN_SECRET", raising=False)
    code, _, err = run_cli(["providers", "list"], capsys)
    assert code == 2 and "TOKEN_SECRET is required" in err


def test_cli_import_help_names_the_formats_and_a_missing_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKEN_SECRET", SECRET)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit) as exited:
        main(["providers", "import", "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert all(word in out for word in ("JSON", "providers.lenv", "Links form", "api-key-env"))
    code, _, err = run_cli(["providers", "import", "missing.json"], capsys)
    assert code == 1 and err.strip() == "error: missing.json: No such file or directory"
    (tmp_path / "p.json").write_text(json.dumps({"providers": [{"name": "j", "base_url": "http://j/v1"}]}))
    code, out, _ = run_cli(["providers", "import", "p.json"], capsys)
    assert code == 0 and out.strip() == "imported 1 provider(s)"
    (tmp_path / "bad.lino").write_text("p\n  colour red\n")
    code, _, err = run_cli(["providers", "import", "bad.lino"], capsys)
    assert code == 1 and err.strip() == "error: line 2: unknown provider setting 'colour'"


def test_a_changed_token_secret_is_a_clear_500_without_the_key(tmp_path: Path) -> None:
    ProviderStore(tmp_path, SECRET).upsert(
        provider_input({"name": "litellm", "base_url": "http://l/v1", "api_key": KEY})
    )
    records = ProviderStore(tmp_path, "a-new-secret").records()
    with pytest.raises(GatewayError) as caught:
        active_provider(RouterConfig(), {}, records, "a-new-secret")
    assert caught.value.status == 500
    assert (
        caught.value.message.startswith("provider lookup failed: ") and "TOKEN_SECRET" in caught.value.message
    )
    assert KEY not in caught.value.message
