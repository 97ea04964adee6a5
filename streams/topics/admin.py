"""Topic admin: declare frontdoor's topics on the broker, wait for them, remove a
run's topics (demo, benchmarks), and ask what partitions a topic has."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from streams.routing import load_policy
from streams.settings import Settings
from streams.topics.catalogue import SERVICE_OWN, TopicSpec, for_forces, topic_name

_TOPIC_ALREADY_EXISTS = 36


def declared(settings: Settings) -> tuple[TopicSpec, ...]:
    """The deployment's topics: the fixed ones and one per force of its policy."""
    return for_forces(load_policy(settings.policy_file).signals.police_sources)


async def _create_all(settings: Settings, worker_only: bool) -> dict[str, bool]:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    every = declared(settings)
    if worker_only:  # the gateway's and the console's own are not the worker's to make
        every = tuple(s for s in every if s not in SERVICE_OWN)
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=topic_name(spec, settings),
                num_partitions=spec.partitions or settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=spec.config,
            )
            for spec in every
            if topic_name(spec, settings) not in existing
        ]
        made = set()
        if wanted:
            response = await admin.create_topics(wanted)
            for name, code, *rest in response.topic_errors:
                if code == 0:
                    made.add(name)
                elif code != _TOPIC_ALREADY_EXISTS:  # created meanwhile by another process
                    detail = rest[0] if rest and rest[0] else f"error code {code}"
                    raise RuntimeError(f"could not create topic {name}: {detail}")
            await wait_for_leaders(admin, sorted(made))
        await _check_partitions(admin, settings, every)
        return {topic_name(s, settings): topic_name(s, settings) in made for s in every}
    finally:
        await admin.close()


async def _check_partitions(admin: Any, settings: Settings, every: tuple[TopicSpec, ...]) -> None:
    """Every topic must have the partitions the worker hashes keys over: internal batches
    and table changelogs go to ``partition_of(key, partitions)``, and acknowledgements
    meet their deadlines only when co-partitioned. A mismatch would fail every delivery."""
    expected = {topic_name(s, settings): s.partitions or settings.partitions for s in every}
    described = await admin.describe_topics(list(expected))
    wrong = [
        f"{t['topic']} has {len(t['partitions'])}, expected {expected[t['topic']]}"
        for t in described
        if t["error_code"] == 0 and len(t["partitions"]) != expected[t["topic"]]
    ]
    if wrong:
        raise RuntimeError(
            "topics do not have FRONTDOOR_PARTITIONS partitions: " + "; ".join(sorted(wrong))
        )


async def wait_for_leaders(admin: Any, names: list[str], timeout_s: float = 30) -> None:
    """New topics are usable once every partition has a leader; producing earlier only
    earns retries and warnings."""
    deadline = time.monotonic() + timeout_s
    while names and time.monotonic() < deadline:
        described = await admin.describe_topics(names)
        if all(
            t["error_code"] == 0
            and t["partitions"]
            and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.1)
    if names:
        raise RuntimeError(f"topics without a leader after {timeout_s:.0f} s: {names}")


async def partitions_of(consumer: Any, name: str) -> list[int]:
    """The partitions ``name`` has, from a started aiokafka consumer; fails naming the
    topic when it does not exist."""
    cluster = await consumer._client.fetch_all_metadata()  # no public call returns it
    found = cluster.partitions_for_topic(name)
    if not found:
        raise RuntimeError(f"topic {name} does not exist; run `frontdoor topics create`")
    return sorted(found)


def create_all(settings: Settings, worker_only: bool = False) -> dict[str, bool]:
    """Create every missing topic; existing ones are left as they are. Name -> created?"""
    return asyncio.run(_create_all(settings, worker_only))


async def _delete_prefixed(settings: Settings, prefixes: tuple[str, ...]) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()


def delete_prefixed(settings: Settings, prefixes: tuple[str, ...]) -> list[str]:
    """Delete every topic whose name starts with one of ``prefixes`` (a finished run's:
    its topic prefix, and its app id, which names faust's own topics)."""
    if not prefixes or not all(prefixes):
        raise ValueError("refusing to delete topics without a prefix")
    return asyncio.run(_delete_prefixed(settings, prefixes))
