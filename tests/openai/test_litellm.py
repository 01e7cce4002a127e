"""A real LiteLLM proxy as the openai-compatible upstream, driven by the official openai SDK."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from dsl.config.loader import load_config
from dsl.model import OpenAICompatibleDefaults, SecretRef, UpstreamProvider
from tests.openai.conftest import config_for
from tests.openai.litellm_env import MASTER_KEY, MOCK_TEXT, litellm_proxy
from tests.support.gateway import running_gateway

pytestmark = pytest.mark.timeout(900)  # the first run may install litellm[proxy] (about a minute)


@pytest.fixture(scope="module")
def litellm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with litellm_proxy(tmp_path_factory.mktemp("litellm")) as url:
            yield url
    except RuntimeError as exc:
        pytest.skip(f"LiteLLM proxy unavailable: {exc}")


async def test_openai_sdk_through_the_gateway_to_litellm(litellm_url: str, tmp_path: Path) -> None:
    base = config_for("http://127.0.0.1:9", tmp_path)
    config = dataclasses.replace(
        base,
        upstream=dataclasses.replace(base.upstream, provider=UpstreamProvider.OPENAI_COMPATIBLE),
        openai_compatible=OpenAICompatibleDefaults(
            provider_name="litellm",
            base_url=f"{litellm_url}/v1",
            api_key=SecretRef(env="LITELLM_MASTER_KEY"),
            models=("gpt-4o-mini", "claude-mock"),
        ),
    )
    async with running_gateway(config, {"LITELLM_MASTER_KEY": MASTER_KEY}) as gw:
        key = await gw.issue_key(label="litellm")
        async with openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0) as sdk:
            completion = await sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
            )
            assert completion.choices[0].message.content == MOCK_TEXT
            stream = await sdk.chat.completions.create(
                model="claude-mock", messages=[{"role": "user", "content": "Hi"}], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text == MOCK_TEXT
            assert [m.id async for m in sdk.models.list()] == ["gpt-4o-mini", "claude-mock"]
        # The la_sk_ key means nothing to LiteLLM: only the router's master-key swap gets through.
        async with openai.AsyncOpenAI(base_url=f"{litellm_url}/v1", api_key=key, max_retries=0) as direct:
            with pytest.raises(openai.APIStatusError) as refused:
                await direct.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
                )
        assert refused.value.status_code in (400, 401)  # LiteLLM: "No connected db" / invalid key


async def test_the_shipped_litellm_example_config_works_end_to_end(litellm_url: str, tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "examples" / "litellm.lino"
    text = example.read_text().replace("http://litellm:4000/v1", f"{litellm_url}/v1")
    text = text.replace('model "claude-sonnet"', 'model "claude-mock"')
    loaded = load_config(text, "litellm.lino")
    config = dataclasses.replace(loaded, storage=config_for("http://127.0.0.1:9", tmp_path).storage)
    async with running_gateway(config, {"LITELLM_MASTER_KEY": MASTER_KEY}) as gw:
        key = await gw.issue_key(label="example")
        async with openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0) as sdk:
            # No model in the request: the provider's default model from the config file is injected.
            completion = await sdk.chat.completions.create(
                model="", messages=[{"role": "user", "content": "Hi"}]
            )
            assert completion.choices[0].message.content == MOCK_TEXT
            assert [m.id async for m in sdk.models.list()] == ["claude-sonnet", "gpt-4o"]
