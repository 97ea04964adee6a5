"""Snapshot files in a worker's state directory: written atomically, readable by the
worker's own user only.

Why: a snapshot holds what the worker holds in memory (council records, waiting
incidents), which is personal data at rest; a worker killed mid-write must leave the
previous snapshot or none, never half of one; workers may share a directory.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any


def write_snapshot(path: Path, state: Any) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        pickle.dump(state, out, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)


def read_snapshot(path: Path) -> Any:
    """What ``write_snapshot`` wrote; FileNotFoundError when there is none. Only ever a
    file this worker's user wrote in its own state directory is unpickled."""
    with path.open("rb") as source:
        return pickle.load(source)
