"""Typed platform settings, read from ``EVENTONIGHT_*`` environment variables.

Plugins contribute their own settings classes through the
``eventonight_settings`` hook; those read ``EVENTONIGHT_<PLUGIN>_*``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrustedIssuer(BaseModel):
    """An external OpenID Connect issuer whose access tokens are accepted."""

    issuer: str
    jwks_url: str
    audience: str | None = None
    # Dotted path to the claim holding the role (Keycloak: "realm_access.roles").
    role_claim: str = "role"
    algorithms: list[str] = ["RS256"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_", extra="ignore")

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    # Browser front ends on other origins allowed to call the API (CORS), e.g.
    # '["https://app.example.org"]'; "http://localhost:*" allows any port. None by default;
    # `serve --demo` without this setting allows http://localhost:* and http://127.0.0.1:*.
    cors_origins: list[str] = []
    # Reverse proxies in front of us that append to X-Forwarded-For: the client address used for
    # rate limits and logs is the one the outermost of them saw. 0: the socket peer.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    log_level: str = "INFO"

    # Storage. No URI means: start the embedded SecantusDB under data_dir.
    mongodb_uri: str | None = None
    database: str = "eventonight"
    data_dir: Path = Path("./var")
    embedded_mongo_port: int = 27217

    # Message bus. No URL means kombu's in-memory transport (single process only).
    broker_url: str | None = None
    exchange: str = "eventonight"
    queue_prefix: str = "eventonight"
    consumer_max_attempts: int = Field(default=5, ge=1)
    # Unacknowledged messages per plugin queue, and the most one batch of a plugin holds.
    consumer_prefetch: int = Field(default=64, ge=1)
    # A handler (or a batch of them) still running after this long is stopped and retried.
    consumer_timeout_seconds: float = Field(default=60.0, gt=0)
    # Delay before the 1st, 2nd, ... retry of a failed message; the last one repeats.
    consumer_retry_delays: list[float] = Field(default=[1.0, 5.0, 30.0, 120.0], min_length=1)

    # Garbage collector of server processes (kernel/gc_keeper.py): survivors leave the collector's
    # scans this often (0: never, only at startup), and a full pass reclaims cycles among them this often.
    gc_freeze_seconds: float = Field(default=5.0, ge=0)
    gc_full_seconds: float = Field(default=3600.0, gt=0)

    # Outbox relay
    relay_batch_size: int = Field(default=10_000, ge=1)
    relay_chunk_size: int = Field(default=2500, ge=1)
    relay_poll_seconds: float = Field(default=0.25, gt=0)
    relay_lease_seconds: float = Field(default=10.0, gt=0)
    relay_backoff_initial: float = Field(default=0.2, gt=0)
    relay_backoff_max: float = Field(default=30.0, gt=0)

    # Tokens
    jwt_issuer: str = "eventonight"
    jwt_audience: str = "eventonight"
    access_token_ttl_seconds: int = Field(default=300, ge=10)
    trusted_issuers: list[TrustedIssuer] = []
    # Key-encryption keys (Fernet, JSON list; the first encrypts, all decrypt). Required unless the
    # database is the embedded one. See docs/deployment.md, "Key encryption".
    key_encryption_keys: list[str] = Field(default=[], repr=False)

    # Security events (logins, failures, password changes, token reuse, deletions, key rotations)
    # kept in kernel_audit for this long; `eventonight audit` queries them. Requests go to the
    # "eventonight.access" log (route, status, latency, user id; never tokens) unless turned off.
    audit_retention_days: float = Field(default=365, gt=0)
    access_log: bool = True

    # Plugins
    required_plugins: list[str] = []
    disabled_plugins: list[str] = []

    # Prometheus metrics at /metrics: off unless enabled; with a token, scrapes send it as a bearer.
    metrics_enabled: bool = False
    metrics_token: str | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _public_url_follows_the_port(self) -> Settings:
        # Left unset, the public URL is where this process listens (links in demo checkouts, emails).
        if "public_url" not in self.model_fields_set:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
            self.public_url = f"http://{host}:{self.port}"
        return self

    # Demo data on `serve --demo`
    demo: bool = False
