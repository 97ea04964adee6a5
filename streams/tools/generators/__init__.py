"""Files generated from code and committed, each with ``write`` and ``stale`` (drift is a
failing test): the event contracts' JSON Schema, AsyncAPI and OpenAPI (``contracts``),
the Grafana dashboards (``dashboards``), the parts of docs/ made from code (``docs``);
``generated`` writes and compares them."""

from streams.tools.generators import contracts, dashboards, docs, generated

__all__ = ["contracts", "dashboards", "docs", "generated"]
