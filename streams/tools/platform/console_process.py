"""Run a `frontdoor console` as a child process on the local broker, HTTPS with a
certificate from the local CA, signing people in through the local Keycloak, and wait
for it on conditions (demo, tests, bench)."""

from __future__ import annotations

import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams import access
from streams.settings import Settings
from streams.tools.platform import idp, pki
from streams.tools.platform.localkafka import LocalKafkaSettings, acting_as
from streams.tools.platform.worker_process import (
    free_port,
    settings_env,
    spawn,
    stop_process,
    wait_for,
)


@dataclass
class ConsoleProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str
    ca_file: Path

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(
                self.base_url + path, timeout=10, context=self.ssl_context()
            ) as reply:
                return int(reply.status), reply.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()

    def ready(self) -> bool:
        if self.process.poll() is not None:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"console exited with code {self.process.returncode}:\n{tail}")
        try:
            return self.get("/health")[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout_s: float = 60) -> None:
        wait_for(self.ready, timeout_s, "the console's /health to report ready")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 20) -> int:
        return stop_process(self.process, timeout_s)


def start_console(
    kafka: LocalKafkaSettings,
    provider: idp.IdpSettings,
    settings: Settings,
    home: Path,
    port: int | None = None,
    **console: Any,
) -> ConsoleProcess:
    """Start a console connecting as the ``console`` principal with ``settings``'
    namespace, registered with the local identity provider at its address."""
    certificate = pki.server_certificate(kafka.secrets, "console")
    port = port or free_port()
    base_url = f"https://127.0.0.1:{port}"
    idp.register_console(provider, kafka, base_url)
    home.mkdir(parents=True, exist_ok=True)
    env = settings_env(acting_as(settings, access.CONSOLE))
    env.update(idp.console_environment(provider))
    env.update(
        {
            "FRONTDOOR_CONSOLE_PORT": str(port),
            "FRONTDOOR_CONSOLE_PUBLIC_URL": base_url,
            "FRONTDOOR_CONSOLE_TLS_CERTFILE": str(certificate),
            "FRONTDOOR_CONSOLE_TLS_KEYFILE": str(certificate),
            "FRONTDOOR_CONSOLE_OIDC_CA_FILE": str(kafka.secrets.ca_file),
            **{f"FRONTDOOR_CONSOLE_{k.upper()}": str(v) for k, v in console.items()},
        }
    )
    log_path = home / "console.log"
    process = spawn(["console"], env, log_path)
    return ConsoleProcess(process, log_path, base_url, kafka.secrets.ca_file)
