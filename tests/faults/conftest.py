"""Fixtures of the misuse-and-fault suite (issue 15): small sources, a small corpus, and a
runner of the real ``binge`` command in a subprocess (exit code, stderr, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.synth import make_title  # tests/ is on sys.path (rootdir of this package)

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "tiny.yaml")


def run_binge(*argv: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """``python -m binge ARGV`` in a subprocess; stdout/stderr captured as text."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "binge", *map(str, argv)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=kw.pop("cwd", REPO), **kw)


def one_line_error(proc: subprocess.CompletedProcess, command: str) -> str:
    """The single error line of a failed command (asserts: no traceback, starts 'binge CMD:')."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("binge")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"binge {command}:"), proc.stderr
    return lines[0]


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> Path:
    """Three short titles (8 s each, events known) in one folder."""
    folder = tmp_path_factory.mktemp("fault_sources") / "src"
    folder.mkdir()
    for i in range(3):
        make_title(folder / f"t{i}.mp4", duration_s=8.0, events=(1.0 + i, 4.4), seed=i)
    return folder


@pytest.fixture(scope="session")
def small_corpus(sources, tmp_path_factory) -> Path:
    """``sources`` prepared with configs/tiny.yaml (in-process)."""
    from binge.config import load_config
    from binge.data.prepare import prepare_corpus

    out = tmp_path_factory.mktemp("fault_corpus") / "corpus"
    prepare_corpus([sources], out, data=load_config(TINY).data, progress=False)
    return out


def tree_bytes(folder: Path, ignore=(".binge.lock", "run_info.json")) -> dict[str, bytes]:
    """relative path → bytes of every file under ``folder`` (but the lock and the run record)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ignore}


def temporaries(folder: Path) -> list[Path]:
    """Temporary files of binge.io (or partial titles) left under ``folder``."""
    return [p for p in folder.rglob("*") if ".tmp-" in p.name or p.name.endswith(".partial")]
