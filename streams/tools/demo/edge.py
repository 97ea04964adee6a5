"""The demo's HTTPS side: a real `frontdoor gateway` beside the worker, the forces
publishing half their incidents through it, the council's front door acknowledging over
HTTPS and receiving its notifications by webhook (a local receiver that verifies every
signature and refuses the first push, to show a retry)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from streams.edge import verify
from streams.settings import Settings
from streams.tools.platform.gateway_process import start_gateway
from streams.tools.platform.localkafka import LocalKafkaSettings


@dataclass
class WebhookReceiver:
    """A front door's case system, as far as webhooks go."""

    secret: str = ""
    refuse_first: int = 1
    counts: Counter[str] = field(default_factory=Counter)
    ids: set[str] = field(default_factory=set)

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.refuse_first > 0:
                    receiver.refuse_first -= 1
                    receiver.counts["refused (503)"] += 1
                    self.send_response(503)
                elif verify(receiver.secret, headers, body, time.time()):
                    receiver.counts["received, signature verified"] += 1
                    if headers["webhook-id"] in receiver.ids:
                        receiver.counts["  of which repeats (dropped by webhook-id)"] += 1
                    receiver.ids.add(headers["webhook-id"])
                    self.send_response(204)
                else:
                    receiver.counts["signature NOT verified"] += 1
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/frontdoor"

    def stop(self) -> None:
        self._server.shutdown()


class DemoEdge:
    def __init__(
        self,
        kafka: LocalKafkaSettings,
        settings: Settings,
        forces: set[str],
        front_door: str,
        home: Path,
    ) -> None:
        (home / "keys.json").unlink(missing_ok=True)  # this run's keys only
        wanted: dict[str, tuple[str, str | None]] = {f: (f"police-{f}", None) for f in forces}
        wanted["front_door"] = ("agency-social_care", front_door)
        self.process, self._keys = start_gateway(
            kafka,
            settings,
            home,
            wanted,
            forces,
            webhook_allow_http="true",
            webhook_first_retry_s="0.5",
        )
        self.front_door = front_door
        self.receiver = WebhookReceiver()
        self.counts: Counter[str] = Counter()
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self.process.wait_ready(60)
        url = self.receiver.start()
        status, body = self.process.request(
            "PUT", "/v1/webhook", self._keys["front_door"], {"url": url}
        )
        if status != 200:
            raise RuntimeError(f"the front door's webhook was not registered ({status})")
        self.receiver.secret = body["secret"]

    async def open(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.process.base_url, verify=self.process.ssl_context(), timeout=30
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def publish(self, force: str, value: bytes) -> int:
        assert self._client is not None
        answer = await self._client.post(
            "/v1/incidents",
            content=value,
            headers={
                "authorization": f"Bearer {self._keys[force]}",
                "content-type": "application/json",
            },
        )
        self.counts[f"incidents POSTed: {answer.status_code}"] += 1
        return answer.status_code

    async def acknowledge(self, notification_id: str) -> int:
        assert self._client is not None
        answer = await self._client.post(
            f"/v1/notifications/{notification_id}/acknowledgement",
            json={"status": "received"},
            headers={"authorization": f"Bearer {self._keys['front_door']}"},
        )
        if answer.status_code != 404:  # 404: not yet followed; the demo asks again later
            self.counts[f"front door acknowledgements POSTed: {answer.status_code}"] += 1
        return answer.status_code

    def open_for_front_door(self) -> int:
        status, body = self.process.request(
            "GET", "/v1/notifications?status=open&limit=200", self._keys["front_door"]
        )
        return len(body["items"]) if status == 200 else -1

    def stop(self) -> tuple[int, str]:
        metrics = self.process.text("/metrics")
        self.receiver.stop()
        return self.process.stop(), metrics
