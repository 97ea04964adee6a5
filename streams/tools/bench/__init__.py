"""Benchmarks run by hand or `make bench`: measured figures, printed with units.

- ``pipeline``: the worker on the real local broker (throughput, latency), beside a naive
  faust passthrough (the program ``python -m streams.tools.bench.passthrough_app``);
- ``gateway``: the HTTPS gateway beside the direct Kafka path;
- ``matching``: the matcher at a council's and a national hub's size.
"""

from streams.tools.bench import gateway, matching, pipeline

__all__ = ["gateway", "matching", "pipeline"]
