"""Benchmarks run by hand or `make bench`: measured figures, printed with units.

- ``pipeline``: the worker on the real local broker (throughput, latency), beside a naive
  faust passthrough (the program ``python -m streams.tools.bench.passthrough_app``);
- ``gateway``: the HTTPS gateway beside the direct Kafka path;
- ``matching``: the matcher at a council's and a national hub's size;
- ``console``: the review console's pages with 10,000 open reviews.
"""

from streams.tools.bench import console, gateway, matching, pipeline

__all__ = ["console", "gateway", "matching", "pipeline"]
