"""run_info.json of the commands beside prepare / pretrain / evaluate / world: ``binge
discrepancy``, ``scenes``, ``embed``, ``supervised`` and ``demo`` each write the record of their
invocation (binge.runinfo) beside their outputs. References: the argv the command was given,
the versions of the imported packages, the clock around the call."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "tiny.yaml")


def _discrepancy(tmp, corpus, world):
    return (["discrepancy", "--random-init", "--corpus", str(corpus), "--config", TINY,
             "--out", str(tmp / "disc"), "discrepancy.device=cpu", "discrepancy.bootstrap=10"],
            tmp / "disc" / "run_info.json", tmp / "disc" / "random-init" / "discrepancy.json")


def _scenes(tmp, corpus, world):
    return (["scenes", str(corpus), "--from-world", str(world), "--out", str(tmp / "sc" / "gt.csv"),
             "--quiet"], tmp / "sc" / "run_info-gt.json", tmp / "sc" / "gt.csv")


def _embed(tmp, corpus, world):
    return (["embed", "--random-init", TINY, "--corpus", str(corpus), "--split", "heldout",
             "--out", str(tmp / "lib"), "--workers", "0", "--device", "cpu", "--quiet"],
            tmp / "lib" / "run_info.json", tmp / "lib" / "titles.parquet")


def _supervised(tmp, corpus, world):
    return (["supervised", "--config", TINY, "--ground-truth", str(world / "ground_truth"),
             f"data.corpus={corpus}", f"train.out_dir={tmp / 'ceil'}", "sampling.batch_size=4",
             "sampling.steps_per_epoch=1", "optim.epochs=1", "augment.crop_size=32",
             "train.device=cpu"],
            tmp / "ceil" / "run_info.json", tmp / "ceil" / "export" / "config.json")


def _demo(tmp, corpus, world):
    """A resumed demo: every stage marked done in demo_state.json (running them all is the
    slow test_demo.py), so the command itself runs and writes results.md and its record."""
    out = tmp / "demo"
    out.mkdir()
    stages = ["world", "prepare", "pretrain-k1"] + [
        f"evaluate-{enc}-{name}" for enc in ("random", "k1") for name in ("world-action", "world-sound")]
    (out / "demo_state.json").write_text(json.dumps(
        {key: {"seconds": 1.0, "cpu_seconds": 1.0, "command": f"binge {key}"} for key in stages}))
    return (["demo", "--out", str(out), "--runs", "k1", "--no-ceiling", "--no-fsdd", "--jobs", "1"],
            out / "run_info.json", out / "results.md")


CASES = {"discrepancy": _discrepancy, "scenes": _scenes, "embed": _embed,
         "supervised": _supervised, "demo": _demo}


@pytest.mark.parametrize("command", sorted(CASES))
def test_command_writes_run_info(command, tiny_corpus, tiny_world, tmp_path, monkeypatch):
    import av
    import torch
    import torchvision

    import binge
    from binge.cli import main

    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    argv, record, output = CASES[command](tmp_path, tiny_corpus, tiny_world)
    monkeypatch.setattr(sys, "argv", ["binge", *argv])  # as the console script sees it
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    assert main(argv) == 0
    after = dt.datetime.now(dt.timezone.utc)

    assert output.is_file()  # the record sits beside the command's outputs
    info = json.loads(record.read_text())
    assert info["command"] == command and info["status"] == "ok"
    assert info["argv"] == ["binge", *argv]
    assert info["versions"]["binge"] == binge.__version__
    assert info["versions"]["torch"] == torch.__version__
    assert info["versions"]["torchvision"] == torchvision.__version__
    assert info["versions"]["av"] == av.__version__
    assert info["world_size"] == 1 and info["host"] and info["device"]
    start, end = (dt.datetime.fromisoformat(info[k]) for k in ("start_time", "end_time"))
    assert before <= start <= end <= after


def test_refused_discrepancy_writes_no_record(tmp_path):
    """A user error (not a corpus) ends in one line and leaves --out absent."""
    from binge.cli import main

    with pytest.raises(SystemExit, match="binge discrepancy"):
        main(["discrepancy", "--random-init", "--corpus", str(tmp_path / "nowhere"), "--config", TINY,
              "--out", str(tmp_path / "disc")])
    assert not (tmp_path / "disc").exists()


def test_refused_scenes_writes_no_record(tiny_corpus, tmp_path):
    from binge.cli import main

    assert main(["scenes", str(tiny_corpus), "--scenes", str(tmp_path / "none.csv"),
                 "--out", str(tmp_path / "sc" / "s.csv")]) == 2
    assert not (tmp_path / "sc").exists()
