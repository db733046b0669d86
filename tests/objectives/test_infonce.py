"""Symmetric InfoNCE (binge.objectives.infonce) against a plain NumPy float64 rendering, over the
registry, and trained from the CLI with its own similarity in `binge discrepancy`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from binge.config import load_config
from binge.objectives import build_objective
from binge.objectives.infonce import InfoNCEObjective, symmetric_infonce

REPO = Path(__file__).resolve().parents[2]


def infonce_numpy(zv: np.ndarray, za: np.ndarray, tau: float) -> float:
    """½ (CE video→audio + CE audio→video) term by term, ℓ2-normalised, mean over i."""
    v = zv / np.linalg.norm(zv, axis=1, keepdims=True)
    a = za / np.linalg.norm(za, axis=1, keepdims=True)
    B = len(v)
    total = 0.0
    for i in range(B):
        s_va = np.array([v[i] @ a[j] / tau for j in range(B)])  # audio candidates of video i
        s_av = np.array([v[j] @ a[i] / tau for j in range(B)])  # video candidates of audio i
        ce_va = -np.log(np.exp(s_va[i]) / np.exp(s_va).sum())
        ce_av = -np.log(np.exp(s_av[i]) / np.exp(s_av).sum())
        total += 0.5 * (ce_va + ce_av)
    return total / B


@pytest.mark.parametrize("tau", [0.07, 0.3, 1.0])
@pytest.mark.parametrize("B,d", [(1, 3), (2, 4), (9, 6)])
def test_matches_numpy(tau, B, d):
    rng = np.random.default_rng(B * 10 + d)
    zv, za = rng.normal(size=(B, d)), rng.normal(size=(B, d))
    expected = infonce_numpy(zv, za, tau)
    got = symmetric_infonce(torch.from_numpy(zv), torch.from_numpy(za), tau)
    assert got.dtype == torch.float64 and abs(float(got) - expected) < 1e-9
    got32 = symmetric_infonce(torch.from_numpy(zv).float(), torch.from_numpy(za).float(), tau)
    assert float(got32) == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_differs_from_eq1_and_is_symmetric():
    """Not Eq. 1's joint softmax; swapping the modalities gives the same loss."""
    from binge.objectives import cross_modal_nce

    g = torch.Generator().manual_seed(0)
    zv, za = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    assert float(symmetric_infonce(zv, za, 0.3)) == pytest.approx(float(symmetric_infonce(za, zv, 0.3)))
    assert abs(float(symmetric_infonce(zv, za, 0.3)) - float(cross_modal_nce(zv, za, True, 0.3))) > 1e-3


def test_registry_options_and_similarity(tiny_config):
    from binge.diagnostics.discrepancy import similarity_spec
    from binge.models import build_av_model

    cfg = load_config(None, ["objective.name=infonce", "objective.infonce.temperature=0.2"])
    torch.manual_seed(0)
    model = build_av_model(tiny_config.model)
    obj = build_objective(cfg, model, [5, 7])
    assert isinstance(obj, InfoNCEObjective) and obj.temperature == 0.2
    spec = similarity_spec(cfg)
    assert spec.normalize and spec.temperature == 0.2
    batch = {"video": torch.randn(4, 3, 4, 32, 32), "audio": torch.randn(4, 1, 32, 24)}
    out = obj(model, batch)
    feats = model(batch["video"], batch["audio"])  # the encoders; Eq. 1's heads are the objective's
    zv, za = obj.video_head(feats["video"]), obj.audio_head(feats["audio"])
    ref = infonce_numpy(zv.detach().double().numpy(), za.detach().double().numpy(), 0.2)
    assert float(out["loss"].detach()) == pytest.approx(ref, rel=1e-5)
    with pytest.raises(ValueError, match="objective.infonce"):
        load_config(None, ["objective.name=infonce", "objective.infonce.tau=0.2"])


@pytest.mark.slow
def test_trained_from_the_cli_and_measured_with_its_similarity(tiny_corpus, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    out = tmp_path / "run"
    pretrain = [sys.executable, "-m", "binge", "pretrain", "--config", str(REPO / "configs" / "tiny.yaml"),
                f"data.corpus={tiny_corpus}", f"train.out_dir={out}", "objective.name=infonce",
                "objective.infonce.temperature=0.1", "sampling.batch_size=8", "augment.crop_size=32",
                "train.max_steps=3", "train.log_every_steps=1", "data.num_workers=0"]
    proc = subprocess.run(pretrain, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()
              if '"loss"' in line]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert abs(losses[0] - np.log(8)) < 1.0  # ½(CE + CE) of B = 8 near-random cosines ≈ log B
    disc = [sys.executable, "-m", "binge", "discrepancy", "--checkpoint", str(out / "export"),
            "--corpus", str(tiny_corpus), "--out", str(tmp_path / "disc"), "discrepancy.bootstrap=0",
            "discrepancy.snippets_per_title=4"]
    proc = subprocess.run(disc, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next((tmp_path / "disc").rglob("discrepancy.json")).read_text())
    assert result["similarity"]["normalize"] is True and result["similarity"]["temperature"] == 0.1
