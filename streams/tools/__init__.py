"""For developers, demos and CI, grouped by who uses them:

- ``platform``: the local platform (Kafka, PKI, worker and gateway processes);
- ``demo``: ``make demo``, a day of frontdoor on that platform;
- ``synthetic``: invented councils, incidents and matching cases (no real person);
- ``estimation``: the matcher's model estimated from synthetic data;
- ``bench``: ``make bench`` and ``make bench-matching``;
- ``generators``: the committed files made from code (contracts, dashboards, docs).

Commands an operator runs against a deployment are product: ``streams.operations``.
Topic I/O is shared vocabulary: ``streams.topics.io``.
"""

from streams.tools import bench, demo, estimation, generators, platform, synthetic

__all__ = ["bench", "demo", "estimation", "generators", "platform", "synthetic"]
