"""A real Apache Kafka (KRaft) for development, tests and the demo, without Docker.

Jars come from Maven Central via ``deploy/kafka/pom.xml``; storage is formatted once;
each node runs in the background with its own log and pid file. ``start`` reuses a node
that already answers on its port. One node by default; ``nodes=3`` makes a three-node
cluster for fault tests (replication factor 3, ``min.insync.replicas=2``): node ``n``
listens on ``port + 10 (n - 1)`` and ``controller_port + 10 (n - 1)`` and keeps its data
under ``home/node-n``.

Secured by default: clients connect with SASL_SSL (SCRAM-SHA-512) and may do only what
their ACLs allow; the controller port takes only the node's own certificate. The CA, the
node certificate and a password per principal are made once under ``home/secrets``
(owner-only, see ``pki``). ``security=plaintext`` exists only to measure TLS's cost.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.settings import Settings
from streams.tools.platform import pki

DEPLOY_DIR = Path(__file__).resolve().parents[3] / "deploy" / "kafka"
BUILT_IN = ("admin", "broker")  # tooling (a super user) and node-to-node traffic


class LocalKafkaSettings(BaseSettings):
    """``FRONTDOOR_KAFKA_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_KAFKA_")

    port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int = Field(default=9093, ge=1, le=65535)
    home: Path = Field(default=Path(".local/kafka"), description="data, log and pid file")
    heap: str = "1g"
    nodes: int = Field(default=1, ge=1, le=5)
    start_timeout_s: float = 90.0
    security: Literal["sasl_ssl", "plaintext"] = Field(
        default="sasl_ssl", description="plaintext only to measure what security costs"
    )
    # Measured here (2 cores): a node started with the client compiler only takes 6 CPU
    # seconds to be ready instead of 10-12, and serves an idle worker's fetches with 3.1
    # CPU seconds in 30 instead of 3.6. The tests start many short-lived nodes.
    jit: Literal["full", "quick"] = Field(
        default="full",
        description="quick: the JVM's client compiler only (-XX:TieredStopAtLevel=1), for "
        "short-lived nodes (make test)",
    )

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in cluster(self))

    @property
    def secured(self) -> bool:
        return self.security == "sasl_ssl"

    @property
    def secrets(self) -> pki.Secrets:
        return pki.Secrets(self.home.resolve() / "secrets")

    def client_environment(self, principal: str = "admin") -> dict[str, str]:
        """``FRONTDOOR_*`` settings that connect as ``principal`` (see ``credentials``)."""
        values = {"FRONTDOOR_BROKER_URL": ",".join(f"kafka://{n.bootstrap}" for n in cluster(self))}
        if not self.secured:
            return values | {"FRONTDOOR_SECURITY_PROTOCOL": "PLAINTEXT"}
        password_file = self.secrets.password_file(principal)
        if not password_file.exists():
            raise BrokerError(f"no principal {principal!r} on the local broker")
        return values | {
            "FRONTDOOR_SECURITY_PROTOCOL": "SASL_SSL",
            "FRONTDOOR_SASL_MECHANISM": "SCRAM-SHA-512",
            "FRONTDOOR_SASL_USERNAME": principal,
            "FRONTDOOR_SASL_PASSWORD_FILE": str(password_file),
            "FRONTDOOR_SSL_CAFILE": str(self.secrets.ca_file),
        }


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
        *(["-XX:TieredStopAtLevel=1"] if settings.jit == "quick" else []),
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


def _security(settings: LocalKafkaSettings) -> str:
    if not settings.secured:
        return (DEPLOY_DIR / "plaintext.properties.template").read_text()
    store = settings.secrets
    return Template((DEPLOY_DIR / "security.properties.template").read_text()).substitute(
        broker_password=store.password("broker"),
        node_pem=store.node_file,
        ca_pem=store.ca_file,
        node_principal=pki.NODE_PRINCIPAL,
    )


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
        security=_security(settings),
    )
    pki.write_private(paths["config"], text.encode())
    return paths["config"]


def _format_storage(settings: LocalKafkaSettings, node: Node, config: Path) -> None:
    data = _paths(node)["data"]
    marker = node.home.resolve() / "security"  # how the storage was formatted
    if (data / "meta.properties").exists():
        made = marker.read_text().strip() if marker.exists() else "plaintext"
        if made == settings.security:
            return
        # Formatted for the other mode (e.g. before the local broker was secured): its
        # metadata has no SCRAM users, so it cannot start secured. Local data only.
        print(
            f"local Kafka data in {data} was made {made}; formatting it again "
            f"{settings.security} (its topics are dropped)",
            file=sys.stderr,
            flush=True,
        )
        shutil.rmtree(data)
        data.mkdir(parents=True)
    single = ["--standalone"] if settings.nodes == 1 else []  # else: the static voters
    scram: list[str] = []
    if settings.secured:  # the two built-in users, in the first metadata (parties: start)
        for principal in BUILT_IN:
            password = settings.secrets.password(principal)
            scram += ["--add-scram", f"SCRAM-SHA-512=[name={principal},password={password}]"]
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
        *scram,
    )
    # The arguments go through a java @-file (owner-only, removed at once) so that no
    # password is ever on a command line another user could read in `ps`.
    argfile = node.home.resolve() / "format.args"
    pki.write_private(argfile, "\n".join(_quote_arg(a) for a in cmd[1:]).encode())
    try:
        done = subprocess.run(["java", f"@{argfile}"], capture_output=True, text=True)
    finally:
        argfile.unlink(missing_ok=True)
    if done.returncode != 0:
        raise BrokerError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")
    marker.write_text(settings.security)


def _quote_arg(arg: str) -> str:
    """One argument as a java @-file line (quoted: passwords may hold any URL-safe char)."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def _answers_metadata(options: dict[str, Any], timeout_s: float) -> bool:
    from aiokafka import AIOKafkaClient  # local: keeps `frontdoor kafka status` light

    client = AIOKafkaClient(
        **options,
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


def broker_answers(
    settings: LocalKafkaSettings, timeout_s: float = 2.0, node: Node | None = None
) -> bool:
    """True when the local broker (or one ``node`` of it) answers a metadata request from
    the admin principal."""
    if settings.secured and not settings.secrets.password_file("admin").exists():
        return False  # never started: no credentials made yet
    options = client_settings(settings, "admin").aiokafka_options()
    if node is not None:
        options["bootstrap_servers"] = node.bootstrap
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # a refused connection is an answer here, not an error
    try:
        return asyncio.run(_answers_metadata(options, timeout_s))
    finally:
        quiet.setLevel(level)


def acting_as(settings: Settings, principal: str) -> Settings:
    """Local-broker ``settings`` (namespace, ports, ...) connecting as another principal:
    the same broker's password file for ``principal``."""
    if settings.sasl_password_file is None:
        return settings  # a plaintext broker: no principals
    password_file = settings.sasl_password_file.parent / principal
    if not password_file.exists():
        raise BrokerError(f"no principal {principal!r} on the local broker")
    return settings.model_copy(
        update={
            "sasl_username": principal,
            "sasl_password": None,
            "sasl_password_file": password_file,
        }
    )


def client_settings(settings: LocalKafkaSettings, principal: str, **changes: Any) -> Settings:
    """Worker/CLI settings that connect to the local broker as ``principal``."""
    fields = {
        name.removeprefix("FRONTDOOR_").lower(): value
        for name, value in settings.client_environment(principal).items()
    }
    return Settings.model_validate(fields | changes)


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
    for private in (settings.home.resolve(), paths["home"]):  # data, config, log: owner-only
        private.mkdir(parents=True, exist_ok=True)
        os.chmod(private, 0o700)
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


def principals_with(parties: Sequence[str]) -> list[str]:
    """Every SCRAM user the local broker holds: its own two and the parties'."""
    return sorted({*BUILT_IN, *parties})


def start(settings: LocalKafkaSettings, parties: Sequence[str] = ()) -> StartResult:
    """Start every node (or reuse running ones) and wait until each answers metadata.

    ``parties``: principals that must be able to log in (a password made once each, their
    SCRAM credentials given to the broker at every start)."""
    began = time.monotonic()
    nodes = cluster(settings)
    principals = principals_with(parties)
    if settings.secured:
        pki.ensure(settings.secrets.root, principals)
    launched: dict[int, subprocess.Popen[bytes]] = {}
    for node in nodes:
        if not broker_answers(settings, node=node) and _running_pid(node) is None:
            _port_is_free(settings, node)
            launched[node.node_id] = _launch(settings, node)
    waiting = list(nodes)
    while time.monotonic() < began + settings.start_timeout_s:
        for node in list(waiting):
            process = launched.get(node.node_id)
            exited = process.poll() is not None if process else _running_pid(node) is None
            if broker_answers(settings, timeout_s=1.0, node=node):
                waiting.remove(node)
            elif exited:
                raise BrokerError(
                    f"Kafka exited during start-up; last lines of its log:\n"
                    f"{log_tail(settings, node_id=node.node_id)}"
                )
        if not waiting:
            if settings.secured:
                asyncio.run(_register(settings, principals))
            pid = _running_pid(nodes[0])
            return StartResult(pid, not launched, time.monotonic() - began, settings.bootstrap)
        time.sleep(0.2)
    raise BrokerError(
        f"Kafka did not answer on {settings.bootstrap} within {settings.start_timeout_s:.0f} s; "
        f"last lines of its log:\n{log_tail(settings, node_id=waiting[0].node_id)}"
    )


def _port_is_free(settings: LocalKafkaSettings, node: Node) -> None:
    """Something not ours on the port (another checkout's broker, with other secrets)
    would make our broker fail to bind; say so, and why we could not use it."""
    import socket

    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", node.port)) != 0:
            return
    from streams.connection import diagnose

    why = diagnose(
        client_settings(settings, "admin").model_copy(
            update={"broker_url": f"kafka://{node.bootstrap}"}
        )
    )
    raise BrokerError(
        f"{node.bootstrap} is taken by a process that is not this broker ({why}); stop it "
        "or set FRONTDOOR_KAFKA_PORT / FRONTDOOR_KAFKA_HOME"
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
    return _running_pid(cluster(settings)[0]), broker_answers(settings, timeout_s=5.0)


@contextlib.contextmanager
def paused(settings: LocalKafkaSettings) -> Iterator[None]:
    """Our first node stopped (SIGSTOP) while inside: connections stay open and nothing
    is answered, as with a broker stalled by a long GC pause or a frozen VM; resumed
    (SIGCONT) on the way out, whatever happened inside."""
    pid = _running_pid(cluster(settings)[0])
    if pid is None:
        raise BrokerError(f"no broker of ours is running on {settings.bootstrap}")
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


# --- SCRAM users added after format (a principal new to the policy) ----------------------

SCRAM_SHA_512 = 2  # the mechanism's id in AlterUserScramCredentials
SCRAM_ITERATIONS = 8192


def _scram_request(users: dict[str, str]) -> Any:
    """AlterUserScramCredentials v0 (KIP-554), which aiokafka does not define: the client
    salts and hashes each password, so only the salted hash crosses the wire."""
    from aiokafka.protocol.api import Request, RequestStruct, Response
    from aiokafka.protocol.types import (
        CompactArray,
        CompactBytes,
        CompactString,
        Int8,
        Int16,
        Int32,
        Schema,
        TaggedFields,
    )

    class AlterScramResponse(Response):  # type: ignore[misc]  # aiokafka is untyped
        API_KEY = 51
        API_VERSION = 0
        SCHEMA = Schema(
            ("throttle_time_ms", Int32),
            (
                "results",
                CompactArray(
                    ("user", CompactString("utf-8")),
                    ("error_code", Int16),
                    ("error_message", CompactString("utf-8")),
                    ("tags", TaggedFields),
                ),
            ),
            ("tags", TaggedFields),
        )

    class AlterScramStruct(RequestStruct):  # type: ignore[misc]  # aiokafka is untyped
        FLEXIBLE_VERSION = True
        API_KEY = 51
        API_VERSION = 0
        RESPONSE_TYPE = AlterScramResponse
        SCHEMA = Schema(
            (
                "deletions",
                CompactArray(
                    ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
                ),
            ),
            (
                "upsertions",
                CompactArray(
                    ("name", CompactString("utf-8")),
                    ("mechanism", Int8),
                    ("iterations", Int32),
                    ("salt", CompactBytes),
                    ("salted_password", CompactBytes),
                    ("tags", TaggedFields),
                ),
            ),
            ("tags", TaggedFields),
        )

    class AlterScram(Request[AlterScramStruct]):  # type: ignore[misc]  # aiokafka is untyped
        API_KEY = 51

        def build(self, request_struct_class: type[AlterScramStruct]) -> Any:
            upserts: list[tuple[Any, ...]] = []
            for name, password in sorted(users.items()):
                salt = os.urandom(32)
                salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
                upserts.append((name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted, {}))
            return request_struct_class([], upserts, {})

    return AlterScram()


async def _register(settings: LocalKafkaSettings, principals: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    users = {p: settings.secrets.password(p) for p in principals if p not in BUILT_IN}
    if not users:
        return
    admin = AIOKafkaAdminClient(**client_settings(settings, "admin").aiokafka_options())
    await admin.start()
    try:
        response = await admin._send_to_controller(_scram_request(users))  # no public call
    finally:
        await admin.close()
    failed = sorted(user for user, code, *_ in response.results if code)
    if failed:
        raise BrokerError(f"could not register SCRAM users: {', '.join(failed)}")
