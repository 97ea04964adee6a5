"""The local platform the demo, the tests and the benchmarks run on: a real Kafka broker
from Maven Central jars, secured as a deployment is (``localkafka``), its certificates
and passwords (``pki``), a real identity provider (``idp``: Keycloak, also from Maven
Central), and frontdoor's own services as child processes (``worker_process``,
``gateway_process``, ``console_process``)."""

from streams.tools.platform import (
    console_process,
    gateway_process,
    idp,
    localkafka,
    pki,
    worker_process,
)

__all__ = [
    "console_process",
    "gateway_process",
    "idp",
    "localkafka",
    "pki",
    "worker_process",
]
