"""Run a `frontdoor gateway` as a child process on the local broker, HTTPS with a
certificate from the local CA, and wait for it on conditions (demo, tests, bench)."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams import access
from streams.edge import add_key
from streams.settings import Settings
from streams.tools.platform import pki
from streams.tools.platform.localkafka import LocalKafkaSettings, acting_as
from streams.tools.platform.worker_process import (
    free_port,
    settings_env,
    spawn,
    stop_process,
    wait_for,
)


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str
    ca_file: Path
    keys_file: Path
    forces: set[str]

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def key(self, principal: str, organisation: str | None = None, label: str = "") -> str:
        """A new API key (the running gateway reads keys at start: call before ``start``)."""
        return add_key(self.keys_file, principal, organisation, label or principal, self.forces)

    def request(
        self, method: str, path: str, key: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        status, answer, _ = self.exchange(method, path, key, body)
        return status, answer

    def exchange(
        self, method: str, path: str, key: str | None = None, body: Any = None
    ) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON body and headers (lower-cased names) of one request."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"content-type": "application/json"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl_context()) as response:
                raw, status, got = response.read(), int(response.status), response.headers
        except urllib.error.HTTPError as error:
            raw, status, got = error.read(), int(error.code), error.headers
        return status, json.loads(raw) if raw else None, {k.lower(): v for k, v in got.items()}

    def text(self, path: str) -> str:
        with urllib.request.urlopen(
            self.base_url + path, timeout=30, context=self.ssl_context()
        ) as r:
            return str(r.read().decode())

    def webhook_key(self) -> bytes:
        return (self.keys_file.parent / "webhook.key").read_bytes()

    def ready(self) -> bool:
        if self.process.poll() is not None:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"gateway exited with code {self.process.returncode}:\n{tail}")
        try:
            return self.request("GET", "/health")[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout_s: float = 60) -> None:
        wait_for(self.ready, timeout_s, "the gateway's /health to report ready")

    def stop(self, timeout_s: float = 20) -> int:
        return stop_process(self.process, timeout_s)


def prepare(kafka: LocalKafkaSettings, home: Path, forces: set[str]) -> tuple[Path, Path, Path]:
    """The gateway's certificate (local CA), keys file and webhook key paths under ``home``."""
    certificate = pki.server_certificate(kafka.secrets, "gateway")
    home.mkdir(parents=True, exist_ok=True)
    return certificate, home / "keys.json", home / "webhook.key"


def start_gateway(
    kafka: LocalKafkaSettings,
    settings: Settings,
    home: Path,
    keys: dict[str, tuple[str, str | None]],
    forces: set[str],
    **edge: Any,
) -> tuple[GatewayProcess, dict[str, str]]:
    """Start a gateway connecting as the ``edge`` principal with ``settings``' namespace;
    ``keys``: name -> (principal, organisation), an API key made for each (returned)."""
    certificate, keys_file, webhook_key = prepare(kafka, home, forces)
    made = {
        name: add_key(keys_file, principal, organisation, name, forces)
        for name, (principal, organisation) in keys.items()
    }
    port = free_port()
    env = settings_env(acting_as(settings, access.EDGE))
    env.update(
        {
            "FRONTDOOR_EDGE_PORT": str(port),
            "FRONTDOOR_EDGE_TLS_CERTFILE": str(certificate),
            "FRONTDOOR_EDGE_TLS_KEYFILE": str(certificate),
            "FRONTDOOR_EDGE_KEYS_FILE": str(keys_file),
            "FRONTDOOR_EDGE_WEBHOOK_KEY_FILE": str(webhook_key),
            **{f"FRONTDOOR_EDGE_{k.upper()}": str(v) for k, v in edge.items()},
        }
    )
    log_path = home / "gateway.log"
    process = spawn(["gateway"], env, log_path)
    running = GatewayProcess(
        process, log_path, f"https://127.0.0.1:{port}", kafka.secrets.ca_file, keys_file, forces
    )
    return running, made
