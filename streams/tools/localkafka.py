"""A real Apache Kafka (KRaft) for development, tests and the demo, without Docker.

Jars come from Maven Central via ``deploy/kafka/pom.xml``; storage is formatted once;
each node runs in the background with its own log and pid file. ``start`` reuses a node
that already answers on its port. One node by default; ``nodes=3`` makes a three-node
cluster for fault tests (replication factor 3, ``min.insync.replicas=2``): node ``n``
listens on ``port + 10 (n - 1)`` and ``controller_port + 10 (n - 1)`` and keeps its data
under ``home/node-n``.
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
    nodes: int = Field(default=1, ge=1, le=5)
    start_timeout_s: float = 90.0

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in cluster(self))


@dataclass(frozen=True)
class Node:
    """One broker-and-controller process."""

    node_id: int
    port: int
    controller_port: int
    home: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def cluster(settings: LocalKafkaSettings) -> list[Node]:
    if settings.nodes == 1:  # the single node keeps its data directly under home
        return [Node(1, settings.port, settings.controller_port, settings.home)]
    return [
        Node(
            n,
            settings.port + 10 * (n - 1),
            settings.controller_port + 10 * (n - 1),
            settings.home / f"node-{n}",
        )
        for n in range(1, settings.nodes + 1)
    ]


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


def _java(settings: LocalKafkaSettings, node: Node, main: str, *args: str) -> list[str]:
    return [
        "java",
        "-Xms256m",
        f"-Xmx{settings.heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={DEPLOY_DIR / 'log4j2.yaml'}",
        f"-Dkafka.logs.dir={node.home.resolve()}",
        "-cp",
        f"{_lib_dir()}/*",
        main,
        *args,
    ]


def _paths(node: Node) -> dict[str, Path]:
    home = node.home.resolve()
    return {
        "home": home,
        "data": home / "data",
        "config": home / "server.properties",
        "log": home / "broker.log",
        "pid": home / "broker.pid",
    }


def _cluster_id(settings: LocalKafkaSettings) -> str:
    """A Kafka-style id (URL-safe base64 of a random UUID, not starting with '-'): one
    per cluster, every node formatted with it."""
    saved = settings.home.resolve() / "cluster.id"
    if saved.exists():
        return saved.read_text().strip()
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            break
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(text)
    return text


def _render_config(settings: LocalKafkaSettings, node: Node) -> Path:
    paths = _paths(node)
    nodes = cluster(settings)
    if len(nodes) == 1:
        quorum = f"controller.quorum.bootstrap.servers=127.0.0.1:{node.controller_port}"
    else:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
        quorum = f"controller.quorum.voters={voters}"
    template = Template((DEPLOY_DIR / "server.properties.template").read_text())
    text = template.substitute(
        node_id=node.node_id,
        quorum=quorum,
        port=node.port,
        controller_port=node.controller_port,
        data_dir=paths["data"],
        replication=min(len(nodes), 3),
        min_isr=2 if len(nodes) >= 3 else 1,
    )
    paths["config"].write_text(text)
    return paths["config"]


def _format_storage(settings: LocalKafkaSettings, node: Node, config: Path) -> None:
    if (_paths(node)["data"] / "meta.properties").exists():
        return
    single = ["--standalone"] if settings.nodes == 1 else []  # else: the static voters
    cmd = _java(
        settings,
        node,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        _cluster_id(settings),
        "-c",
        str(config),
        *single,
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


def _running_pid(node: Node) -> int | None:
    pid_file = _paths(node)["pid"]
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


def log_tail(settings: LocalKafkaSettings, lines: int = 40, node_id: int = 1) -> str:
    log = _paths(cluster(settings)[node_id - 1])["log"]
    if not log.exists():
        return "(no broker log yet)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _launch(settings: LocalKafkaSettings, node: Node) -> subprocess.Popen[bytes]:
    ensure_jars()
    paths = _paths(node)
    paths["data"].mkdir(parents=True, exist_ok=True)
    config = _render_config(settings, node)
    _format_storage(settings, node, config)
    with paths["log"].open("ab") as log:
        process = subprocess.Popen(
            _java(settings, node, "kafka.Kafka", str(config)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    paths["pid"].write_text(str(process.pid))
    return process


def start(settings: LocalKafkaSettings) -> StartResult:
    """Start every node (or reuse running ones) and wait until each answers metadata."""
    began = time.monotonic()
    nodes = cluster(settings)
    launched: dict[int, subprocess.Popen[bytes]] = {}
    for node in nodes:
        if not broker_answers(node.bootstrap) and _running_pid(node) is None:
            launched[node.node_id] = _launch(settings, node)
    waiting = list(nodes)
    while time.monotonic() < began + settings.start_timeout_s:
        for node in list(waiting):
            process = launched.get(node.node_id)
            exited = process.poll() is not None if process else _running_pid(node) is None
            if broker_answers(node.bootstrap, timeout_s=1.0):
                waiting.remove(node)
            elif exited:
                raise BrokerError(
                    f"Kafka exited during start-up; last lines of its log:\n"
                    f"{log_tail(settings, node_id=node.node_id)}"
                )
        if not waiting:
            pid = _running_pid(nodes[0])
            return StartResult(pid, not launched, time.monotonic() - began, settings.bootstrap)
        time.sleep(0.2)
    raise BrokerError(
        f"Kafka did not answer on {settings.bootstrap} within {settings.start_timeout_s:.0f} s; "
        f"last lines of its log:\n{log_tail(settings, node_id=waiting[0].node_id)}"
    )


def kill(settings: LocalKafkaSettings, node_id: int) -> bool:
    """kill -9 one node (a broker failure, for fault tests); True if it was running."""
    node = cluster(settings)[node_id - 1]
    pid = _running_pid(node)
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL)
    while _running_pid(node) is not None:
        time.sleep(0.05)
    _paths(node)["pid"].unlink(missing_ok=True)
    return True


def stop(settings: LocalKafkaSettings, timeout_s: float = 60.0) -> bool:
    """Stop the nodes this runner started; True if any was running."""
    stopped = False
    for node in cluster(settings):
        pid = _running_pid(node)
        if pid is None:
            continue
        stopped = True
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _running_pid(node) is not None:
            time.sleep(0.2)
        if _running_pid(node) is not None:
            os.kill(pid, signal.SIGKILL)
        _paths(node)["pid"].unlink(missing_ok=True)
    return stopped


def status(settings: LocalKafkaSettings) -> tuple[int | None, bool]:
    """(pid of our first node or None, whether anything answers on the ports)."""
    return _running_pid(cluster(settings)[0]), broker_answers(settings.bootstrap, timeout_s=5.0)
