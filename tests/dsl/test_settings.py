"""Settings precedence: CLI flag > environment > .lenv > .env > config file > default, with sources."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.config import load_config_traced
from dsl.config.flags import SETTINGS, Kind, Setting
from dsl.errors import DslValidationError
from dsl.model import RoutingMode, SecretRef, StoragePolicy, UpstreamProvider
from dsl.settings import ENV_OR_FILE_ONLY, config_path_from, resolve

CONFIG = "server:\n  port 7000\n  host 10.0.0.1\nrouting:\n  mode cli\n"


def _resolve(**layers: object) -> tuple[int, str]:
    loaded = load_config_traced(CONFIG, "router.lino")
    result = resolve(
        layers.get("argv", {}),  # type: ignore[arg-type]
        layers.get("environ", {}),  # type: ignore[arg-type]
        str(layers.get("lenv", "")),
        str(layers.get("dotenv", "")),
        loaded.config,
        loaded.origins,
        "router.lino",
    )
    return result.config.server.port, result.sources["server.port"]


def test_each_layer_beats_the_next() -> None:
    everything = {
        "argv": {"port": "1001"},
        "environ": {"ROUTER_PORT": "1002"},
        "lenv": "ROUTER_PORT: 1003\n",
        "dotenv": "ROUTER_PORT=1004\n",
    }
    assert _resolve(**everything) == (1001, "flag --port")
    everything.pop("argv")
    assert _resolve(**everything) == (1002, "env ROUTER_PORT")
    everything.pop("environ")
    assert _resolve(**everything) == (1003, ".lenv ROUTER_PORT")
    everything.pop("lenv")
    assert _resolve(**everything) == (1004, ".env ROUTER_PORT")
    everything.pop("dotenv")
    assert _resolve(**everything) == (7000, "config router.lino:2:3")


def test_default_when_no_layer_sets_a_value() -> None:
    result = resolve({}, {})
    assert result.config.server.port == 8080
    assert result.sources["server.port"] == "default"
    assert result.sources["server.verbose"] == "default"


def test_lenv_never_overrides_the_real_environment() -> None:
    result = resolve({}, {"ROUTING_MODE": "hybrid"}, lenv_text="ROUTING_MODE: direct\n")
    assert result.config.routing.mode is RoutingMode.HYBRID
    assert result.sources["routing.mode"] == "env ROUTING_MODE"


def test_empty_environment_variable_counts_as_unset() -> None:
    result = resolve({}, {"ROUTER_HOST": ""}, lenv_text="ROUTER_HOST: 127.0.0.9\n")
    assert result.config.server.host == "127.0.0.9"


@pytest.mark.parametrize(("word", "value"), [(w, True) for w in ("true", "1", "yes", "on", "TRUE")]
                         + [(w, False) for w in ("false", "0", "no", "off")])  # fmt: skip
def test_booleans_accept_every_seed_spelling(word: str, value: bool) -> None:
    config = resolve({}, {"VERBOSE": word, "DISABLE_METRICS": word}).config
    assert config.server.verbose is value
    assert config.features.metrics is (not value)  # DISABLE_* switches the feature off


def test_secrets_become_references_never_values_from_the_environment() -> None:
    env = {"TOKEN_SECRET": "s3cr3t-from-env", "TOKEN_ADMIN_KEY": "adm1n", "REDIS_URL": "redis://:pw@h/0"}
    result = resolve({}, env)
    assert result.config.admin.token_secret == SecretRef(env="TOKEN_SECRET")
    assert result.config.admin.token_secret.value is None
    assert result.config.admin.admin_key == SecretRef(env="TOKEN_ADMIN_KEY")
    assert result.config.redis.url == SecretRef(env="REDIS_URL")
    assert "s3cr3t" not in repr(result) and "adm1n" not in repr(result)


def test_secret_from_a_flag_is_a_literal_that_is_never_printed() -> None:
    result = resolve({"token_secret": "flag-secret-xyz"}, {})
    ref = result.config.admin.token_secret
    assert ref.value == "flag-secret-xyz"
    assert ref.describe() == "<redacted>"
    assert "flag-secret-xyz" not in repr(result.config)


def test_openai_compatible_inline_key_beats_the_env_name_like_the_seed() -> None:
    only_name = resolve({}, {"OPENAI_COMPATIBLE_API_KEY_ENV": "LITELLM_MASTER_KEY"}).config
    assert only_name.openai_compatible.api_key == SecretRef(env="LITELLM_MASTER_KEY")
    both = resolve(
        {}, {"OPENAI_COMPATIBLE_API_KEY_ENV": "LITELLM_MASTER_KEY", "OPENAI_COMPATIBLE_API_KEY": "k"}
    ).config
    assert both.openai_compatible.api_key == SecretRef(env="OPENAI_COMPATIBLE_API_KEY")


def test_seed_synonyms_and_lists() -> None:
    env = {
        "STORAGE_POLICY": "dual",
        "ROUTING_MODE": "subprocess",
        "UPSTREAM_PROVIDER": "openai-compatible",
        "ADDITIONAL_ACCOUNT_DIRS": "/a, /b,,",
        "OPENAI_COMPATIBLE_MODELS": "claude-sonnet,gpt-4o",
        "ADMIN_GRPC_PORT": "off",
        "CRATER_POLL_INTERVAL_MS": "250",
    }
    config = resolve({}, env).config
    assert config.storage.policy is StoragePolicy.BOTH
    assert config.routing.mode is RoutingMode.CLI
    assert config.upstream.provider is UpstreamProvider.OPENAI_COMPATIBLE
    assert config.upstream.additional_account_dirs == ("/a", "/b")
    assert config.openai_compatible.models == ("claude-sonnet", "gpt-4o")
    assert config.server.admin_grpc_port is None
    assert config.crater.poll_interval_ms == 250


def test_bad_values_from_every_layer_are_all_reported() -> None:
    env = {"ROUTER_PORT": "eighty", "ROUTING_MODE": "warp", "VERBOSE": "loud"}
    with pytest.raises(DslValidationError) as caught:
        resolve({"upstream_base_url": "ftp://x"}, env, lenv_text="STORAGE_POLICY: cloud\n")
    rendered = [p.render() for p in caught.value.problems]
    assert len(rendered) == 5
    assert any(
        r.startswith("environment: invalid value 'eighty' for ROUTER_PORT; expected a port") for r in rendered
    )
    assert any(
        r.startswith("command line: invalid value 'ftp://x' for --upstream-base-url") for r in rendered
    )
    assert any(r.startswith(".lenv: invalid value 'cloud' for STORAGE_POLICY") for r in rendered)


def test_cross_checks_run_after_the_layers_are_applied() -> None:
    with pytest.raises(DslValidationError) as caught:
        resolve({}, {"UPSTREAM_PROVIDER": "gonka"})
    assert "gonka needs a Gonka private key (set by UPSTREAM_PROVIDER)" in str(caught.value)
    ok = resolve({}, {"UPSTREAM_PROVIDER": "gonka", "GONKA_PRIVATE_KEY": "k"}).config
    assert ok.gonka.private_key == SecretRef(env="GONKA_PRIVATE_KEY")


def test_config_path_precedence() -> None:
    assert config_path_from({"config": "a.lino"}, {"ROUTER_CONFIG": "b.lino"}) == "a.lino"
    assert config_path_from({}, {"ROUTER_CONFIG": "b.lino"}, "ROUTER_CONFIG: c.lino\n") == "b.lino"
    assert config_path_from({}, {}, "ROUTER_CONFIG: c.lino\n", "ROUTER_CONFIG=d.lino\n") == "c.lino"
    assert config_path_from({}, {}, "", "ROUTER_CONFIG=d.lino\n") == "d.lino"
    assert config_path_from({}, {}) is None


# The seed's global flags and their variables (its README and `--help`), plus ours at the end.
SEED_FLAGS = [
    ("--host", "ROUTER_HOST"), ("--port", "ROUTER_PORT"), ("--verbose", "VERBOSE"),
    ("--token-secret", "TOKEN_SECRET"), ("--claude-code-home", "CLAUDE_CODE_HOME"),
    ("--upstream-base-url", "UPSTREAM_BASE_URL"), ("--api-format", "UPSTREAM_API_FORMAT"),
    ("--routing-mode", "ROUTING_MODE"), ("--storage-policy", "STORAGE_POLICY"), ("--data-dir", "DATA_DIR"),
    ("--claude-cli-bin", "CLAUDE_CLI_BIN"), ("--upstream-provider", "UPSTREAM_PROVIDER"),
    ("--gonka-private-key", "GONKA_PRIVATE_KEY"), ("--gonka-source-url", "GONKA_SOURCE_URL"),
    ("--gonka-model", "GONKA_MODEL"), ("--crater-forgefed-inbox", "CRATER_FORGEFED_INBOX"),
    ("--crater-forgefed-actor", "CRATER_FORGEFED_ACTOR"),
    ("--crater-forgefed-target", "CRATER_FORGEFED_TARGET"),
    ("--crater-poll-interval-ms", "CRATER_POLL_INTERVAL_MS"),
    ("--crater-poll-timeout-secs", "CRATER_POLL_TIMEOUT_SECS"),
    ("--openai-compatible-provider-name", "OPENAI_COMPATIBLE_PROVIDER_NAME"),
    ("--openai-compatible-base-url", "OPENAI_COMPATIBLE_BASE_URL"),
    ("--openai-compatible-api-key", "OPENAI_COMPATIBLE_API_KEY"),
    ("--openai-compatible-api-key-env", "OPENAI_COMPATIBLE_API_KEY_ENV"),
    ("--openai-compatible-model", "OPENAI_COMPATIBLE_MODEL"),
    ("--openai-compatible-models", "OPENAI_COMPATIBLE_MODELS"),
    ("--activitypub-actor-base-url", "ACTIVITYPUB_ACTOR_BASE_URL"),
    ("--activitypub-public-key-pem", "ACTIVITYPUB_PUBLIC_KEY_PEM"),
    ("--disable-openai-api", "DISABLE_OPENAI_API"), ("--disable-anthropic-api", "DISABLE_ANTHROPIC_API"),
    ("--disable-metrics", "DISABLE_METRICS"), ("--additional-account-dirs", "ADDITIONAL_ACCOUNT_DIRS"),
    ("--experimental-compatibility", "EXPERIMENTAL_COMPATIBILITY"), ("--admin-key", "TOKEN_ADMIN_KEY"),
    ("--mpp-enable", "MPP_ENABLE"), ("--mpp-amount", "MPP_AMOUNT"), ("--mpp-currency", "MPP_CURRENCY"),
    ("--mpp-recipient", "MPP_RECIPIENT"), ("--mpp-method", "MPP_METHOD"),
    ("--config", "ROUTER_CONFIG"), ("--admin-grpc-port", "ADMIN_GRPC_PORT"), ("--json-logs", "JSON_LOGS"),
    ("--redis-url", "REDIS_URL"), ("--oauth-token-url", "CLAUDE_OAUTH_TOKEN_URL"),
    ("--shutdown-grace", "ROUTER_SHUTDOWN_GRACE"), ("--shutdown-delay", "ROUTER_SHUTDOWN_DELAY"),
    ("--socket", "ROUTER_SOCKET"), ("--disable-tcp", "DISABLE_TCP"),
    ("--default-key-file", "ROUTER_DEFAULT_KEY_FILE"), ("--admin-grpc-socket", "ADMIN_GRPC_SOCKET"),
    ("--gonka-endpoints", "GONKA_ENDPOINTS"),
    ("--admin-grpc-host", "ADMIN_GRPC_HOST"), ("--tls-cert-file", "TLS_CERT_FILE"),
    ("--tls-key-file", "TLS_KEY_FILE"), ("--admin-grpc-client-ca-file", "ADMIN_GRPC_CLIENT_CA_FILE"),
    ("--activitypub-private-key-pem", "ACTIVITYPUB_PRIVATE_KEY_PEM"),
    ("--activitypub-rate-limit-per-minute", "ACTIVITYPUB_RATE_LIMIT_PER_MINUTE"),
    ("--disable-activitypub", "DISABLE_ACTIVITYPUB"),
]  # fmt: skip


def test_every_seed_flag_has_its_env_alias() -> None:
    assert sorted((s.flag, s.env) for s in SETTINGS) == sorted(SEED_FLAGS)


_SAMPLE = {
    Kind.TEXT: "sample", Kind.INT: "5", Kind.PORT: "1234", Kind.OPTIONAL_PORT: "1234", Kind.BOOL: "true",
    Kind.DISABLE: "true", Kind.CSV: "a,b", Kind.URL: "http://127.0.0.1:1", Kind.SECRET: "s3cret",
    Kind.SECRET_ENV_NAME: "SOME_KEY_VAR", Kind.CHOICE: "", Kind.DURATION: "30s",
}  # fmt: skip
_CHOICE_SAMPLE = {"provider": "openai-compatible", "api_format": "vertex", "routing_mode": "hybrid",
                  "storage": "memory"}  # fmt: skip


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.kind is not Kind.CONFIG], ids=lambda s: s.env)
@pytest.mark.parametrize("layer", ["flag", "env", ".lenv", ".env"])
def test_every_setting_is_read_from_each_layer(setting: Setting, layer: str) -> None:
    raw = _CHOICE_SAMPLE[setting.choices] if setting.kind is Kind.CHOICE else _SAMPLE[setting.kind]
    extra = {"MPP_RECIPIENT": "acct"} if setting.env == "MPP_ENABLE" else {}  # MPP needs a recipient
    argv: dict[str, object] = {setting.dest: True if setting.is_switch else raw} if layer == "flag" else {}
    environ = {**extra, setting.env: raw} if layer == "env" else extra
    lenv = f"{setting.env}: {raw}\n" if layer == ".lenv" else ""
    dotenv = f"{setting.env}={raw}\n" if layer == ".env" else ""
    if layer == "flag" and setting.path in ENV_OR_FILE_ONLY:  # a wallet key is refused on the command line
        with pytest.raises(DslValidationError, match="visible to every local user"):
            resolve(argv, environ, lenv, dotenv)
        return
    result = resolve(argv, environ, lenv, dotenv)
    name = setting.flag if layer == "flag" else setting.env
    assert result.sources[setting.path] == f"{layer} {name}"
    value, default = (_at(config, setting.path) for config in (result.config, resolve({}, extra).config))
    if setting.kind is Kind.SECRET and layer == "env":
        assert value == SecretRef(env=setting.env)  # a reference to the variable, never its value
    else:
        assert value != default  # the value really changed the configuration


def _at(config: object, path: str) -> object:
    for name in path.split("."):
        config = getattr(config, name)
    return config


def test_merged_environ_lets_config_refs_live_in_dotfiles_without_overriding_real_variables() -> None:
    result = resolve(
        {},
        {"SHARED": "from-env"},
        lenv_text="LITELLM_MASTER_KEY: sk-from-lenv\nSHARED: from-lenv\n",
        dotenv_text="ONLY_DOTENV=d\nLITELLM_MASTER_KEY=sk-from-dotenv\n",
    )
    assert result.environ["LITELLM_MASTER_KEY"] == "sk-from-lenv"
    assert result.environ["SHARED"] == "from-env"
    assert result.environ["ONLY_DOTENV"] == "d"
    assert "sk-from-lenv" not in repr(result)


def test_empty_flag_value_counts_as_unset() -> None:
    assert resolve({"admin_key": ""}, {}).config.admin.admin_key is None


_env_names = st.sampled_from([s.env for s in SETTINGS])
_env_values = st.one_of(
    st.text(max_size=20), st.sampled_from(["0", "1", "on", "off", "http://x", "gonka", "-1"])
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_env_names, _env_values, max_size=8), st.text(max_size=80), st.text(max_size=80))
def test_any_environment_and_dotfiles_resolve_or_raise_a_dsl_error(
    environ: dict[str, str], lenv: str, dotenv: str
) -> None:
    try:
        result = resolve({}, environ, lenv, dotenv)
    except DslValidationError as err:
        assert err.problems
        return
    assert result.sources["server.port"] in (
        "default",
        "env ROUTER_PORT",
        ".lenv ROUTER_PORT",
        ".env ROUTER_PORT",
    )


def test_a_whole_number_too_big_for_the_model_is_a_clear_error() -> None:
    with pytest.raises(DslValidationError) as caught:
        resolve({}, {"CRATER_POLL_INTERVAL_MS": "9" * 40})
    assert "invalid value" in str(caught.value) and "CRATER_POLL_INTERVAL_MS" in str(caught.value)
    assert "to 9,007,199,254,740,992" in str(caught.value)


def test_a_password_inside_a_url_from_the_environment_is_refused_without_echoing_it() -> None:
    with pytest.raises(DslValidationError) as caught:
        resolve({}, {"UPSTREAM_BASE_URL": "https://u:SECRETVALUE@api.example"})
    assert "SECRETVALUE" not in str(caught.value)
    assert "invalid value for UPSTREAM_BASE_URL" in str(caught.value)
