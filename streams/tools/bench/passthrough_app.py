"""The naive faust passthrough for `frontdoor bench pipeline`: an agent that awaits one
send per event and does nothing else. Run as `python -m streams.tools.bench.passthrough_app`."""

from __future__ import annotations

import os

import faust

from streams.settings import Settings
from streams.worker import broker_credentials

settings = Settings()  # FRONTDOOR_*: the benchmark's broker and principal
app = faust.App(
    os.environ["BENCH_APP_ID"],
    broker=settings.broker_url,
    broker_credentials=broker_credentials(settings),
    topic_replication_factor=1,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    autodiscover=False,
)


def raw_topic(name: str) -> faust.TopicT:
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


source = raw_topic(os.environ["BENCH_SOURCE"])
sink = raw_topic(os.environ["BENCH_SINK"])


@app.agent(source, concurrency=1)
async def passthrough(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        await sink.send(key=event.key, value=event.value)


if __name__ == "__main__":
    faust.Worker(app, loglevel="warning").execute_from_commandline()
