"""The typed configuration model of the whole router.

Pure data: frozen dataclasses with the seed's defaults. The DSL loader (`dsl.config`) and the
settings resolver (`dsl.settings`) build these; the gateway and the controller only read them.
Secrets never live here as values from the DSL: only as `SecretRef`s (an env var or file name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class UpstreamProvider(StrEnum):
    ANTHROPIC = "anthropic"
    GONKA = "gonka"
    CRATER = "crater"
    OPENAI_COMPATIBLE = "openai-compatible"


class ApiFormat(StrEnum):
    ANTHROPIC = "anthropic"
    BEDROCK = "bedrock"
    VERTEX = "vertex"


class RoutingMode(StrEnum):
    DIRECT = "direct"
    CLI = "cli"
    HYBRID = "hybrid"


class RoutingStrategy(StrEnum):
    ROUND_ROBIN = "round-robin"
    PRIORITY = "priority"
    LEAST_USED = "least-used"
    WEIGHTED = "weighted"


class StoragePolicy(StrEnum):
    MEMORY = "memory"
    TEXT = "text"
    BINARY = "binary"
    BOTH = "both"


@dataclass(frozen=True)
class SecretRef:
    """Where a secret comes from: an environment variable or a file, never the DSL text.

    `value` is only ever set from a CLI flag, a `.lenv`/`.env` file (the seed's `--token-secret`,
    `TOKEN_SECRET: …`) or a Redis URL without a password; it is excluded from repr so that
    printing a config never shows it.
    """

    env: str | None = None
    file: str | None = None
    value: str | None = field(default=None, repr=False, compare=False)

    def describe(self) -> str:
        """A redacted description, safe for logs and `config show`."""
        if self.env:
            return f"env:{self.env}"
        if self.file:
            return f"file:{self.file}"
        return "<redacted>" if self.value else "<unset>"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 8080
    admin_grpc_host: str = ""
    """Empty: the admin gRPC listener binds the same host as HTTP (`host`)."""
    admin_grpc_port: int | None = 9090
    verbose: bool = False
    json_logs: bool = False
    max_body_bytes: int = 32 * 1024 * 1024
    admin_max_body_bytes: int = 1024 * 1024
    """The body limit of the admin API (`/api/tokens*`, `/api/providers*`); max_body_bytes caps it."""
    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers (from connecting or the request's first byte)."""
    keepalive_timeout: float = 75.0
    """Seconds an idle kept-alive connection stays open between requests."""
    max_connections: int = 10_000
    """Open client connections beyond this are answered 503 and closed."""
    tls_cert_file: str | None = None
    """PEM certificate chain: with `tls_key_file`, both listeners speak TLS (re-read on change)."""
    tls_key_file: str | None = None
    admin_grpc_client_ca_file: str | None = None
    """PEM CA bundle: admin gRPC clients must present a certificate it signed (mTLS)."""

    @property
    def admin_grpc_bind_host(self) -> str:
        return self.admin_grpc_host or self.host


@dataclass(frozen=True)
class TimeoutConfig:
    """Upstream timeouts in seconds; idle is the longest gap between two body chunks."""

    connect: float = 10.0
    first_byte: float = 600.0
    idle: float = 300.0


@dataclass(frozen=True)
class UpstreamConfig:
    provider: UpstreamProvider = UpstreamProvider.ANTHROPIC
    base_url: str = "https://api.anthropic.com"
    api_format: ApiFormat | None = None
    claude_code_home: str = "~/.claude"
    additional_account_dirs: tuple[str, ...] = ()
    timeouts: TimeoutConfig = TimeoutConfig()
    oauth_token_url: str = "https://platform.claude.com/v1/oauth/token"
    """Claude OAuth token endpoint used to refresh subscription access tokens (tests point it locally)."""


@dataclass(frozen=True)
class AccountConfig:
    """One upstream account: an OAuth credential dir (Claude Code home) or an API key."""

    name: str
    oauth_home: str | None = None
    api_key: SecretRef | None = None
    priority: int = 0
    weight: int = 1
    models: tuple[str, ...] = ()
    max_concurrent: int | None = None
    base_url: str | None = None


@dataclass(frozen=True)
class RoutingConfig:
    strategy: RoutingStrategy = RoutingStrategy.ROUND_ROBIN
    session_affinity: bool = True
    cooldown_seconds: float = 60.0
    retry_before_first_byte: int = 2
    outlier_consecutive: int = 5
    """Consecutive 5xx / connection failures before an account cools (429, 529, quota, auth: at once)."""
    mode: RoutingMode = RoutingMode.DIRECT
    claude_cli_bin: str | None = None


@dataclass(frozen=True)
class ProviderConfig:
    """An OpenAI-compatible upstream (LiteLLM, vLLM, ...), as in the seed's indented form."""

    name: str
    kind: str = "openai-compatible"
    base_url: str = "http://localhost:4000/v1"
    model: str | None = None
    models: tuple[str, ...] = ()
    api_key: SecretRef | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ModelAlias:
    alias: str
    target: str


@dataclass(frozen=True)
class StorageConfig:
    policy: StoragePolicy = StoragePolicy.BOTH
    data_dir: str | None = None
    """None means the seed's default: $DATA_DIR, else ~/.link-assistant-router."""


@dataclass(frozen=True)
class RedisConfig:
    url: SecretRef | None = None
    """Redis URL reference (it may hold a password, so it is a secret). None: single-process mode."""
    key_prefix: str = "lar:"


@dataclass(frozen=True)
class FeaturesConfig:
    openai_api: bool = True
    anthropic_api: bool = True
    metrics: bool = True
    claude_code_identity: bool = True
    experimental_compatibility: bool = False
    hot_reload: bool = True
    activitypub: bool = True


@dataclass(frozen=True)
class TokenDefaults:
    ttl_hours: int = 24
    max_requests: int | None = None
    max_tokens: int | None = None
    rate_limit_per_minute: int | None = None


@dataclass(frozen=True)
class AdminConfig:
    token_secret: SecretRef = SecretRef(env="TOKEN_SECRET")
    admin_key: SecretRef | None = None


@dataclass(frozen=True)
class MppConfig:
    enabled: bool = False
    amount: str = "0.00"
    currency: str = "USD"
    recipient: str | None = None
    method: str | None = None


@dataclass(frozen=True)
class GonkaConfig:
    private_key: SecretRef | None = None
    source_url: str = "https://node4.gonka.ai"
    model: str = "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"
    endpoints: str | None = None
    """`url;gonka1address[,…]`: send to these nodes, skipping discovery from `source_url`."""


@dataclass(frozen=True)
class CraterConfig:
    inbox: str | None = None
    actor: str | None = None
    target: str | None = None
    poll_interval_ms: int = 1000
    poll_timeout_secs: int = 120


@dataclass(frozen=True)
class ActivityPubConfig:
    actor_base_url: str | None = None
    public_key_pem: str | None = None
    private_key: SecretRef | None = None
    """PEM private key that signs outbound activities; unset: a pair kept in the data dir."""
    rate_limit_per_minute: int = 120
    """Requests per minute per client address on the public ActivityPub routes."""


@dataclass(frozen=True)
class OpenAICompatibleDefaults:
    """The seed's boot-time OPENAI_COMPATIBLE_* settings (the provider to resolve by name)."""

    provider_name: str = "litellm"
    base_url: str = "http://localhost:4000/v1"
    api_key: SecretRef | None = None
    model: str | None = None
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouterConfig:
    """The whole router, as one value. Built once per process, passed down, never mutated."""

    server: ServerConfig = ServerConfig()
    upstream: UpstreamConfig = UpstreamConfig()
    accounts: tuple[AccountConfig, ...] = ()
    routing: RoutingConfig = RoutingConfig()
    providers: tuple[ProviderConfig, ...] = ()
    openai_compatible: OpenAICompatibleDefaults = OpenAICompatibleDefaults()
    model_aliases: tuple[ModelAlias, ...] = ()
    storage: StorageConfig = StorageConfig()
    redis: RedisConfig = RedisConfig()
    features: FeaturesConfig = FeaturesConfig()
    tokens: TokenDefaults = TokenDefaults()
    admin: AdminConfig = AdminConfig()
    mpp: MppConfig = MppConfig()
    gonka: GonkaConfig = GonkaConfig()
    crater: CraterConfig = CraterConfig()
    activitypub: ActivityPubConfig = ActivityPubConfig()
