"""Misuse ends in one line naming the file or key and the fix, exit 2, no traceback (issue 15).

Each case is one of the issue's "raw tracebacks where one line belongs", run through the real
``binge`` command in a subprocess; nothing is written where the command was refused."""

from __future__ import annotations

import json

import pytest

from .conftest import TINY, one_line_error, run_binge


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  n_mels: [96\n")
    proc = run_binge("pretrain", "--config", bad, f"train.out_dir={tmp_path / 'run'}")
    assert proc.returncode == 2
    line = one_line_error(proc, "pretrain")
    assert str(bad) in line and "line 3" in line and "not valid YAML" in line
    assert not (tmp_path / "run").exists()


def test_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [\n")
    proc = run_binge("pretrain", "--config", bad, "--debug")
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "not valid YAML" in proc.stderr.splitlines()[-1]


def test_malformed_override_names_it(tmp_path):
    proc = run_binge("pretrain", "--config", TINY, "sampling.batch_size=[16",
                     f"train.out_dir={tmp_path}")
    assert proc.returncode == 2
    assert "sampling.batch_size=[16" in one_line_error(proc, "pretrain")


@pytest.mark.parametrize("override,key", [
    ("train.checkpoint_every_steps=0", "train.checkpoint_every_steps"),
    ("train.log_every_steps=0", "train.log_every_steps"),
    ("data.frames=0", "data.frames"),
    ("data.fps=0", "data.fps"),
    ("data.sample_rate=0", "data.sample_rate"),
    ("data.hop_length=0", "data.hop_length"),
    ("data.n_mels=0", "data.n_mels"),
    ("data.n_fft=128", "data.n_fft"),  # smaller than tiny's hop (256)
    ("sampling.batch_size=15", "sampling.batch_size"),  # with k = 4 below: not a multiple
])
def test_bad_values_are_refused_before_anything_is_written(sources, tmp_path, override, key):
    out = tmp_path / "corpus"
    extra = ["sampling.k=4"] if key == "sampling.batch_size" else []
    proc = run_binge("prepare", sources, "--out", out, "--config", TINY, override, *extra,
                     "--quiet")
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "prepare")
    assert key in line and "must be" in line
    assert not (out / "corpus.json").exists()  # the corrected rerun is not refused later


def _older_format(text: str) -> str:
    from binge.data.corpus import FORMAT_VERSION

    return json.dumps({**json.loads(text), "format_version": FORMAT_VERSION - 1})


@pytest.mark.parametrize("damage, expected", [
    (lambda text: '{"format_version": ', ["corpus.json is damaged"]),
    # a format-1 corpus (untagged video in the source's matrix) would decode with wrong colours
    (_older_format, ["corpus.json", "is not this binge's", "prepare the sources again into a new folder"]),
], ids=["damaged", "older-format"])
def test_unreadable_corpus_json_is_refused_and_nothing_touched(small_corpus, tmp_path, damage, expected):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus, corpus)
    (corpus / "corpus.json").write_text(damage((corpus / "corpus.json").read_text()))
    before = (corpus / "manifest.csv").read_bytes()
    for argv in (["prepare", small_corpus.parent / "nothing", "--out", corpus, "--config", TINY],
                 ["pretrain", "--config", TINY, f"data.corpus={corpus}",
                  f"train.out_dir={tmp_path / 'run'}"]):
        proc = run_binge(*argv)
        assert proc.returncode == 2, proc.stderr
        line = one_line_error(proc, argv[0])
        assert all(part in line for part in expected), line
    assert (corpus / "manifest.csv").read_bytes() == before


def test_refused_prepare_writes_nothing(sources, tmp_path):
    """A metadata CSV refused after the config is known good: no corpus.json, no lock file, no
    --out folder (a corrected rerun starts clean)."""
    meta = tmp_path / "meta.csv"
    meta.write_text("file\nt0.mp4\n")
    out = tmp_path / "corpus"
    proc = run_binge("prepare", "--metadata", meta, "--out", out, "--config", TINY, "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert "needs a 'path' column" in one_line_error(proc, "prepare")
    assert not out.exists()


def test_evaluate_missing_checkpoint(tmp_path):
    missing = tmp_path / "nope.pt"
    proc = run_binge("evaluate", "--checkpoint", missing, "--config",
                     "configs/eval/fsdd_linear_tiny.yaml")
    assert proc.returncode == 2, proc.stderr
    assert str(missing) in one_line_error(proc, "evaluate")


def test_unknown_command_option_is_a_usage_error():
    proc = run_binge("prepare", "--no-such-option")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_sampler_that_cannot_fit_the_corpus_is_a_user_error(small_corpus, tmp_path):
    proc = run_binge("pretrain", "--config", TINY, f"data.corpus={small_corpus}",
                     f"train.out_dir={tmp_path}", "sampling.batch_size=64")
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "pretrain")
    assert "sampling settings do not fit" in line and str(small_corpus) in line


def test_resume_from_a_missing_checkpoint_fails_before_building(small_corpus, tmp_path):
    missing = tmp_path / "nope.pt"
    proc = run_binge("pretrain", "--config", TINY, f"data.corpus={small_corpus}",
                     f"train.out_dir={tmp_path / 'run'}", "--resume", missing)
    assert proc.returncode == 2, proc.stderr
    assert f"--resume {missing}: the checkpoint does not exist" in one_line_error(proc, "pretrain")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()

