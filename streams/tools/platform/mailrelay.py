"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the demo and the tests: the console's
mail relay. It keeps every message it accepts (in memory, and as ``.eml`` files in
``spool`` when given) so that what was sent can be read back and checked; an address at
``bounce.invalid`` is refused for good (550), as a mailbox that does not exist is."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

BOUNCES = "@bounce.invalid"


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def text(self) -> str:
        """Subject and body as a reader sees them."""
        body = self.message.get_body(preferencelist=("plain",))
        content = body.get_content() if body is not None else ""
        return f"{str(self.message['Subject']).strip()}\n{content}"


@dataclass
class _Handler:
    spool: Path | None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower().endswith(BOUNCES):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
            number = len(self.received)
        if self.spool is not None:
            self.spool.mkdir(parents=True, exist_ok=True)
            (self.spool / f"{number:05d}.eml").write_bytes(raw)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class MailRelay:
    """``start()`` / ``stop()``; ``received`` is every message taken so far."""

    def __init__(self, port: int | None = None, spool: Path | None = None) -> None:
        self.port = port or free_port()
        self._handler = _Handler(spool)
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    def start(self) -> MailRelay:
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailRelay:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
