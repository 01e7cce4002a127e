"""The seed's global flags and their environment aliases, plus ours, as one table.

Pure data: the seed's flags and env names. Each `Setting` names the flag, the env variable (also the `.lenv`
/ `.env` key), the RouterConfig path it fills and how its text is read. `dsl.settings` resolves
them with the seed's precedence; `add_global_flags` turns them into argparse options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from dsl.config import convert as c


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    PORT = "port"
    OPTIONAL_PORT = "optional-port"
    BOOL = "bool"
    DISABLE = "disable"
    """A `--disable-x` switch: true here means the feature at `path` is off."""
    CSV = "csv"
    DURATION = "duration"
    """Seconds, written as in the DSL (`60s`, `5m`, a bare number)."""
    URL = "url"
    CHOICE = "choice"
    SECRET = "secret"
    """A secret value: from the environment it becomes SecretRef(env=NAME), from a flag a literal."""
    SECRET_ENV_NAME = "secret-env-name"
    """The name of an environment variable that holds a secret."""
    CONFIG = "config"
    """The DSL file itself (not a RouterConfig field)."""


@dataclass(frozen=True)
class Setting:
    flag: str
    env: str
    path: str
    kind: Kind
    help: str
    choices: str = ""
    """For CHOICE: which synonym table of `dsl.config.convert` applies."""

    @property
    def dest(self) -> str:
        """The argparse attribute name (`--upstream-base-url` -> `upstream_base_url`)."""
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def is_switch(self) -> bool:
        return self.kind in (Kind.BOOL, Kind.DISABLE)


S = Setting
K = Kind

# Order matters once: the inline OpenAI-compatible key comes after its `-env` twin so that it wins,
# as in the seed.
SETTINGS: tuple[Setting, ...] = (
    S("--config", "ROUTER_CONFIG", "", K.CONFIG, "Config DSL file (Links Notation) declaring the router"),
    S("--host", "ROUTER_HOST", "server.host", K.TEXT, "Host/IP to bind to (default 0.0.0.0)"),
    S("--port", "ROUTER_PORT", "server.port", K.PORT, "Port to listen on (default 8080)"),
    S(
        "--socket",
        "ROUTER_SOCKET",
        "server.socket",
        K.TEXT,
        "Also listen on this Unix domain socket (mode 0660), e.g. for an app beside a sidecar",
    ),
    S("--disable-tcp", "DISABLE_TCP", "server.tcp", K.DISABLE, "No TCP listener: serve on --socket only"),
    S(
        "--default-key-file",
        "ROUTER_DEFAULT_KEY_FILE",
        "server.default_key_file",
        K.TEXT,
        "File with one la_sk_ key that socket requests without a key use (per-pod identity)",
    ),
    S(
        "--admin-grpc-socket",
        "ADMIN_GRPC_SOCKET",
        "server.admin_grpc_socket",
        K.TEXT,
        "Also serve the gRPC admin API on this Unix domain socket",
    ),
    S(
        "--admin-grpc-port",
        "ADMIN_GRPC_PORT",
        "server.admin_grpc_port",
        K.OPTIONAL_PORT,
        "gRPC admin API port (default 9090; 'off' disables it)",
    ),
    S(
        "--admin-grpc-host",
        "ADMIN_GRPC_HOST",
        "server.admin_grpc_host",
        K.TEXT,
        "Host/IP the gRPC admin API binds to (default: the --host address)",
    ),
    S(
        "--tls-cert-file",
        "TLS_CERT_FILE",
        "server.tls_cert_file",
        K.TEXT,
        "PEM certificate chain: serve HTTPS and gRPC over TLS (with --tls-key-file; re-read on change)",
    ),
    S("--tls-key-file", "TLS_KEY_FILE", "server.tls_key_file", K.TEXT, "PEM private key of --tls-cert-file"),
    S(
        "--admin-grpc-client-ca-file",
        "ADMIN_GRPC_CLIENT_CA_FILE",
        "server.admin_grpc_client_ca_file",
        K.TEXT,
        "PEM CA bundle: admin gRPC clients must present a certificate it signed (mTLS)",
    ),
    S("--verbose", "VERBOSE", "server.verbose", K.BOOL, "Verbose logging"),
    S("--json-logs", "JSON_LOGS", "server.json_logs", K.BOOL, "One JSON log line per request"),
    S(
        "--shutdown-grace",
        "ROUTER_SHUTDOWN_GRACE",
        "server.shutdown_grace",
        K.DURATION,
        "Time from SIGTERM that open streams get to finish (default 60s)",
    ),
    S(
        "--shutdown-delay",
        "ROUTER_SHUTDOWN_DELAY",
        "server.shutdown_delay",
        K.DURATION,
        "Time after SIGTERM that /ready fails while the listener still accepts (default 5s)",
    ),
    S(
        "--token-secret",
        "TOKEN_SECRET",
        "admin.token_secret",
        K.SECRET,
        "Secret key for signing/validating la_sk_ tokens (prefer the TOKEN_SECRET variable)",
    ),
    S(
        "--admin-key",
        "TOKEN_ADMIN_KEY",
        "admin.admin_key",
        K.SECRET,
        "Bearer key for the admin endpoints (unset: loopback clients only)",
    ),
    S(
        "--claude-code-home",
        "CLAUDE_CODE_HOME",
        "upstream.claude_code_home",
        K.TEXT,
        "Primary Claude Code credentials directory (default ~/.claude)",
    ),
    S(
        "--additional-account-dirs",
        "ADDITIONAL_ACCOUNT_DIRS",
        "upstream.additional_account_dirs",
        K.CSV,
        "Comma-separated extra credential dirs for multi-account routing",
    ),
    S(
        "--upstream-provider",
        "UPSTREAM_PROVIDER",
        "upstream.provider",
        K.CHOICE,
        "Upstream provider: anthropic, gonka, crater or openai-compatible",
        "provider",
    ),
    S(
        "--upstream-base-url",
        "UPSTREAM_BASE_URL",
        "upstream.base_url",
        K.URL,
        "Upstream Anthropic API URL (default https://api.anthropic.com)",
    ),
    S(
        "--oauth-token-url",
        "CLAUDE_OAUTH_TOKEN_URL",
        "upstream.oauth_token_url",
        K.URL,
        "Claude OAuth token endpoint used to refresh subscription tokens",
    ),
    S(
        "--api-format",
        "UPSTREAM_API_FORMAT",
        "upstream.api_format",
        K.CHOICE,
        "Restrict the proxy to anthropic / bedrock / vertex",
        "api_format",
    ),
    S("--routing-mode", "ROUTING_MODE", "routing.mode", K.CHOICE, "direct, cli or hybrid", "routing_mode"),
    S(
        "--claude-cli-bin",
        "CLAUDE_CLI_BIN",
        "routing.claude_cli_bin",
        K.TEXT,
        "Claude CLI binary for the cli routing mode (default claude)",
    ),
    S(
        "--storage-policy",
        "STORAGE_POLICY",
        "storage.policy",
        K.CHOICE,
        "Token store: memory, text, binary or both",
        "storage",
    ),
    S(
        "--data-dir",
        "DATA_DIR",
        "storage.data_dir",
        K.TEXT,
        "Where tokens.lino / tokens.bin / providers.lenv live (default ~/.link-assistant-router)",
    ),
    S("--redis-url", "REDIS_URL", "redis.url", K.SECRET, "Redis URL for state shared across replicas"),
    S(
        "--gonka-private-key",
        "GONKA_PRIVATE_KEY",
        "gonka.private_key",
        K.SECRET,
        "Private key that signs Gonka requests (prefer the GONKA_PRIVATE_KEY variable)",
    ),
    S("--gonka-source-url", "GONKA_SOURCE_URL", "gonka.source_url", K.URL, "Gonka source node URL"),
    S("--gonka-model", "GONKA_MODEL", "gonka.model", K.TEXT, "Default model for Gonka requests"),
    S(
        "--gonka-endpoints",
        "GONKA_ENDPOINTS",
        "gonka.endpoints",
        K.TEXT,
        "Gonka nodes as url;gonka1transferaddress[,…] (skips discovery from the source URL)",
    ),
    S(
        "--crater-forgefed-inbox",
        "CRATER_FORGEFED_INBOX",
        "crater.inbox",
        K.URL,
        "Remote ForgeFed inbox that receives Offer{Ticket} activities",
    ),
    S(
        "--crater-forgefed-actor",
        "CRATER_FORGEFED_ACTOR",
        "crater.actor",
        K.URL,
        "Local actor URI used in outbound activities",
    ),
    S(
        "--crater-forgefed-target",
        "CRATER_FORGEFED_TARGET",
        "crater.target",
        K.URL,
        "Ticket tracker or project URI used as Offer.target",
    ),
    S(
        "--crater-poll-interval-ms",
        "CRATER_POLL_INTERVAL_MS",
        "crater.poll_interval_ms",
        K.INT,
        "Delay between task polls, in ms",
    ),
    S(
        "--crater-poll-timeout-secs",
        "CRATER_POLL_TIMEOUT_SECS",
        "crater.poll_timeout_secs",
        K.INT,
        "Maximum wait for a task to resolve, in seconds",
    ),
    S(
        "--openai-compatible-provider-name",
        "OPENAI_COMPATIBLE_PROVIDER_NAME",
        "openai_compatible.provider_name",
        K.TEXT,
        "Stored provider name to resolve (default litellm)",
    ),
    S(
        "--openai-compatible-base-url",
        "OPENAI_COMPATIBLE_BASE_URL",
        "openai_compatible.base_url",
        K.URL,
        "OpenAI-compatible /v1 API base",
    ),
    S(
        "--openai-compatible-api-key-env",
        "OPENAI_COMPATIBLE_API_KEY_ENV",
        "openai_compatible.api_key",
        K.SECRET_ENV_NAME,
        "Environment variable holding the OpenAI-compatible upstream key",
    ),
    S(
        "--openai-compatible-api-key",
        "OPENAI_COMPATIBLE_API_KEY",
        "openai_compatible.api_key",
        K.SECRET,
        "Inline OpenAI-compatible upstream key (prefer the -env form)",
    ),
    S(
        "--openai-compatible-model",
        "OPENAI_COMPATIBLE_MODEL",
        "openai_compatible.model",
        K.TEXT,
        "Default model injected when requests omit one",
    ),
    S(
        "--openai-compatible-models",
        "OPENAI_COMPATIBLE_MODELS",
        "openai_compatible.models",
        K.CSV,
        "Comma-separated models exposed from /v1/models",
    ),
    S(
        "--activitypub-actor-base-url",
        "ACTIVITYPUB_ACTOR_BASE_URL",
        "activitypub.actor_base_url",
        K.URL,
        "Public base URL of the ActivityPub actor",
    ),
    S(
        "--activitypub-public-key-pem",
        "ACTIVITYPUB_PUBLIC_KEY_PEM",
        "activitypub.public_key_pem",
        K.TEXT,
        "Public key PEM published on the actor",
    ),
    S(
        "--activitypub-private-key-pem",
        "ACTIVITYPUB_PRIVATE_KEY_PEM",
        "activitypub.private_key",
        K.SECRET,
        "Private key PEM that signs outbound activities (default: a pair kept in the data dir)",
    ),
    S(
        "--activitypub-rate-limit-per-minute",
        "ACTIVITYPUB_RATE_LIMIT_PER_MINUTE",
        "activitypub.rate_limit_per_minute",
        K.INT,
        "Requests per minute per client address on the ActivityPub routes (default 120; 0: no limit)",
    ),
    S(
        "--disable-activitypub",
        "DISABLE_ACTIVITYPUB",
        "features.activitypub",
        K.DISABLE,
        "Hide the ActivityPub/ForgeFed routes (actor, inbox, outbox, followers, WebFinger)",
    ),
    S(
        "--disable-openai-api",
        "DISABLE_OPENAI_API",
        "features.openai_api",
        K.DISABLE,
        "Hide /v1/chat/completions, /v1/responses, /v1/models",
    ),
    S(
        "--disable-anthropic-api",
        "DISABLE_ANTHROPIC_API",
        "features.anthropic_api",
        K.DISABLE,
        "Hide /v1/messages* and the Bedrock/Vertex paths",
    ),
    S(
        "--disable-metrics",
        "DISABLE_METRICS",
        "features.metrics",
        K.DISABLE,
        "Hide /metrics, /v1/usage, /v1/accounts",
    ),
    S(
        "--experimental-compatibility",
        "EXPERIMENTAL_COMPATIBILITY",
        "features.experimental_compatibility",
        K.BOOL,
        "Accepted for compatibility; changes nothing (serve warns when it is on)",
    ),
    S("--mpp-enable", "MPP_ENABLE", "mpp.enabled", K.BOOL, "Return MPP 402 challenges on OpenAI endpoints"),
    S("--mpp-amount", "MPP_AMOUNT", "mpp.amount", K.TEXT, "Per-request MPP charge amount (default 0.00)"),
    S("--mpp-currency", "MPP_CURRENCY", "mpp.currency", K.TEXT, "Currency or asset for MPP charges"),
    S("--mpp-recipient", "MPP_RECIPIENT", "mpp.recipient", K.TEXT, "MPP recipient wallet or account"),
    S("--mpp-method", "MPP_METHOD", "mpp.method", K.TEXT, "MPP payment method identifier"),
)

CHOICE_TABLES: Mapping[str, Mapping[str, StrEnum]] = {
    "provider": c.PROVIDER_SYNONYMS,
    "api_format": c.API_FORMAT_SYNONYMS,
    "routing_mode": c.ROUTING_MODE_SYNONYMS,
    "storage": c.STORAGE_SYNONYMS,
}
