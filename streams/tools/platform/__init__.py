"""The local platform the demo, the tests and the benchmarks run on: a real Kafka broker
from Maven Central jars, secured as a deployment is (``localkafka``), its certificates
and passwords (``pki``), and frontdoor's own services as child processes
(``worker_process``, ``gateway_process``)."""

from streams.tools.platform import gateway_process, localkafka, pki, worker_process

__all__ = ["gateway_process", "localkafka", "pki", "worker_process"]
