"""Fail fast (issue 15): a config error is refused before torch is imported, and every override
error names the override as typed and the fix; a path the user named that is not there is
exit 2 before any work (``binge check --corpus``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from binge.config import ConfigError, load_config

from .conftest import REPO, TINY, one_line_error, run_binge

# runs `binge ARGV` in-process in a fresh interpreter; reports the exit code and whether torch
# had been imported when the command was refused
_PROBE = """
import json, sys
from binge.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as err:
    code = err.code
print(json.dumps({"code": code, "torch": "torch" in sys.modules}))
"""


def _probe(*argv: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-c", _PROBE, *map(str, argv)], capture_output=True,
                          text=True, timeout=120, env=env, cwd=REPO)
    assert "Traceback" not in proc.stderr, proc.stderr
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "stderr": proc.stderr}


@pytest.mark.parametrize("kind,argv", [
    ("bad YAML", ["--config", "{bad}"]),
    ("unknown key in the file", ["--config", "{unknown}"]),
    ("bad value in the file", ["--config", "{value}"]),
    ("unknown key override", ["--config", TINY, "sampling.kk=3"]),
    ("bad type override", ["--config", TINY, "sampling.steps_per_epoch=abc"]),
    ("out of range override", ["--config", TINY, "train.log_every_steps=0"]),
    ("broken relation in the file", ["--config", "{relation}"]),
    ("empty key", ["--config", TINY, "=3"]),
    ("unknown objective name", ["--config", TINY, "objective.name=nope"]),
    ("scene policy with a window", ["--config", TINY, "sampling.window=scene",
                                    "sampling.scene_policy=distinct"]),
])
def test_config_errors_are_refused_before_torch_is_imported(tmp_path, kind, argv):
    files = {"bad": "data:\n  n_mels: [96\n", "unknown": "sampling:\n  windw: 8\n",
             "value": "optim:\n  lr: fast\n", "relation": "data:\n  n_fft: 128\n  hop_length: 256\n"}
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(text)
    argv = [a.format(**paths) for a in argv]
    out = tmp_path / "run"
    res = _probe("pretrain", *argv, f"train.out_dir={out}")
    assert res["code"] == 2, res["stderr"]
    assert res["torch"] is False, f"{kind}: torch was imported before the refusal"
    assert not out.exists()


def test_objective_names_known_without_torch_are_the_registry_s():
    """The names read from binge/objectives/__init__.py's source are the registry's built-ins
    (a new built-in cannot be missed by the torch-free check)."""
    from binge.config import _objective_names
    from binge.objectives import BUILTIN, list_objectives

    assert set(BUILTIN) <= _objective_names() == set(list_objectives())


def test_evaluate_config_error_is_refused_before_torch_is_imported(tmp_path):
    res = _probe("evaluate", "--random-init", "resnet18_audio_tiny", "--config", TINY,
                 "optim.lr=fast", "--out", tmp_path / "ev")
    assert res["code"] == 2 and res["torch"] is False, res["stderr"]
    assert "override 'optim.lr=fast'" in res["stderr"] and not (tmp_path / "ev").exists()


@pytest.mark.parametrize("kind,argv,words", [
    ("config error", ["--random-init", "--corpus", "{tmp}", "--config", TINY, "optim.lr=fast"],
     "override 'optim.lr=fast'"),
    ("missing checkpoint", ["--checkpoint", "{tmp}/nope.pt"], "checkpoint {tmp}/nope.pt does not exist"),
    ("random-init without a corpus", ["--random-init"], "--random-init needs --corpus"),
    ("missing run folder", ["--run", "{tmp}/no_run"], "run folder {tmp}/no_run does not exist"),
    ("missing corpus", ["--checkpoint", "{tmp}", "--corpus", "{tmp}/no_corpus"],
     "--corpus {tmp}/no_corpus does not exist"),
])
def test_discrepancy_errors_are_refused_before_torch_is_imported(tmp_path, kind, argv, words):
    argv = [a.format(tmp=tmp_path) for a in argv]
    res = _probe("discrepancy", *argv, "--out", tmp_path / "out")
    assert res["code"] == 2, res["stderr"]
    assert res["torch"] is False, f"{kind}: torch was imported before the refusal"
    assert words.format(tmp=tmp_path) in res["stderr"] and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind,argv,words", [
    ("config error", ["--ground-truth", "{tmp}", "--config", TINY, "optim.lr=fast"],
     "override 'optim.lr=fast'"),
    ("missing ground truth", ["--ground-truth", "{tmp}/no_gt", "--config", TINY],
     "--ground-truth {tmp}/no_gt does not exist"),
])
def test_supervised_errors_are_refused_before_torch_is_imported(tmp_path, kind, argv, words):
    argv = [a.format(tmp=tmp_path) for a in argv]
    out = tmp_path / "run"
    res = _probe("supervised", *argv, f"train.out_dir={out}")
    assert res["code"] == 2, res["stderr"]
    assert res["torch"] is False, f"{kind}: torch was imported before the refusal"
    assert words.format(tmp=tmp_path) in res["stderr"] and not out.exists()


@pytest.mark.parametrize("argv,words", [
    (["scenes", "{tmp}/no_corpus"], "{tmp}/no_corpus is not a prepared corpus"),
    (["scenes", "{corpus}", "--scenes", "{tmp}/none.csv"], "--scenes {tmp}/none.csv does not exist"),
    (["scenes", "{corpus}", "--from-world", "{tmp}"], "--from-world {tmp} has no ground_truth/"),
    (["embed", "--checkpoint", "{tmp}/none", "--out", "{tmp}/lib", "{tmp}"],
     "--checkpoint {tmp}/none does not exist"),
    (["embed", "--checkpoint", "{tmp}", "--corpus", "{tmp}/no_corpus", "--out", "{tmp}/lib"],
     "--corpus {tmp}/no_corpus does not exist"),
    (["embed", "--bogus"], "the following arguments are required"),
    (["search", "--index", "{tmp}/no_lib", "--query", "q"], "is not an embedded library"),
    (["check", "{tmp}/no_src", "--quiet"], "source {tmp}/no_src does not exist"),
], ids=["scenes corpus", "scenes csv", "scenes world", "embed checkpoint", "embed corpus",
        "embed usage", "search index", "check source"])
def test_other_commands_refuse_bad_arguments_before_torch_is_imported(small_corpus, tmp_path,
                                                                      argv, words):
    """The same rule for every command: a path named that is not there, or a usage error, is
    refused (exit 2) before torch is imported."""
    argv = [a.format(tmp=tmp_path, corpus=small_corpus) for a in argv]
    res = _probe(*argv)
    assert res["code"] == 2, res["stderr"]
    assert res["torch"] is False, f"{argv[0]}: torch was imported before the refusal"
    assert words.format(tmp=tmp_path) in res["stderr"], res["stderr"]
    assert not (tmp_path / "lib").exists()


def test_objective_section_is_still_checked():
    """The objective options are checked against the registry (which needs torch) after
    everything else: a wrong objective name or option is still refused at load time."""
    with pytest.raises(ConfigError, match="not a registered objective"):
        load_config(None, ["objective.name=nope"])
    with pytest.raises(ConfigError, match=r"override 'objective.avid.variant=zz'.*not one of"):
        load_config(None, ["objective.avid.variant=zz"])
    with pytest.raises(ConfigError, match="augment.pipeline"):
        load_config(None, ["augment.pipeline=crisscross"])  # the objective's pipeline: nce's is paper
    cfg = load_config(TINY, ["objective.name=avid", "objective.avid.variant=cross"])
    assert cfg.objective.name == "avid" and cfg.objective.avid.variant == "cross"


@pytest.mark.parametrize("override,expected", [
    ("sampling.steps_per_epoch=abc", "expected an integer or null, got 'abc'"),
    ("sampling.window=abc", "expected an integer, 'scene' or null, got 'abc'"),
    ("sampling.title_weighting=random", "'random' is not one of ['uniform', 'length']"),
    ("sampling.kk=3", "did you mean sampling.k?"),
    ("=3", "no key before ="),
    ("sampling.=3", "an empty key part"),
    ("sampling=3", "sampling is a section; set one of its keys"),
    ("sampling.k.x=1", "sampling.k is not a section"),
    ("train.log_every_steps=0", "train.log_every_steps must be > 0"),
    ("data.n_fft=128", "data.n_fft must be >= data.hop_length (256)"),
    ("sampling.batch_size=[16", "is not valid YAML"),
    ("optim.lr=fast", "expected a number, got 'fast'"),
])
def test_override_errors_name_the_override_as_typed_and_the_fix(tmp_path, override, expected):
    """Every override error starts with the override as typed (not the YAML file's path) and
    says what to write instead; no Python type names."""
    with pytest.raises(ConfigError) as err:
        load_config(TINY, [override])
    text = str(err.value)
    assert text.startswith(f"override {override!r}: "), text
    assert expected in text, text
    assert "typing." not in text and "NoneType" not in text
    assert "tiny.yaml" not in text  # the file is not to blame
    assert any(fix in text for fix in ("write ", "give another value", "did you mean",
                                       "set one of its keys", "quote a string")), text


def test_file_errors_still_name_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("sampling:\n  steps_per_epoch: abc\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "expected an integer or null" in str(err.value)
    path.write_text("train:\n  log_every_steps: 0\n")
    with pytest.raises(ConfigError, match=f"{path}: train.log_every_steps=0 must be > 0"):
        load_config(path)
    # the file's bad value corrected by an override: accepted
    assert load_config(path, ["train.log_every_steps=5"]).train.log_every_steps == 5


def test_override_error_through_the_command(tmp_path):
    proc = run_binge("pretrain", "--config", TINY, "sampling.steps_per_epoch=abc",
                     f"train.out_dir={tmp_path / 'run'}")
    assert proc.returncode == 2
    line = one_line_error(proc, "pretrain")
    assert line.startswith("binge pretrain: override 'sampling.steps_per_epoch=abc':")
    assert "an integer or null" in line


@pytest.mark.parametrize("argv,named", [
    (["--corpus", "{tmp}/no_such_corpus"], "--corpus {tmp}/no_such_corpus does not exist"),
    (["--corpus", "{tmp}"], "is not a corpus written by binge prepare"),
])
def test_check_with_a_corpus_that_is_not_there(sources, tmp_path, argv, named):
    argv = [a.format(tmp=tmp_path) for a in argv]
    proc = run_binge("check", sources, *argv, "--quiet")
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert named.format(tmp=tmp_path) in one_line_error(proc, "check")
    assert proc.stdout == ""  # refused before any file was probed


def test_check_with_a_source_that_is_not_there(tmp_path, small_corpus):
    proc = run_binge("check", tmp_path / "nothing", "--corpus", small_corpus, "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert f"source {tmp_path / 'nothing'} does not exist" in one_line_error(proc, "check")


@pytest.mark.parametrize("argv, words", [
    (["sampling.kk=3"], "override 'sampling.kk=3'"),
    (["--config", "/nonexistent/x.yaml"], "/nonexistent/x.yaml does not exist"),
    (["=3"], "override '=3': no key before ="),
    (["sampling.k"], "override 'sampling.k': expected the form section.key=value"),
], ids=["override", "config file", "empty key", "no value"])
def test_prepare_command_errors_are_refused_before_torch_is_imported(tmp_path, argv, words):
    """binge prepare refuses a bad config before importing the pipeline (torch); a valid
    config's full load still imports the objective registry (docs/cli.md)."""
    src = tmp_path / "src"
    src.mkdir()
    res = _probe("prepare", src, "--out", tmp_path / "corpus", *argv)
    assert res["code"] == 2 and res["torch"] is False, res["stderr"]
    assert words in res["stderr"] and not (tmp_path / "corpus").exists()


def test_prepare_tells_sources_from_overrides():
    """``=3`` and ``sampling.k`` are (malformed) overrides; a missing file name stays a source
    (its own "does not exist" error), and so does anything with a path separator."""
    from binge.cluster import split_overrides

    assert split_overrides(["titles", "=3", "sampling.k", "sampling.k=2", "movie.mp4", "a/b.c"]) \
        == (["titles", "movie.mp4", "a/b.c"], ["=3", "sampling.k", "sampling.k=2"])
