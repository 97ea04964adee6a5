"""A gateway in-process for tests: fake publisher, real everything else."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from schemas import Notification
from streams.access import Permissions
from streams.edge import (
    Credentials,
    EdgeMetrics,
    Gateway,
    Inbox,
    RateLimiter,
    Registrations,
    Replies,
    add_key,
)
from streams.routing import load_policy
from streams.settings import Settings
from tests.factories import example

# Who holds a key, and for which organisation.
PARTIES = {
    "force": ("police-MPS", None),
    "other_force": ("police-BTP", None),
    "council": ("council-records", "E09000030"),
    "school": ("agency-school", "urn:100000"),
    "other_school": ("agency-school", "urn:200000"),
    "health": ("agency-health", "E09000030:health-visiting"),
    "front_door": ("agency-social_care", "E09000030:front-door"),
}


@dataclass
class FakePublisher:
    """The broker as the gateway sees it: ``sent`` what it has acknowledged; ``failing``
    refuses every send; ``hold`` takes sends without acknowledging them until
    ``release`` (a paused broker: the records wait in the producer's buffer)."""

    sent: list[tuple[str, str, bytes | None]] = field(default_factory=list)
    failing: bool = False
    attempts: int = 0
    _gate: asyncio.Event | None = None

    async def send(self, topic: str, key: str, value: bytes | None) -> None:
        self.attempts += 1
        if self.failing:
            from aiokafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError()
        if self._gate is not None:
            await self._gate.wait()
        self.sent.append((topic, key, value))

    def hold(self) -> None:
        self._gate = asyncio.Event()

    def release(self) -> None:
        assert self._gate is not None
        self._gate.set()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def notification(
    number: int, organisation: str, deadline: str, agency: str = "school"
) -> Notification:
    data = example("notification")
    data["notification_id"] = f"ntf-00000000-0000-0000-0000-{number:012d}"
    data["event_id"] = f"ntf-evt-{number}"
    data["recipient"] = {"agency": agency, "organisation": organisation}
    data["deadline"] = deadline
    return Notification.model_validate(data)


def build(
    tmp_path: Path, rate: float = 1000.0, burst: int = 1000
) -> tuple[Gateway, dict[str, str], FakePublisher]:
    policy = load_policy(None)
    forces = set(policy.signals.police_sources)
    keys_file = tmp_path / "keys.json"
    keys = {
        name: add_key(keys_file, principal, organisation, name, forces)
        for name, (principal, organisation) in PARTIES.items()
    }
    settings = Settings(topic_prefix="t.")
    publisher = FakePublisher()
    clock = Clock()
    from datetime import UTC, datetime

    gw = Gateway(
        settings=settings,
        permissions=Permissions(policy, settings),
        credentials=Credentials.load(keys_file, forces),
        publisher=publisher,
        inbox=Inbox(),
        registrations=Registrations(),
        replies=Replies(clock),
        limiter=RateLimiter(rate, burst, clock),
        metrics=EdgeMetrics(),
        clock=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        gateway_key=b"k" * 32,
        ready=lambda: True,
        publish_timeout_s=2.0,
        allow_http_webhooks=True,
    )
    assert json.loads(keys_file.read_text())[0]["key_sha256"]  # hashes only on disk
    return gw, keys, publisher


class Receiver:
    """Answers each POST with the next planned behaviour: a status, or 'hang' (no answer
    within the sender's timeout); then 200 for ever."""

    def __init__(self, plan: list[int | str]) -> None:
        self.plan = list(plan)
        self.received: list[tuple[dict[str, str], bytes, float]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(
                    ({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                )
                step = receiver.plan.pop(0) if receiver.plan else 200
                if step == "hang":
                    time.sleep(0.6)
                    step = 200  # too late: the sender has given up on this attempt
                self.send_response(int(step))
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
