"""Snapshots hold personal data at rest: owner-only files, never half-written."""

from __future__ import annotations

import stat
from pathlib import Path

from streams.worker.snapshots import read_snapshot, write_snapshot


def test_a_snapshot_is_readable_by_its_owner_only_and_never_left_half_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "tables" / "app-pending.snapshot"
    write_snapshot(path, {"MPS:CAD-1": b"a waiting incident"})
    write_snapshot(path, {"MPS:CAD-1": b"replaced"})  # over an existing one
    assert read_snapshot(path) == {"MPS:CAD-1": b"replaced"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]
