"""The console's own settings (``FRONTDOOR_CONSOLE_*``); its broker connection is the
usual ``FRONTDOOR_*`` (as the ``console`` principal)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPOSITORY = Path(__file__).resolve().parents[2]
GOVUK_FRONTEND = REPOSITORY / "deploy" / "console" / "node_modules" / "govuk-frontend" / "dist"


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_CONSOLE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8444, ge=1, le=65535)
    public_url: str | None = Field(
        default=None,
        description="The address people reach the console at (https://...); the sign-in "
        "callback is registered with the identity provider under it. Default: "
        "https://<host>:<port>.",
    )
    tls_certfile: Path | None = Field(default=None, description="Server certificate (PEM).")
    tls_keyfile: Path | None = Field(default=None, description="Its private key (PEM).")
    insecure_http: bool = Field(
        default=False, description="Serve plain HTTP (only behind a TLS-terminating proxy)."
    )
    # OpenID Connect: any provider by configuration (Keycloak locally; Entra ID in a council).
    oidc_metadata_url: str = Field(
        default="", description="The provider's /.well-known/openid-configuration."
    )
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None
    oidc_client_secret_file: Path | None = Field(
        default=None, description="A file holding the client secret (kept out of the environment)."
    )
    oidc_ca_file: Path | None = Field(
        default=None, description="CA certificates (PEM) the provider's TLS is checked against."
    )
    oidc_scopes: str = "openid profile"
    roles_claim: str = Field(default="roles", description="The token claim listing roles.")
    organisation_claim: str = Field(
        default="organisation", description="The claim naming the person's organisation(s)."
    )
    name_claim: str = Field(default="name", description="The claim with the person's name.")
    # Sessions are kept on the server; the cookie carries only a random id.
    session_idle_s: float = Field(default=900, gt=0, description="Signed out after this idle.")
    session_max_s: float = Field(
        default=8 * 3600, gt=0, description="Signed out this long after signing in, whatever."
    )
    claim_s: float = Field(
        default=900, gt=0, description="A pair a reviewer opened is theirs for this long idle."
    )
    assets_dir: Path = Field(
        default=GOVUK_FRONTEND, description="GOV.UK Frontend's dist/ (npm ci in deploy/console)."
    )
    page_size: int = Field(default=50, ge=5, le=500, description="Rows per queue page.")
    # The duty board.
    board_hours: float = Field(
        default=4, gt=0, le=72, description="The duty board lists what falls due this far ahead."
    )
    grafana_url: str | None = Field(
        default=None, description="Operations' Grafana, linked from the duty board."
    )
    # Alert emails: no personal data, only that something waits (DOMAIN.md section 8).
    smtp_host: str | None = Field(default=None, description="The mail relay; unset: no emails.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = Field(default=False, description="Upgrade to TLS (a real relay: yes).")
    smtp_username: str | None = None
    smtp_password_file: Path | None = None
    smtp_ca_file: Path | None = Field(default=None, description="CA of the relay's certificate.")
    mail_from: str = Field(default="frontdoor@localhost", description="The alerts' sender.")
    mail_to_file: Path | None = Field(
        default=None,
        description="YAML: each organisation's alert addresses, e.g. "
        "{'school/urn:100000': ['safeguarding@school.example']} (a shared mailbox is best: "
        "it outlasts a change of safeguarding lead).",
    )
    mail_retry_s: float = Field(default=30, gt=0, description="First wait before a retry.")
    mail_attempts: int = Field(default=6, ge=1, le=50, description="Tries before giving up.")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"https://{self.host}:{self.port}").rstrip("/")

    def client_secret(self) -> str:
        if self.oidc_client_secret_file is not None:
            return self.oidc_client_secret_file.read_text().strip()
        return self.oidc_client_secret.get_secret_value() if self.oidc_client_secret else ""

    @model_validator(mode="after")
    def _tls_or_said_otherwise(self) -> ConsoleSettings:
        if not self.insecure_http and (self.tls_certfile is None or self.tls_keyfile is None):
            raise ValueError(
                "FRONTDOOR_CONSOLE_TLS_CERTFILE and FRONTDOOR_CONSOLE_TLS_KEYFILE are required "
                "(or FRONTDOOR_CONSOLE_INSECURE_HTTP=true behind a TLS-terminating proxy)"
            )
        return self

    def problems(self) -> list[str]:
        """What is missing to sign anyone in, said before the first person tries."""
        missing = []
        if not self.oidc_metadata_url:
            missing.append("FRONTDOOR_CONSOLE_OIDC_METADATA_URL is not set")
        if not self.oidc_client_id:
            missing.append("FRONTDOOR_CONSOLE_OIDC_CLIENT_ID is not set")
        if self.oidc_client_secret is None and self.oidc_client_secret_file is None:
            missing.append(
                "neither FRONTDOOR_CONSOLE_OIDC_CLIENT_SECRET_FILE nor "
                "FRONTDOOR_CONSOLE_OIDC_CLIENT_SECRET is set"
            )
        if not (self.assets_dir / "govuk" / "govuk-frontend.min.css").is_file():
            missing.append(
                f"GOV.UK Frontend is not installed in {self.assets_dir} "
                "(run `npm ci --prefix deploy/console`, which `make` does)"
            )
        return missing
