"""The Faust shell around the core: agents, the topology, topics, tables, snapshots,
metrics and pages, and an in-process driver that runs the same topology in tests.

Data flows one way: bytes -> ``validate`` -> core -> outbox -> topics.
"""

from streams.worker.app import FrontdoorApp, broker_credentials, create_app, run_worker
from streams.worker.context import Incoming, Runtime, Tables, WorkerContext
from streams.worker.driver import Sent, TableChange, UndeclaredWrite, WorkerTestDriver
from streams.worker.topology import Page, Stream, Task, Timer, Topology, build_topology

__all__ = [
    "FrontdoorApp",
    "Incoming",
    "Page",
    "Runtime",
    "Sent",
    "Stream",
    "TableChange",
    "Tables",
    "Task",
    "Timer",
    "Topology",
    "UndeclaredWrite",
    "WorkerContext",
    "WorkerTestDriver",
    "broker_credentials",
    "build_topology",
    "create_app",
    "run_worker",
]
