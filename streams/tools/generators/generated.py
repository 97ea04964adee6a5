"""Files generated from code and committed (contracts, dashboards): write them, or say
which no longer match what the code produces."""

from __future__ import annotations

from pathlib import Path


def write_files(files: dict[Path, str]) -> list[Path]:
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(files)


def stale_files(files: dict[Path, str]) -> list[Path]:
    return [p for p, text in files.items() if not p.exists() or p.read_text() != text]
