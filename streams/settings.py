"""Worker settings from the environment (``FRONTDOOR_*``), validated at start."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.clock import simulated, utc_now


class ConnectionSettingsError(ValueError):
    """Settings that cannot connect (a missing file, no user); says which, never a secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_", extra="ignore")

    app_id: str = Field(default="frontdoor", description="Faust app id; also the consumer group.")
    broker_url: str = Field(
        default="kafka://127.0.0.1:9092", description="Comma-separated kafka:// URLs."
    )
    # Secured by default: the local broker and every deployment take SASL_SSL only.
    # `frontdoor kafka credentials PRINCIPAL` prints these for the local broker.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "SASL_SSL"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = Field(
        default=None, description="A file holding the password (kept out of the environment)."
    )
    ssl_cafile: Path | None = Field(default=None, description="CA certificates (PEM).")
    topic_prefix: str = Field(
        default="", description="Prepended to every topic name (isolates tests and tenants)."
    )
    partitions: int = Field(default=4, ge=1, description="Partitions for frontdoor's topics.")
    replication_factor: int = Field(default=1, ge=1)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    state_dir: Path = Field(default=Path(".local/state"), description="Faust table state.")
    # Fail-over. A worker that dies (kill -9, a lost host) holds its partitions until the
    # broker has not heard from it for session_timeout_s; a clean stop leaves the group at
    # once. Shorter is a faster take-over, but a worker stalled for longer (a long GC
    # pause, an overloaded host) is expelled and rebalanced needlessly. 6 s (the broker's
    # least) took over in 5.6-6.9 s where 10 s took 9.7-11.1 (make faults, ten kills each);
    # heartbeats go from faust's consumer thread, which nothing long holds.
    session_timeout_s: float = Field(default=6.0, ge=6, le=60)
    heartbeat_interval_s: float = Field(default=1.0, gt=0, le=10)
    rebalance_timeout_s: float = Field(default=10.0, ge=5, le=300)
    producer_request_timeout_s: float = Field(
        default=30.0,
        ge=1,
        le=1200,
        description="How long the worker's producer waits for a produce response, and "
        "for a partition's leader, before it retries (Kafka's Java default).",
    )
    fetch_max_wait_ms: int = Field(
        default=100,
        ge=10,
        le=1500,
        description="How long the worker's fetch waits at the broker when nothing is new. "
        "It bounds each hop's latency (a signal crosses up to three), and an idle worker "
        "fetches this often: shorter is prompter, longer costs the broker less when idle.",
    )
    instance_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Static group membership: a restarted worker with the same id takes "
        "its partitions back without a rebalance (give each worker its own).",
    )
    clock_start: AwareDatetime | None = Field(
        default=None, description="Demos and drills only: simulated time at clock_epoch."
    )
    clock_epoch: float | None = Field(default=None, description="Unix time the clock starts.")
    clock_speed: float = Field(default=1.0, gt=0, description="Simulated seconds per second.")
    match_model: Path | None = Field(
        default=None,
        description="A deployment's matcher parameters (`frontdoor matching estimate`); "
        "defaults ship with the package.",
    )
    policy_file: Path | None = Field(
        default=None, description="A deployment's routing policy; defaults ship with the package."
    )

    @model_validator(mode="after")
    def _heartbeats_fit_the_session(self) -> Settings:
        if self.heartbeat_interval_s * 3 > self.session_timeout_s:
            raise ValueError("heartbeat_interval_s must be at most a third of session_timeout_s")
        return self

    @property
    def bootstrap_servers(self) -> str:
        """``host:port,...`` for plain aiokafka clients."""
        hosts = [url.strip().removeprefix("kafka://") for url in self.broker_url.split(",")]
        return ",".join(h.rstrip("/") for h in hosts if h)

    def aiokafka_options(self) -> dict[str, Any]:
        """Connection options for plain aiokafka clients (admin, demo, tests)."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.password()
        if self.security_protocol.endswith("SSL"):
            options["ssl_context"] = self.ssl_context()
        return options

    def password(self) -> str | None:
        """The SASL password: from ``sasl_password_file`` if set, else ``sasl_password``."""
        if self.sasl_password_file is not None:
            try:
                return self.sasl_password_file.read_text().strip()
            except OSError as exc:
                raise ConnectionSettingsError(
                    f"cannot read FRONTDOOR_SASL_PASSWORD_FILE {self.sasl_password_file}: "
                    f"{exc.strerror}"
                ) from None
        return self.sasl_password.get_secret_value() if self.sasl_password else None

    def ssl_context(self) -> ssl.SSLContext:
        if self.ssl_cafile is not None and not self.ssl_cafile.is_file():
            raise ConnectionSettingsError(f"FRONTDOOR_SSL_CAFILE {self.ssl_cafile} is not a file")
        return ssl.create_default_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)

    def connection_problems(self) -> list[str]:
        """What is missing to connect at all, said before a client gives a vaguer error."""
        problems: list[str] = []
        if self.security_protocol.startswith("SASL"):
            if not self.sasl_username:
                problems.append("FRONTDOOR_SASL_USERNAME is not set")
            if self.sasl_password is None and self.sasl_password_file is None:
                problems.append(
                    "neither FRONTDOOR_SASL_PASSWORD_FILE nor FRONTDOOR_SASL_PASSWORD is set"
                )
        return problems

    def clock(self) -> Callable[[], datetime]:
        """Real UTC time, or the simulated clock when ``clock_start`` is set."""
        if self.clock_start is None:
            return utc_now
        epoch = self.clock_epoch if self.clock_epoch is not None else time.time()
        return simulated(self.clock_start, epoch, self.clock_speed)
