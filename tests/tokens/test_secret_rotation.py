"""Signing-key rotation: keys carry a `kid`; TOKEN_SECRET signs, TOKEN_SECRET_PREVIOUS still verifies,
and `tokens rotate-secret` re-encrypts the provider store. Before: changing TOKEN_SECRET invalidated
every key at once and left providers.lenv unreadable."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import anthropic
import pytest
from anthropic.types import MessageParam

from gateway.providers.crypto import decrypt_key
from gateway.providers.records import ProviderInput, ProviderRecord
from gateway.providers.store import ProviderStore
from gateway.tokens import jwt_codec
from gateway.tokens.jwt_codec import Claims, Keyring, TokenFormatError
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway

from .helpers import cli_env, run_cli
from .test_jwt_codec import seed_style_token

OLD, NEW = "old-secret-rotation-0123", "new-secret-rotation-4567"
NOW = 1_781_000_000
HELLO: list[MessageParam] = [{"role": "user", "content": "Hi"}]


def kid_of(token: str) -> object:
    body = token[6:].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))).get("kid")


def test_the_kid_picks_the_secret_and_keys_without_one_try_each() -> None:
    claims = Claims(sub="s", iat=NOW, exp=NOW + 60)
    old_key = jwt_codec.encode(claims, OLD)
    assert kid_of(old_key) == jwt_codec.kid_for(OLD) != jwt_codec.kid_for(NEW)
    rotated = Keyring(NEW, (OLD,))
    assert jwt_codec.verify_signature(old_key, rotated) == claims
    assert jwt_codec.verify_signature(jwt_codec.encode(claims, NEW), rotated) == claims
    seed_key = seed_style_token({"sub": "s", "iat": NOW, "exp": NOW + 60}, secret=OLD)  # no kid
    assert jwt_codec.verify_signature(seed_key, rotated).sub == "s"
    with pytest.raises(TokenFormatError, match="Signature verification failed"):
        jwt_codec.verify_signature(old_key, NEW)  # the old secret dropped from the list
    # A kid naming the old secret on a token signed with another is not retried with the others.
    forged = seed_style_token({"sub": "s", "iat": NOW, "exp": NOW + 60, "kid": jwt_codec.kid_for(OLD)}, NEW)
    with pytest.raises(TokenFormatError, match="Signature verification failed"):
        jwt_codec.verify_signature(forged, rotated)
    assert jwt_codec.parse_previous(" a, ,b ,") == ("a", "b")


async def ask(url: str, key: str) -> int:
    async with anthropic.AsyncAnthropic(base_url=url, api_key=key, max_retries=0) as client:
        try:
            await client.messages.create(model="claude-test-1", max_tokens=8, messages=HELLO)
        except anthropic.APIStatusError as exc:
            return exc.status_code
    return 200


async def test_a_gateway_on_a_new_secret_keeps_serving_keys_of_the_previous_one(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    config = gateway_config(fake.url, tmp_path / "data", claude_home)
    async with running_gateway(config, {"TOKEN_SECRET": OLD}) as gw:
        old_key = await gw.issue_key()
    rotated = {"TOKEN_SECRET": NEW, "TOKEN_SECRET_PREVIOUS": f"{OLD},"}
    async with running_gateway(config, rotated) as gw:
        assert await ask(gw.url, old_key) == 200
        new_key = await gw.issue_key()
        assert kid_of(new_key) == jwt_codec.kid_for(NEW)
        assert await ask(gw.url, new_key) == 200
    async with running_gateway(config, {"TOKEN_SECRET": NEW}) as gw:  # rotation finished
        assert await ask(gw.url, old_key) == 401
        assert await ask(gw.url, new_key) == 200


def test_rotate_secret_re_encrypts_the_provider_store_all_or_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = ProviderStore(data, OLD)
    url = "http://127.0.0.1:9"
    store.upsert(ProviderInput(ProviderRecord(name="groq", base_url=url), api_key="gsk-ONE"))
    store.upsert(ProviderInput(ProviderRecord(name="env-only", base_url=url, api_key_env="K")))
    before = (data / "providers.lenv").read_bytes()
    refused = run_cli(data, "tokens", "rotate-secret", env=cli_env(data, TOKEN_SECRET=NEW))
    assert refused.returncode == 1 and "provider groq" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert (data / "providers.lenv").read_bytes() == before
    done = run_cli(
        data, "tokens", "rotate-secret", env=cli_env(data, TOKEN_SECRET=NEW, TOKEN_SECRET_PREVIOUS=OLD)
    )
    assert done.returncode == 0, done.stderr
    assert "re-encrypted provider groq" in done.stdout and "1 provider key(s)" in done.stdout
    for secret in (OLD, NEW, "gsk-ONE"):
        assert secret not in done.stdout + done.stderr
    stored = {r.name: r for r in ProviderStore(data, NEW).records()}
    assert stored["groq"].encrypted_api_key is not None
    assert decrypt_key(stored["groq"].encrypted_api_key, NEW) == "gsk-ONE"
    assert stored["env-only"].api_key_env == "K"
    again = run_cli(data, "tokens", "rotate-secret", env=cli_env(data, TOKEN_SECRET=NEW))
    assert again.returncode == 0  # already on the new secret: idempotent
