"""The gateway's producer: idempotent, ``acks=all``, so a request is answered ``202`` only
once the broker has the event on every in-sync replica."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from streams.settings import Settings


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self._producer = AIOKafkaProducer(
            **settings.aiokafka_options(),
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=30_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, topic: str, key: str, value: bytes | None) -> None:
        await self._producer.send_and_wait(topic, value=value, key=key.encode())
