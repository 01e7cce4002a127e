"""DSL text -> RouterConfig: every concept of the model is expressible, with the values a user wrote."""

from __future__ import annotations

import pytest

from dsl.config import load_config, load_config_traced
from dsl.model import (
    AccountConfig,
    ApiFormat,
    ModelAlias,
    ProviderConfig,
    RouterConfig,
    RoutingMode,
    RoutingStrategy,
    SecretRef,
    StoragePolicy,
    TimeoutConfig,
    UpstreamProvider,
)

FULL = """\
# every block the DSL knows
server:
  host 127.0.0.1
  port 8081
  admin-grpc-host 127.0.0.2
  admin-grpc-port 9191
  verbose on
  json-logs yes
  max-body-size 16MiB
upstream:
  provider openai-compatible
  base-url "https://upstream.example/"
  api-format bedrock
  claude-code-home /data/claude
  additional-account-dirs "/data/a,/data/b"
  oauth-token-url "http://127.0.0.1:9/token"
  timeouts:
    connect 5s
    first-byte 2m
    idle 90s
accounts:
  main:
    oauth-home /data/claude/main
    priority 1
    weight 3
    models claude-sonnet-4-5 claude-opus-4-1
    max-concurrent 4
  overflow:
    api-key-env ANTHROPIC_API_KEY_OVERFLOW
    base-url "https://api.anthropic.com"
  filed:
    api-key-file /run/secrets/anthropic
routing:
  strategy weighted
  session-affinity off
  cooldown 1m30s
  retry-before-first-byte 3
  mode hybrid
  claude-cli-bin /usr/local/bin/claude
providers:
  litellm
    kind "openai-compatible"
    base-url "http://litellm:4000/v1"
    model "claude-sonnet"
    models "claude-sonnet,gpt-4o"
    api-key-env "LITELLM_MASTER_KEY"
  vllm:
    kind openai
    base_url "http://vllm:8000/v1/"
    default_model qwen
    enabled false
openai-compatible:
  provider-name litellm
  base-url "http://litellm:4000/v1"
  api-key-env LITELLM_MASTER_KEY
  model claude-sonnet
  models claude-sonnet gpt-4o
model-aliases:
  gpt-4o claude-sonnet-4-5
  o3: claude-opus-4-1
storage:
  policy link-cli
  data-dir /var/lib/link-assistant-router
redis:
  url-env REDIS_URL
  key-prefix "lar-prod:"
features:
  openai-api off
  anthropic-api on
  metrics false
  claude-code-identity off
  experimental-compatibility true
  hot-reload no
tokens:
  ttl 48h
  max-requests 500
  max-tokens 2000000
  rate-limit-per-minute 60
admin:
  token-secret-file /run/secrets/token-secret
  admin-key-env TOKEN_ADMIN_KEY
mpp:
  enabled on
  amount "0.05"
  currency USD
  recipient acct_123
  method stripe
gonka:
  private-key-env GONKA_PRIVATE_KEY
  source-url "https://node4.gonka.ai"
  model "Qwen/Qwen3-235B"
crater:
  inbox "https://tracker.example/inbox"
  actor "https://router.example/actor/code"
  target "https://tracker.example/projects/demo"
  poll-interval 250ms
  poll-timeout 2m
activitypub:
  actor-base-url "https://router.example"
  public-key-pem "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA
-----END PUBLIC KEY-----"
"""


@pytest.fixture(scope="module")
def full() -> RouterConfig:
    return load_config(FULL, "full.lino")


def test_server_block(full: RouterConfig) -> None:
    s = full.server
    assert (s.host, s.port, s.admin_grpc_host, s.admin_grpc_port) == ("127.0.0.1", 8081, "127.0.0.2", 9191)
    assert s.verbose and s.json_logs
    assert s.max_body_bytes == 16 * 1024 * 1024


def test_upstream_block(full: RouterConfig) -> None:
    u = full.upstream
    assert u.provider is UpstreamProvider.OPENAI_COMPATIBLE
    assert u.base_url == "https://upstream.example"  # trailing slash trimmed like the seed
    assert u.api_format is ApiFormat.BEDROCK
    assert u.claude_code_home == "/data/claude"
    assert u.additional_account_dirs == ("/data/a", "/data/b")
    assert u.oauth_token_url == "http://127.0.0.1:9/token"
    assert u.timeouts == TimeoutConfig(connect=5.0, first_byte=120.0, idle=90.0)


def test_accounts(full: RouterConfig) -> None:
    assert full.accounts == (
        AccountConfig(
            name="main",
            oauth_home="/data/claude/main",
            priority=1,
            weight=3,
            models=("claude-sonnet-4-5", "claude-opus-4-1"),
            max_concurrent=4,
        ),
        AccountConfig(
            name="overflow",
            api_key=SecretRef(env="ANTHROPIC_API_KEY_OVERFLOW"),
            base_url="https://api.anthropic.com",
        ),
        AccountConfig(name="filed", api_key=SecretRef(file="/run/secrets/anthropic")),
    )


def test_routing(full: RouterConfig) -> None:
    r = full.routing
    assert r.strategy is RoutingStrategy.WEIGHTED
    assert r.session_affinity is False
    assert r.cooldown_seconds == 90.0
    assert r.retry_before_first_byte == 3
    assert r.mode is RoutingMode.HYBRID
    assert r.claude_cli_bin == "/usr/local/bin/claude"


def test_seed_provider_form_and_seed_spellings(full: RouterConfig) -> None:
    assert full.providers == (
        ProviderConfig(
            name="litellm",
            base_url="http://litellm:4000/v1",
            model="claude-sonnet",
            models=("claude-sonnet", "gpt-4o"),
            api_key=SecretRef(env="LITELLM_MASTER_KEY"),
        ),
        ProviderConfig(name="vllm", base_url="http://vllm:8000/v1", model="qwen", enabled=False),
    )


def test_openai_compatible_defaults_and_aliases(full: RouterConfig) -> None:
    o = full.openai_compatible
    assert (o.provider_name, o.base_url, o.model) == ("litellm", "http://litellm:4000/v1", "claude-sonnet")
    assert o.api_key == SecretRef(env="LITELLM_MASTER_KEY")
    assert o.models == ("claude-sonnet", "gpt-4o")
    assert full.model_aliases == (
        ModelAlias("gpt-4o", "claude-sonnet-4-5"),
        ModelAlias("o3", "claude-opus-4-1"),
    )


def test_storage_redis_features_tokens_admin(full: RouterConfig) -> None:
    assert full.storage.policy is StoragePolicy.BINARY
    assert full.storage.data_dir == "/var/lib/link-assistant-router"
    assert full.redis.url == SecretRef(env="REDIS_URL")
    assert full.redis.key_prefix == "lar-prod:"
    f = full.features
    assert (f.openai_api, f.anthropic_api, f.metrics) == (False, True, False)
    assert (f.claude_code_identity, f.experimental_compatibility, f.hot_reload) == (False, True, False)
    t = full.tokens
    assert (t.ttl_hours, t.max_requests, t.max_tokens, t.rate_limit_per_minute) == (48, 500, 2000000, 60)
    assert full.admin.token_secret == SecretRef(file="/run/secrets/token-secret")
    assert full.admin.admin_key == SecretRef(env="TOKEN_ADMIN_KEY")


def test_mpp_gonka_crater_activitypub(full: RouterConfig) -> None:
    m = full.mpp
    assert (m.enabled, m.amount, m.currency, m.recipient, m.method) == (
        True,
        "0.05",
        "USD",
        "acct_123",
        "stripe",
    )
    assert full.gonka.private_key == SecretRef(env="GONKA_PRIVATE_KEY")
    assert full.gonka.model == "Qwen/Qwen3-235B"
    c = full.crater
    assert c.inbox == "https://tracker.example/inbox"
    assert c.target == "https://tracker.example/projects/demo"
    assert (c.poll_interval_ms, c.poll_timeout_secs) == (250, 120)
    assert full.activitypub.actor_base_url == "https://router.example"
    pem = full.activitypub.public_key_pem or ""
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n") and pem.endswith("-----END PUBLIC KEY-----")


def test_empty_file_is_all_defaults() -> None:
    assert load_config("", "empty.lino") == RouterConfig()
    assert load_config("# only a comment\n\n", "c.lino") == RouterConfig()


@pytest.mark.parametrize(
    "text",
    [
        "server:\n  port 9000\n",
        "server:\n  port: 9000\n",
        "server: (port 9000)\n",
        "server:\n    port 9000\n",
        "server:\n  port '9000'\n",
    ],
)
def test_equivalent_spellings(text: str) -> None:
    assert load_config(text).server.port == 9000


@pytest.mark.parametrize(
    ("word", "policy"),
    [
        ("memory", StoragePolicy.MEMORY), ("mem", StoragePolicy.MEMORY), ("none", StoragePolicy.MEMORY),
        ("text", StoragePolicy.TEXT), ("lino", StoragePolicy.TEXT),
        ("binary", StoragePolicy.BINARY), ("bin", StoragePolicy.BINARY), ("linkcli", StoragePolicy.BINARY),
        ("clink", StoragePolicy.BINARY), ("both", StoragePolicy.BOTH), ("DUAL", StoragePolicy.BOTH),
    ],
)  # fmt: skip
def test_storage_policy_synonyms(word: str, policy: StoragePolicy) -> None:
    assert load_config(f"storage:\n  policy {word}\n").storage.policy is policy


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60", 60.0),
        ("60s", 60.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1.5s", 1.5),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert load_config(f"routing:\n  cooldown {text}\n").routing.cooldown_seconds == seconds


@pytest.mark.parametrize(("word", "value"), [("on", True), ("off", False), ("true", True), ("0", False)])
def test_booleans(word: str, value: bool) -> None:
    assert load_config(f"features:\n  metrics {word}\n").features.metrics is value


def test_admin_grpc_port_off_disables_the_listener() -> None:
    assert load_config("server:\n  admin-grpc-port off\n").server.admin_grpc_port is None


def test_redis_url_without_password_may_be_inline() -> None:
    ref = load_config('redis:\n  url "redis://127.0.0.1:6379/0"\n').redis.url
    assert ref is not None and ref.value == "redis://127.0.0.1:6379/0"
    assert "6379" not in repr(ref)  # the value never shows in a repr / log line


def test_origins_point_at_the_lines_that_set_values() -> None:
    loaded = load_config_traced(FULL, "full.lino")
    assert loaded.origins["server.port"] == (4, 3)
    assert loaded.origins["accounts.main.priority"] == (24, 5)
    assert loaded.origins["providers.litellm.models"] == (45, 5)


def test_every_seed_provider_spelling() -> None:
    text = (
        "providers:\n"
        "  a\n    base_url 'http://a/v1'\n    default_model m1\n    api_key_env KEY_A\n    enabled yes\n"
        "  b\n    api_base 'http://b/v1'\n    default-model m2\n    api_key_file /run/b\n    kind litellm\n"
        "  c\n    api-base 'http://c/v1'\n    kind openai_like\n    enabled 0\n    models 'x, y'\n"
    )
    a, b, c = load_config(text).providers
    assert (a.base_url, a.model, a.api_key, a.enabled) == ("http://a/v1", "m1", SecretRef(env="KEY_A"), True)
    assert (b.base_url, b.model, b.api_key, b.kind) == (
        "http://b/v1",
        "m2",
        SecretRef(file="/run/b"),
        "openai-compatible",
    )
    assert (c.base_url, c.kind, c.enabled, c.models) == (
        "http://c/v1",
        "openai-compatible",
        False,
        ("x", "y"),
    )
