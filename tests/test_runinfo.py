"""run_info.json: versions against the imported packages, git commit against ``git``, start/end
times and the outcome; earlier invocations kept; only rank 0 writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import av
import pytest
import torch
import torchvision

import binge
from binge.runinfo import git_state, record_run

REPO = Path(__file__).resolve().parents[1]


def test_record_holds_versions_argv_host_and_times(tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setenv("WORLD_SIZE", "3")
    with record_run(tmp_path / "run", "pretrain", argv=["binge", "pretrain", "x=1"], device="cpu") as rec:
        mid = json.loads((tmp_path / "run" / "run_info.json").read_text())
        assert mid["status"] == "running" and mid["end_time"] is None
        rec["steps"] = 7
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["versions"]["binge"] == binge.__version__
    assert info["versions"]["torch"] == torch.__version__
    assert info["versions"]["torchvision"] == torchvision.__version__
    assert info["versions"]["av"] == av.__version__
    assert info["versions"]["ffmpeg"] == av.ffmpeg_version_info
    import numpy
    import scenedetect
    import sklearn

    assert info["versions"]["numpy"] == numpy.__version__
    assert info["versions"]["scikit-learn"] == sklearn.__version__
    assert info["versions"]["scenedetect"] == scenedetect.__version__
    assert info["argv"] == ["binge", "pretrain", "x=1"] and info["command"] == "pretrain"
    assert info["world_size"] == 3 and info["device"] == "cpu" and info["host"]
    if Path("/proc/cpuinfo").is_file():  # the CPU type libx264's bytes depend on
        names = {line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                 if line.lower().startswith(("model name", "hardware"))}
        assert info["cpu"] in names
    assert info["cpu"]
    assert info["status"] == "ok" and info["steps"] == 7
    assert info["start_time"] <= info["end_time"]


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout")
def test_git_commit_is_the_checkouts_head():
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert git_state()["commit"] == head
    assert git_state(Path("/nonexistent")) is None


def test_error_is_recorded_and_earlier_runs_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    with record_run(tmp_path, "prepare", argv=["a"]):
        pass
    with pytest.raises(RuntimeError):
        with record_run(tmp_path, "prepare", argv=["b"]):
            raise RuntimeError("disk full")
    info = json.loads((tmp_path / "run_info.json").read_text())
    assert info["status"] == "error: RuntimeError: disk full" and info["argv"] == ["b"]
    assert [p["argv"] for p in info["previous"]] == [["a"]] and info["previous"][0]["status"] == "ok"


def test_only_rank_zero_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    with record_run(tmp_path, "pretrain"):
        pass
    assert not (tmp_path / "run_info.json").exists()


def test_cli_pretrain_writes_run_info_with_its_argv(tiny_corpus, tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "binge", "pretrain", "--config", str(REPO / "configs" / "tiny.yaml"),
            f"data.corpus={tiny_corpus}", f"train.out_dir={out}", "train.max_steps=1",
            "sampling.batch_size=4", "augment.crop_size=32", "train.device=cpu"]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads((out / "run_info.json").read_text())
    assert info["argv"][1:] == argv[3:] and info["status"] == "ok" and info["world_size"] == 1


def test_cli_world_writes_run_info(tmp_path, monkeypatch):
    from binge.cli import main

    monkeypatch.delenv("RANK", raising=False)
    assert main(["world", "--preset", "tiny", "--out", str(tmp_path / "w")]) == 0
    info = json.loads((tmp_path / "w" / "run_info.json").read_text())
    assert info["command"] == "world" and info["status"] == "ok" and (tmp_path / "w" / "metadata.csv").is_file()


def test_an_absent_library_is_recorded_as_none():
    from binge.runinfo import _distribution_version

    assert _distribution_version("binge-no-such-distribution") is None


def test_is_refusal_classifies_as_the_exit_code_does():
    """binge.cli.is_refusal: the one exit-2 classification the lock and the run record use."""
    from binge.cli import is_refusal
    from binge.config import ConfigError

    assert is_refusal(ConfigError("bad key"))
    assert not is_refusal(RuntimeError("a bug"))
    assert not is_refusal(OSError(28, "No space left on device"))
    wrapped = SystemExit("binge pretrain: bad key")
    wrapped.__cause__ = ConfigError("bad key")
    assert is_refusal(wrapped)
    assert not is_refusal(SystemExit(1))  # an exit code, not a message
    plain = SystemExit("stopped")
    assert not is_refusal(plain)  # a message without a user error behind it
