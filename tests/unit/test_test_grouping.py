"""The broker tests rely on pytest-xdist's loadgroup keeping a group on one worker (one
gateway for the matrix and schemathesis, one browser stack for the console's tests):
pytest 9.2 silently broke it (every group split across the workers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GROUPED = """
import os, pytest

pytestmark = pytest.mark.xdist_group("together")

@pytest.mark.parametrize("n", range(6))
def test_where(n):
    with open(os.environ["WHERE"], "a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
"""


def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    where = tmp_path / "where.txt"
    options = ["-q", "-p", "no:cacheprovider", "-n", "3", "--dist", "loadgroup"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *options, "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True,
        text=True,
        env={"WHERE": str(where), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    workers = where.read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers
