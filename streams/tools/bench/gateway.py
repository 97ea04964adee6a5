"""`frontdoor bench gateway` (in `make bench`): what the HTTPS edge costs a publisher.

In one run on the real local broker, with the same incidents: POST /v1/incidents to a
real `frontdoor gateway` (HTTPS, API key, the full validator, acks=all before 202), and
the direct Kafka path (an aiokafka producer as the force, acks=all, idempotent), each
at a fixed offered load (open loop: latency runs from when a request was due, so a
stalled server is not hidden by the client waiting), then the gateway at saturation
(closed loop, a fixed number of clients). The load generator shares the machine with the
gateway and the broker; the figures are therefore a floor.
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaProducer

from schemas import PoliceIncident
from streams import access, topics
from streams.incidents import Origin, validate
from streams.operations import acl
from streams.routing import load_policy
from streams.settings import Settings
from streams.tools.bench.pipeline import WORK, Figure, cpu_s, logging_quiet
from streams.tools.platform import localkafka
from streams.tools.platform.gateway_process import start_gateway
from streams.tools.synthetic import DEMO_DAY, IncidentStream, council, incidents


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _open_loop(
    send: Callable[[int], Awaitable[bool]], rate: float, count: int
) -> tuple[list[float], int, float]:
    """Offer ``count`` requests at ``rate``/s; latency (s) of each from when it was due."""
    latencies: list[float] = []
    failed = 0
    started = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal failed
        due = started + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        ok = await send(i)
        if ok:
            latencies.append(time.perf_counter() - due)
        else:
            failed += 1

    await asyncio.gather(*(one(i) for i in range(count)))
    return latencies, failed, time.perf_counter() - started


async def _closed_loop(
    send: Callable[[int], Awaitable[bool]], clients: int, count: int
) -> tuple[int, int, float]:
    done = failed = 0
    started = time.perf_counter()
    numbers = iter(range(count))

    async def client() -> None:
        nonlocal done, failed
        for i in numbers:
            if await send(i):
                done += 1
            else:
                failed += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return done, failed, time.perf_counter() - started


def run(rate: float = 100.0, seconds: float = 30.0, clients: int = 32) -> int:
    logging_quiet()
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka, access.parties(load_policy(None)))
    forces = set(load_policy(None).signals.police_sources)
    run_id = uuid.uuid4().hex[:8]
    settings = localkafka.client_settings(
        kafka, "admin", topic_prefix=f"bench.gw{run_id}.", app_id=f"frontdoor-bench-gw{run_id}"
    )
    acl.provision(settings)
    count = int(rate * seconds)
    saturation = max(2000, count)
    events = _incidents(2 * count + saturation)
    print(
        f"gateway benchmark on the local broker {kafka.bootstrap}, {kafka.security.upper()}: "
        f"{count} incidents at {rate:.0f}/s each way, then {saturation} with {clients} clients",
        flush=True,
    )
    gateway, keys = start_gateway(
        kafka,
        settings,
        WORK / f"gateway-{run_id}",
        {f: (f"police-{f}", None) for f in forces},
        forces,
        rate_per_second="1000000",
        rate_burst="1000000",
    )
    try:
        gateway.wait_ready(60)
        load = Load(events, rate, count, clients, saturation)
        figures = asyncio.run(
            _measure(
                settings, gateway.base_url, gateway.ssl_context(), keys, load, gateway.process.pid
            )
        )
    finally:
        gateway.stop()
        if not broker.reused:
            localkafka.stop(kafka)
    print()
    width = max(len(f.name) for f in figures)
    for f in figures:
        value = f"{f.value:,.2f}" if f.value < 100 else f"{f.value:,.0f}"
        print(f"  {f.name:<{width}}  {value:>10} {f.unit:<6} {f.note}")
    return 0


def _incidents(count: int) -> list[tuple[str, bytes]]:
    day = incidents(IncidentStream(seed=11, invalid_rate=0.0), count, council(11, 2000))
    made = []
    for _, value in day.events:
        checked = validate(PoliceIncident, value, Origin("bench"), DEMO_DAY)
        if isinstance(checked, PoliceIncident):
            made.append((checked.source, value))
    return made


@dataclass(frozen=True)
class Load:
    """What is offered: ``count`` incidents at ``rate``/s through the gateway and again
    straight to Kafka, and ``saturation`` more from ``clients`` clients as fast as they go."""

    events: list[tuple[str, bytes]]
    rate: float
    count: int
    clients: int
    saturation: int


@dataclass(frozen=True)
class Timed:
    """Latencies (s) of what succeeded, how many failed, and the seconds it all took."""

    latencies: list[float]
    failed: int
    took: float


@dataclass(frozen=True)
class Saturated:
    done: int
    failed: int
    took: float
    cpu_per_request_s: float


async def _measure(
    settings: Settings,
    base_url: str,
    context: ssl.SSLContext,
    keys: dict[str, str],
    load: Load,
    gateway_pid: int,
) -> list[Figure]:
    """The gateway at a fixed load and at saturation, then the direct Kafka path."""
    via_gateway, saturated = await _through_gateway(base_url, context, keys, load, gateway_pid)
    direct = await _straight_to_kafka(settings, load)
    return _figures(load, via_gateway, saturated, direct)


async def _through_gateway(
    base_url: str, context: ssl.SSLContext, keys: dict[str, str], load: Load, gateway_pid: int
) -> tuple[Timed, Saturated]:
    limits = httpx.Limits(max_connections=load.clients, max_keepalive_connections=load.clients)
    async with httpx.AsyncClient(
        base_url=base_url, verify=context, limits=limits, timeout=60
    ) as http:

        def post(offset: int) -> Callable[[int], Awaitable[bool]]:
            async def send(i: int) -> bool:
                force, value = load.events[offset + i]
                answer = await http.post(
                    "/v1/incidents",
                    content=value,
                    headers={
                        "authorization": f"Bearer {keys[force]}",
                        "content-type": "application/json",
                    },
                )
                return answer.status_code == 202

            return send

        await post(0)(0)  # a warm connection, as a publisher keeps
        timed = Timed(*await _open_loop(post(1), load.rate, load.count - 1))
        cpu_before = cpu_s(gateway_pid)
        done, failed, took = await _closed_loop(post(load.count), load.clients, load.saturation)
        cpu = (cpu_s(gateway_pid) - cpu_before) / max(done, 1)
    return timed, Saturated(done, failed, took, cpu)


async def _straight_to_kafka(settings: Settings, load: Load) -> Timed:
    """The same incidents at the same rate, each force its own aiokafka producer."""
    producers: dict[str, AIOKafkaProducer] = {}
    try:
        for force in sorted({f for f, _ in load.events}):
            own = localkafka.acting_as(settings, f"police-{force}")
            producers[force] = AIOKafkaProducer(
                **own.aiokafka_options(), acks="all", enable_idempotence=True
            )
            await producers[force].start()

        async def produce(i: int) -> bool:
            force, value = load.events[load.count + load.saturation + i]
            topic = topics.topic_name(topics.force_incidents(force), settings)
            await producers[force].send_and_wait(topic, value)
            return True

        return Timed(*await _open_loop(produce, load.rate, load.count))
    finally:
        for producer in producers.values():
            await producer.stop()


def _figures(load: Load, gateway: Timed, saturated: Saturated, direct: Timed) -> list[Figure]:
    ms = 1000
    cpu = saturated.cpu_per_request_s
    return [
        Figure(
            "offered load (each way)",
            load.rate,
            "req/s",
            f"{seconds_of(load.count, load.rate):.0f} s, open loop",
        ),
        Figure(
            "gateway: answered 202",
            len(gateway.latencies) / gateway.took,
            "req/s",
            f"{gateway.failed} failed",
        ),
        Figure(
            "gateway: p50 to 202",
            statistics.median(gateway.latencies) * ms,
            "ms",
            "HTTPS, key, validation, acks=all",
        ),
        Figure("gateway: p99 to 202", _percentile(gateway.latencies, 0.99) * ms, "ms"),
        Figure(
            "direct Kafka: acknowledged",
            len(direct.latencies) / direct.took,
            "msg/s",
            f"{direct.failed} failed",
        ),
        Figure(
            "direct Kafka: p50 to ack",
            statistics.median(direct.latencies) * ms,
            "ms",
            "aiokafka, acks=all, idempotent",
        ),
        Figure("direct Kafka: p99 to ack", _percentile(direct.latencies, 0.99) * ms, "ms"),
        Figure(
            "gateway at saturation",
            saturated.done / saturated.took,
            "req/s",
            f"{load.clients} clients, {saturated.done} answered 202, {saturated.failed} not",
        ),
        Figure(
            "gateway CPU per request",
            cpu * ms,
            "ms",
            f"at saturation; one core's worth: {1 / max(cpu, 1e-9):,.0f} req/s",
        ),
    ]


def seconds_of(count: int, rate: float) -> float:
    return count / rate
