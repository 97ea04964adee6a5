"""Tools around the worker, for people and CI, one module each: the demo, synthetic
data, benchmarks, the contracts, dashboards and docs generators, the local Kafka runner,
topic I/O, a worker as a child process, and the matcher's model estimation.

The tools are commands (``frontdoor demo``, ``frontdoor bench``, ...); their public face
is these modules.
"""

from streams.tools import (
    bench,
    contracts,
    dashboards,
    demo,
    docs,
    estimation,
    generated,
    localkafka,
    synthetic,
    verify,
    worker_process,
)

__all__ = [
    "bench",
    "contracts",
    "dashboards",
    "demo",
    "docs",
    "estimation",
    "generated",
    "localkafka",
    "synthetic",
    "verify",
    "worker_process",
]
