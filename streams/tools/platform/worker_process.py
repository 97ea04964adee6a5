"""Run a `frontdoor worker` as a child process and wait for it on conditions, not sleeps.

Used by the demo, the integration tests and the benchmarks, so they all exercise the
same command an operator runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from streams.settings import Settings

T = TypeVar("T")


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on loopback now (held open together while chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def wait_for(
    condition: Callable[[], T | None], timeout_s: float, what: str, interval_s: float = 0.2
) -> T:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def settings_env(settings: Settings) -> dict[str, str]:
    """This process's environment with ``settings`` as ``FRONTDOOR_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDOOR_")}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        secret = getattr(value, "get_secret_value", None)
        env[f"FRONTDOOR_{name.upper()}"] = str(secret() if secret else value)
    return env


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready(self) -> bool:
        if self.process.poll() is not None:
            tail = "\n".join(self.log().splitlines()[-20:])
            code = self.process.returncode
            raise RuntimeError(f"worker exited with code {code}; end of {self.log_path}:\n{tail}")
        try:
            return self.get("/health")[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout_s: float = 90) -> None:
        wait_for(self.ready, timeout_s, "the worker's /health to report ready")

    def kill(self) -> int:
        """kill -9: no clean stop, no leaving the group, no snapshot."""
        if self.process.poll() is None:
            self.process.kill()
        return int(self.process.wait())

    def assigned(self, topic: str) -> set[int]:
        """The partitions of ``topic`` this worker says it owns (empty if it does not answer)."""
        try:
            _, body = self.get("/health")
        except OSError:
            return set()
        names = json.loads(body).get("assigned_partitions", []) if body else []
        return {int(n.rsplit(":", 1)[1]) for n in names if n.rsplit(":", 1)[0] == topic}

    def stop(self, timeout_s: float = 30) -> int:
        return stop_process(self.process, timeout_s)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    """SIGTERM (a clean stop), then SIGKILL after ``timeout_s``; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


def spawn(arguments: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``frontdoor <arguments>`` as a child process, its output in ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", *arguments],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def start_worker(settings: Settings, log_path: Path, loglevel: str = "info") -> WorkerProcess:
    process = spawn(["worker", "-l", loglevel], settings_env(settings), log_path)
    return WorkerProcess(process, log_path, f"http://{settings.web_host}:{settings.web_port}")
