"""A real single-node Apache Kafka (KRaft) for development, tests and the demo, without Docker.

Jars come from Maven Central via ``deploy/kafka/pom.xml``; storage is formatted once;
the broker runs in the background with its own log and pid file. ``start`` reuses a
broker that already answers on the port.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"


class LocalKafkaSettings(BaseSettings):
    """``FRONTDOOR_KAFKA_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_KAFKA_")

    port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int = Field(default=9093, ge=1, le=65535)
    home: Path = Field(default=Path(".local/kafka"), description="data, log and pid file")
    heap: str = "1g"
    start_timeout_s: float = 90.0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


class BrokerError(RuntimeError):
    pass


@dataclass(frozen=True)
class StartResult:
    pid: int | None
    reused: bool
    seconds: float
    bootstrap: str


def _lib_dir() -> Path:
    return DEPLOY_DIR / "lib"


def _pom_digest() -> str:
    return hashlib.sha256((DEPLOY_DIR / "pom.xml").read_bytes()).hexdigest()


def ensure_jars() -> Path:
    """Resolve the broker's jars once; again only when the pom changes."""
    stamp = DEPLOY_DIR / ".resolved"
    lib = _lib_dir()
    if stamp.exists() and stamp.read_text().strip() == _pom_digest() and any(lib.glob("*.jar")):
        return lib
    if shutil.which("mvn") is None:
        raise BrokerError("Maven (mvn) is needed to fetch the Kafka jars; install maven")
    if shutil.which("java") is None:
        raise BrokerError("Java 17+ is needed to run Kafka; install a JDK")
    print("resolving Kafka jars from Maven Central ...", file=sys.stderr, flush=True)
    shutil.rmtree(lib, ignore_errors=True)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(DEPLOY_DIR / "pom.xml"), "dependency:copy-dependencies"],
        check=True,
    )
    stamp.write_text(_pom_digest())
    return lib


def _java(settings: LocalKafkaSettings, main: str, *args: str) -> list[str]:
    return [
        "java",
        "-Xms256m",
        f"-Xmx{settings.heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={DEPLOY_DIR / 'log4j2.yaml'}",
        f"-Dkafka.logs.dir={settings.home.resolve()}",
        "-cp",
        f"{_lib_dir()}/*",
        main,
        *args,
    ]


def _paths(settings: LocalKafkaSettings) -> dict[str, Path]:
    home = settings.home.resolve()
    return {
        "home": home,
        "data": home / "data",
        "config": home / "server.properties",
        "log": home / "broker.log",
        "pid": home / "broker.pid",
    }


def _cluster_id() -> str:
    """A Kafka-style id: URL-safe base64 of a random UUID, not starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _render_config(settings: LocalKafkaSettings) -> Path:
    paths = _paths(settings)
    template = Template((DEPLOY_DIR / "server.properties.template").read_text())
    text = template.substitute(
        port=settings.port, controller_port=settings.controller_port, data_dir=paths["data"]
    )
    paths["config"].write_text(text)
    return paths["config"]


def _format_storage(settings: LocalKafkaSettings, config: Path) -> None:
    if (_paths(settings)["data"] / "meta.properties").exists():
        return
    cmd = _java(
        settings,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        _cluster_id(),
        "-c",
        str(config),
        "--standalone",
    )
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BrokerError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")


async def _answers_metadata(bootstrap: str, timeout_s: float) -> bool:
    from aiokafka import AIOKafkaClient  # local: keeps `frontdoor kafka status` light

    client = AIOKafkaClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(timeout_s * 1000),
        connections_max_idle_ms=10_000,
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout_s)
        return bool(metadata.brokers())
    except Exception:
        return False
    finally:
        await client.close()


def broker_answers(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when a broker at ``bootstrap`` answers a metadata request."""
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # a refused connection is an answer here, not an error
    try:
        return asyncio.run(_answers_metadata(bootstrap, timeout_s))
    finally:
        quiet.setLevel(level)


def _running_pid(settings: LocalKafkaSettings) -> int | None:
    pid_file = _paths(settings)["pid"]
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return None
    if state in {"Z", "X"}:  # exited, not yet reaped
        return None
    # The command line reads empty for an instant while the java launcher re-executes
    # itself; a live process with our pid file is still ours then.
    return pid if not cmdline or b"kafka.Kafka" in cmdline else None


def log_tail(settings: LocalKafkaSettings, lines: int = 40) -> str:
    log = _paths(settings)["log"]
    if not log.exists():
        return "(no broker log yet)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def start(settings: LocalKafkaSettings) -> StartResult:
    """Start the broker (or reuse a running one) and wait until it answers metadata."""
    began = time.monotonic()
    pid = _running_pid(settings)
    if broker_answers(settings.bootstrap):
        return StartResult(pid, True, time.monotonic() - began, settings.bootstrap)
    if pid is None:
        ensure_jars()
        paths = _paths(settings)
        paths["data"].mkdir(parents=True, exist_ok=True)
        config = _render_config(settings)
        _format_storage(settings, config)
        with paths["log"].open("ab") as log:
            process = subprocess.Popen(
                _java(settings, "kafka.Kafka", str(config)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        paths["pid"].write_text(str(process.pid))
        pid = process.pid
        reused = False

        def exited() -> bool:
            return process.poll() is not None
    else:
        reused = True  # ours, still starting up

        def exited() -> bool:
            return _running_pid(settings) is None

    deadline = began + settings.start_timeout_s
    while time.monotonic() < deadline:
        if exited():
            raise BrokerError(
                f"Kafka exited during start-up; last lines of its log:\n{log_tail(settings)}"
            )
        if broker_answers(settings.bootstrap, timeout_s=1.0):
            return StartResult(pid, reused, time.monotonic() - began, settings.bootstrap)
        time.sleep(0.2)
    raise BrokerError(
        f"Kafka did not answer on {settings.bootstrap} within {settings.start_timeout_s:.0f} s; "
        f"last lines of its log:\n{log_tail(settings)}"
    )


def stop(settings: LocalKafkaSettings, timeout_s: float = 60.0) -> bool:
    """Stop the broker this runner started; True if one was running."""
    pid = _running_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _running_pid(settings) is None:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    _paths(settings)["pid"].unlink(missing_ok=True)
    return True


def status(settings: LocalKafkaSettings) -> tuple[int | None, bool]:
    """(pid of our broker or None, whether anything answers on the port)."""
    return _running_pid(settings), broker_answers(settings.bootstrap, timeout_s=5.0)
