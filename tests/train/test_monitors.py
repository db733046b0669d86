"""binge.train.monitors: learning curves (held-out linear probes + discrepancy every N steps).

Unit tests use a synthetic probe set whose class is the mean level of a channel, against an
independent reference (the same linear probe on features averaged over views by plain NumPy);
the end-to-end tests run ``binge pretrain`` on the tiny world corpus with
``discrepancy.every_steps`` set, as users do: the values land in metrics.jsonl at the right
steps, a resumed run measures the same values, and 2 gloo ranks measure what 1 process does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from binge.config import ConfigError, load_config
from binge.evaluation.linear import probe_and_score
from binge.train.monitors import LearningCurves, ProbeSet, monitors_for, parse_probes

REPO = Path(__file__).resolve().parents[2]


class MeanEncoder(nn.Module):
    """forward_features = the input itself: pooled features are per-channel means."""

    num_features = 3

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.video_encoder = MeanEncoder()
        self.audio_encoder = MeanEncoder()


def _probe_set(seed: int = 0, n_train: int = 40, n_test: int = 20, views: int = 3) -> ProbeSet:
    """Video views (N·V, 3, 2, 4, 4); class c ∈ {0, 1, 2} raises channel c; noise per view."""
    g = torch.Generator().manual_seed(seed)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        y = torch.arange(n) % 3
        x = torch.randn(n * views, 3, 2, 4, 4, generator=g)
        x[torch.arange(n * views), y.repeat_interleave(views)] += 1.0
        return x, torch.arange(n).repeat_interleave(views), y.numpy()

    xtr, itr, ytr = make(n_train)
    xte, ite, yte = make(n_test)
    return ProbeSet("synthetic", "video", xtr, itr, ytr, np.arange(n_train) % 5, xte, ite, yte)


def _cfg(every: int = 3):
    cfg = load_config(REPO / "configs" / "micro.yaml")
    return replace(cfg, discrepancy=replace(cfg.discrepancy, every_steps=every))


def _trainer(model: nn.Module, step: int, main: bool = True) -> SimpleNamespace:
    # objective: the run's (its heads embed for the discrepancy, off in these probe-only tests)
    return SimpleNamespace(step=step, is_main=main, step_module=SimpleNamespace(model=model), objective=None)


def test_probe_equals_reference_on_view_averaged_features():
    probes, cfg = _probe_set(), _cfg()
    got = probes.score(MeanEncoder(), cfg, seed=0)

    def feats(x: torch.Tensor, index: torch.Tensor) -> np.ndarray:  # plain NumPy reference
        per_view = x.numpy().reshape(len(x), 3, -1).mean(axis=2)
        n = int(index.max()) + 1
        return np.stack([per_view[index.numpy() == i].mean(axis=0) for i in range(n)])

    lin = cfg.evaluate.linear
    _, want, _ = probe_and_score(feats(probes.train_views, probes.train_index), probes.y_train,
                                 probes.groups, feats(probes.test_views, probes.test_index),
                                 probes.y_test, costs=lin.costs, classifier=lin.classifier,
                                 cv_folds=lin.cv_folds, standardize=lin.standardize,
                                 max_iter=lin.max_iter, seed=0)
    assert got == pytest.approx(want)
    assert got > 0.8  # the class is in the channel means: far above chance (1/3)
    shuffled = replace(probes, y_test=np.roll(probes.y_test, 1))
    assert shuffled.score(MeanEncoder(), cfg, seed=0) < 0.6


def test_measures_at_multiples_of_every_steps_and_leaves_model_and_rng_alone():
    model = Model().train()
    cb = LearningCurves(_cfg(every=3), probes=[_probe_set()], discrepancy=False)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    measured = {}
    for step in range(1, 8):
        got = cb.after_step(_trainer(model, step), {})
        if got is not None:
            measured[step] = got
    assert sorted(measured) == [3, 6]
    assert set(measured[3]) == {"probe/synthetic"} and measured[3] == measured[6]
    assert model.training  # put back in the mode it was found in
    assert torch.equal(torch.rand(3), expected_next)  # global RNG stream untouched
    model.eval()
    cb.after_step(_trainer(model, 3), {})
    assert not model.training


def test_only_rank0_measures():
    cb = LearningCurves(_cfg(every=1), probes=[_probe_set()], discrepancy=False)
    assert cb.after_step(_trainer(Model(), 1, main=False), {}) is None
    assert cb.after_step(_trainer(Model(), 1, main=True), {}) is not None


def test_off_is_a_noop(tmp_path):
    cfg = _cfg(every=0)
    cfg = replace(cfg, discrepancy=replace(cfg.discrepancy, probes=["world-sound=/no/such/folder"]))
    assert monitors_for(cfg) == []
    cb = LearningCurves(cfg, out_dir=tmp_path)  # the bogus root is never read when off
    assert not cb.enabled
    assert all(cb.after_step(_trainer(Model(), s), {}) is None for s in range(1, 5))
    assert list(tmp_path.iterdir()) == []


def test_bad_probe_entries_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="DATASET=ROOT"):
        parse_probes(["world-sound"])
    with pytest.raises(ConfigError, match="DATASET=ROOT"):
        parse_probes([f"cifar10={tmp_path}"])
    with pytest.raises(ConfigError, match="no folder"):
        parse_probes([f"world-sound={tmp_path / 'missing'}"])
    assert parse_probes([f"world-sound={tmp_path}"]) == [("world-sound", str(tmp_path))]


# ----------------------------------------------------------------------------- end to end
def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("WORLD_SIZE", None)
    return env


def _pretrain(corpus: Path, world: Path, out: Path, extra: list[str], nproc: int = 1) -> None:
    launcher = [sys.executable, "-m", "binge"] if nproc == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
        "-m", "binge"]
    argv = [*launcher, "pretrain", "--config", str(REPO / "configs" / "tiny.yaml"),
            f"data.corpus={corpus}", f"train.out_dir={out}",
            "sampling.batch_size=8", "sampling.steps_per_epoch=4", "optim.epochs=1",
            "augment.crop_size=32", "train.log_every_steps=1", "train.checkpoint_every_steps=2",
            "data.num_workers=0", "train.precision=fp64", "model.sync_batchnorm=true",
            "discrepancy.every_steps=2", "discrepancy.bootstrap=0", "discrepancy.max_titles=8",
            "discrepancy.snippets_per_title=3", "discrepancy.device=cpu",
            f"discrepancy.probes=[world-sound={world / 'downstream' / 'world-sound'}]",
            "evaluate.clips.audio_seconds=1.0", "evaluate.clips.test_clips=2",
            "evaluate.linear.train_clips=2", "evaluate.linear.cv_folds=2", *extra]
    log = out.parent / f"{out.name}.txt"
    with open(log, "w") as fh:
        proc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, env=_env(), cwd=REPO,
                              timeout=600)
    assert proc.returncode == 0, log.read_text()[-3000:]


def _curve(out: Path) -> dict[int, dict[str, float]]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line]
    return {r["step"]: {k: v for k, v in r.items() if k.startswith(("probe/", "disc/"))}
            for r in rows if any(k.startswith("probe/") for k in r)}


@pytest.mark.slow
def test_pretrain_logs_curves_and_resume_measures_the_same(tiny_corpus, tiny_world, tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    _pretrain(tiny_corpus, tiny_world, whole, [])
    curve = _curve(whole)
    assert sorted(curve) == [2, 4]
    for values in curve.values():
        assert set(values) == {"probe/world-sound", "disc/kl_neg_pos", "disc/kl_diff_pos",
                               "disc/kl_neg_diff", "disc/gap"}
        assert 0.0 <= values["probe/world-sound"] <= 1.0
        assert all(np.isfinite(v) for v in values.values())
    assert (whole / "discrepancy.jsonl").is_file()
    assert any(p.name.startswith("events") for p in (whole / "tb").iterdir())
    _pretrain(tiny_corpus, tiny_world, cut, ["train.max_steps=2"])  # stops at step 2 …
    _pretrain(tiny_corpus, tiny_world, cut, [])                     # … resumed to step 4
    resumed = _curve(cut)
    assert sorted(resumed) == [2, 4]
    for step in (2, 4):
        for key, value in curve[step].items():
            assert resumed[step][key] == pytest.approx(value, rel=1e-9, abs=1e-12), (step, key)


@pytest.mark.slow
def test_two_gloo_ranks_measure_what_one_process_does(tiny_corpus, tiny_world, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _pretrain(tiny_corpus, tiny_world, one, [])
    _pretrain(tiny_corpus, tiny_world, two, [], nproc=2)
    a, b = _curve(one), _curve(two)
    assert sorted(a) == sorted(b) == [2, 4]
    for step in (2, 4):
        for key, value in a[step].items():
            assert b[step][key] == pytest.approx(value, rel=1e-6, abs=1e-9), (step, key)
