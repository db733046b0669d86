"""`binge evaluate` results never collide: without --out they go under a folder named for the
encoder and the protocol; a folder holding another encoder's results is refused (with --out too);
the same encoder may rerun into its own folder. User mistakes end in one-line `binge evaluate:`
errors."""

from __future__ import annotations

import json
import re

import pytest
from cli_helpers import cli_error

from binge.cli import main
from binge.evaluation.runner import encoder_name

from .media_fixtures import make_tone_esc50

TINY = ["--dataset", "esc50", "data.sample_rate=8000", "data.n_mels=32", "data.n_fft=256",
        "data.hop_length=128", "evaluate.clips.audio_seconds=1.0", "evaluate.clips.test_clips=2",
        "evaluate.splits=[1]", "evaluate.linear.train_clips=1", "evaluate.linear.cv_folds=2",
        "evaluate.linear.costs=[1.0]"]


def test_folders_per_encoder_and_refusal(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "esc"
    make_tone_esc50(root, classes=2, folds=2)
    common = ["--root", str(root), "--protocol", "linear", *TINY, "evaluate.out_dir=evals"]
    assert main(["evaluate", "--random-init", "resnet18_audio_tiny", *common]) == 0
    assert main(["evaluate", "--random-init", "resnet18_audio", *common,
                 "evaluate.seed=1"]) == 0
    a = tmp_path / "evals" / "random-resnet18_audio_tiny" / "esc50-linear"
    b = tmp_path / "evals" / "random-resnet18_audio" / "esc50-linear"
    ra, rb = (json.loads((p / "results.json").read_text()) for p in (a, b))
    assert ra["encoder"]["random_init"] == "resnet18_audio_tiny" and rb["encoder"]["random_init"] == "resnet18_audio"
    assert json.loads((a / "run_info.json").read_text())["status"] == "ok"
    assert (tmp_path / "evals" / "cache").is_dir()  # one decode cache shared by the encoders
    # the same encoder reruns into its own folder
    assert main(["evaluate", "--random-init", "resnet18_audio_tiny", *common]) == 0
    # another encoder into a folder of the first: refused, the first one's files untouched
    before = (a / "results.json").read_text(), (a / "run_info.json").read_text()
    err = cli_error(["evaluate", "--random-init", "resnet18_audio", *common, "--out", str(a)], capsys)
    assert re.match(r"^binge evaluate: .*results\.json holds the results of another "
                    r"encoder \(random-resnet18_audio_tiny\)", err), err
    assert ((a / "results.json").read_text(), (a / "run_info.json").read_text()) == before


def test_encoder_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert encoder_name(random_init="r2plus1d_18") == "random-r2plus1d_18"
    assert encoder_name("runs/k8/export") == "runs-k8-export"
    assert encoder_name("runs/k8/checkpoints/last.pt") == "runs-k8-checkpoints-last.pt"
    assert encoder_name("runs/k1/export") != encoder_name("runs/k8/export")


@pytest.mark.parametrize("argv, message", [
    (["--random-init", "no_such_model"], r"^binge evaluate: unknown model 'no_such_model': registered models"),
    (["--checkpoint", "runs/missing/export"], r"^binge evaluate: --checkpoint runs/missing/export does not exist"),
])
def test_user_mistakes_are_one_line_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    err = cli_error(["evaluate", *argv, "--root", str(tmp_path), *TINY], capsys)
    assert re.match(message, err) and "\n" not in err, err


def test_pretrain_unknown_model_is_a_one_line_error(tmp_path, capsys):
    err = cli_error(["pretrain", "--config", "tiny", "model.video=r3d_99", f"train.out_dir={tmp_path}"], capsys)
    assert err.startswith("binge pretrain: unknown model 'r3d_99'") and "\n" not in err, err
