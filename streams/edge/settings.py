"""The gateway's own settings (``FRONTDOOR_EDGE_*``); its broker connection is the usual
``FRONTDOOR_*`` (as the ``edge`` principal)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EdgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_EDGE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    tls_certfile: Path | None = Field(default=None, description="Server certificate (PEM).")
    tls_keyfile: Path | None = Field(default=None, description="Its private key (PEM).")
    insecure_http: bool = Field(
        default=False, description="Serve plain HTTP (only behind a TLS-terminating proxy)."
    )
    keys_file: Path = Field(
        default=Path(".local/edge/keys.json"), description="API key hashes -> parties."
    )
    webhook_key_file: Path = Field(
        default=Path(".local/edge/webhook.key"),
        description="The gateway's key webhook secrets are derived from (made if missing).",
    )
    rate_per_second: float = Field(default=50.0, gt=0, description="Requests/s per party.")
    rate_burst: int = Field(default=200, ge=1)
    publish_timeout_s: float = Field(default=15.0, gt=0, description="Then 503, retry.")
    webhook_first_retry_s: float = Field(default=1.0, gt=0)
    webhook_max_retry_s: float = Field(default=300.0, gt=0)
    webhook_give_up_s: float = Field(
        default=3600.0, gt=0, description="No attempt after this long: give up and alert."
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Per attempt.")
    webhook_allow_http: bool = Field(
        default=False, description="Accept http:// webhooks to loopback (demo, tests)."
    )
    webhook_in_flight: int = Field(default=1000, ge=1, description="Deliveries at once.")

    @model_validator(mode="after")
    def _tls_or_said_otherwise(self) -> EdgeSettings:
        if not self.insecure_http and (self.tls_certfile is None or self.tls_keyfile is None):
            raise ValueError(
                "FRONTDOOR_EDGE_TLS_CERTFILE and FRONTDOOR_EDGE_TLS_KEYFILE are required "
                "(or FRONTDOOR_EDGE_INSECURE_HTTP=true behind a TLS-terminating proxy)"
            )
        return self
