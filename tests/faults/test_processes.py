"""Two processes on one folder, and processes left behind (issue 15).

* Locks: a second ``binge prepare`` on the ``--out`` of a running one, and a second ``binge
  pretrain`` on the ``train.out_dir`` of a running one, are refused (exit 2, the holder named)
  while the first finishes exactly as a solo run does (the corpus byte-identical, the exported
  weights bit-identical and the same losses).
* ``kill -9`` of ``binge prepare --workers 2``'s (or ``binge world --workers 2``'s) main process: its pool workers and the resource
  tracker end too (they used to idle forever).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus_compare import explain, mismatches

from binge.train.metrics import read_metrics

from .conftest import REPO, TINY, one_line_error, run_binge, temporaries, tree_bytes

SLOW = str(Path(__file__).with_name("slow_binge.py"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def _slow(delay: float, *argv, pipes: bool = True) -> subprocess.Popen:
    out = subprocess.PIPE if pipes else subprocess.DEVNULL  # a survivor would hold a pipe open
    return subprocess.Popen([sys.executable, SLOW, str(delay), *map(str, argv)], cwd=REPO,
                            env=ENV, stdout=out, stderr=out, text=True)


def _digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in tree_bytes(folder).items()}


def _wait_for_lock(folder: Path, proc: subprocess.Popen, timeout: float = 240) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        try:
            if json.loads((folder / ".binge.lock").read_text() or "{}").get("pid") == proc.pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{proc.pid} never took the lock of {folder}")


@pytest.mark.slow
def test_second_prepare_is_refused_and_the_first_matches_a_solo_run(sources, tmp_path):
    corpus, solo = tmp_path / "corpus", tmp_path / "solo"
    argv = ["prepare", sources, "--config", TINY, "--quiet"]
    first = _slow(4.0, *argv, "--out", corpus)
    _wait_for_lock(corpus, first)
    second = run_binge(*argv, "--out", corpus)
    assert first.poll() is None  # refused while the first still ran
    assert second.returncode == 2, second.stderr
    line = one_line_error(second, "prepare")
    assert "in use by `binge prepare`" in line and f"pid {first.pid}" in line
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert run_binge(*argv, "--out", solo).returncode == 0
    # byte-identical, but for an H.264 stream libx264 encoded otherwise (tests/corpus_compare.py)
    assert not mismatches(corpus, solo, _digests), explain(corpus, solo, _digests)
    assert temporaries(corpus) == []


@pytest.mark.slow
def test_second_pretrain_is_refused_and_the_first_matches_a_solo_run(small_corpus, tmp_path):
    run, solo = tmp_path / "run", tmp_path / "solo"
    common = ["pretrain", "--config", TINY, f"data.corpus={small_corpus}", "train.max_steps=6",
              "train.checkpoint_every_steps=3", "train.log_every_steps=1",
              "sampling.batch_size=4"]
    first = _slow(1.5, *common, f"train.out_dir={run}")
    _wait_for_lock(run, first)
    second = run_binge(*common, f"train.out_dir={run}")
    assert first.poll() is None
    assert second.returncode == 2, second.stderr
    line = one_line_error(second, "pretrain")
    assert "in use by `binge pretrain`" in line and f"pid {first.pid}" in line
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert run_binge(*common, f"train.out_dir={solo}").returncode == 0
    for part in sorted(p.name for p in (solo / "export").glob("*.safetensors")):
        assert (run / "export" / part).read_bytes() == (solo / "export" / part).read_bytes(), part
    losses = [[r["loss"] for r in read_metrics(d / "metrics.jsonl") if "loss" in r]
              for d in (run, solo)]
    assert losses[0] == losses[1] and len(losses[0]) == 6
    assert temporaries(run) == []


def _children(pid: int) -> set[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_pool_workers_die_with_a_killed_prepare(sources, tmp_path):
    proc = _slow(3.0, "prepare", sources, "--out", tmp_path / "corpus", "--config", TINY,
                 "--workers", "2", "--quiet", pipes=False)
    end = time.monotonic() + 240
    kids: set[int] = set()
    while time.monotonic() < end and len(kids) < 3:  # 2 workers + the resource tracker
        assert proc.poll() is None, proc.communicate()
        kids = _children(proc.pid)
        time.sleep(0.2)
    assert len(kids) >= 2, kids
    os.kill(proc.pid, signal.SIGKILL)  # as soon as they exist: before or after their start-up
    proc.wait()
    end = time.monotonic() + 30
    while time.monotonic() < end and any(_alive(k) for k in kids):
        time.sleep(0.2)
    left = [k for k in kids if _alive(k)]
    for k in left:  # do not leave them behind even when the test fails
        os.kill(k, signal.SIGKILL)
    assert left == []


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_pool_workers_die_with_a_killed_world(tmp_path):
    """binge world --workers 2 (its own pool, binge.workers.die_with_parent as initializer):
    kill -9 of the main process ends the workers too."""
    proc = subprocess.Popen([sys.executable, "-m", "binge", "world", "--out", str(tmp_path / "w"),
                             "--preset", "tiny", "--workers", "2"], cwd=REPO, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 120
    kids: set[int] = set()
    while time.monotonic() < end and len(kids) < 2:
        assert proc.poll() is None, "binge world ended before its workers were seen"
        kids = _children(proc.pid)
        time.sleep(0.05)
    assert len(kids) >= 2, kids
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    end = time.monotonic() + 30
    while time.monotonic() < end and any(_alive(k) for k in kids):
        time.sleep(0.2)
    left = [k for k in kids if _alive(k)]
    for k in left:
        os.kill(k, signal.SIGKILL)
    assert left == []
