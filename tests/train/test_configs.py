"""Every row of the paper's Tables 1, 2 and 5 has a config whose *content* holds the row's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from binge.config import load_config

PAPER = Path(__file__).resolve().parents[2] / "configs" / "paper"
M = None  # w = M_n

# (file, k, w, sigma, tau, epochs, crop) read off tv_paper.md Tables 1, 2, 5 and supplement §4.
ROWS = [
    *[(f"table1/movie_{n}.yaml", k, w, 0.0, None, 10, 158) for n, k, w in [
        ("k1", 1, M), ("k4_wM", 4, M), ("k8_wM", 8, M), ("k16_wM", 16, M), ("k32_wM", 32, M),
        ("k64_wM", 64, M), ("k16_w64", 16, 64), ("k16_w128", 16, 128), ("k16_w256", 16, 256),
        ("k16_w512", 16, 512), ("k16_w1024", 16, 1024), ("k16_w2048", 16, 2048),
        ("k4_w4", 4, 4), ("k16_w16", 16, 16), ("k64_w64", 64, 64)]],
    *[(f"table1/tv_{n}.yaml", k, w, 0.0, None, 10, 158) for n, k, w in [
        ("k1", 1, M), ("k8_wM", 8, M), ("k16_wM", 16, M), ("k8_w64", 8, 64), ("k8_w128", 8, 128),
        ("k16_w256", 16, 256)]],
    ("table2/movie_k1_jitter0.0.yaml", 1, M, 0.0, None, 10, 158),
    ("table2/movie_k16_jitter0.0.yaml", 16, M, 0.0, None, 10, 158),
    ("table2/movie_k1_jitter1.0.yaml", 1, M, 1.0, None, 10, 158),
    ("table2/movie_k16_jitter0.5.yaml", 16, M, 0.5, None, 10, 158),
    ("table2/movie_k16_jitter1.0.yaml", 16, M, 1.0, None, 10, 158),
    ("table2/movie_k16_l2_tau0.07.yaml", 16, M, 0.0, 0.07, 10, 158),
    ("table2/movie_k16_l2_tau0.3.yaml", 16, M, 0.0, 0.3, 10, 158),
    ("table5/movie_k16.yaml", 16, M, 0.0, None, 20, 200),
    ("table5/movie_tv_k8.yaml", 8, M, 0.0, None, 10, 200),
    ("table5/movie_tv_k16.yaml", 16, M, 0.0, None, 10, 200),
    ("table5/movie_tv_k32.yaml", 32, M, 0.0, None, 10, 200),
]


def test_no_config_without_a_row():
    assert sorted(str(p.relative_to(PAPER)) for p in PAPER.glob("*/*.yaml")) == sorted(r[0] for r in ROWS)


@pytest.mark.parametrize("name,k,w,sigma,tau,epochs,crop", ROWS, ids=[r[0] for r in ROWS])
def test_paper_row(name, k, w, sigma, tau, epochs, crop):
    cfg = load_config(PAPER / name)
    assert (cfg.sampling.k, cfg.sampling.window) == (k, w)
    assert cfg.augment.color_jitter == sigma
    assert cfg.objective.normalize == (tau is not None)
    if tau is not None:
        assert cfg.objective.temperature == tau
    assert cfg.optim.epochs == epochs and cfg.augment.crop_size == crop
    # supplement §4 and paper §4.1, common to every row
    assert cfg.sampling.batch_size == 512 and cfg.model.embed_dim == 512
    assert (cfg.optim.name, cfg.optim.warmup_start_lr, cfg.optim.lr, cfg.optim.warmup_epochs) == ("adam", 1e-4, 2e-3, 1.0)
    assert (cfg.data.frames, cfg.data.fps, cfg.data.sample_rate, cfg.data.n_mels, cfg.data.n_fft, cfg.data.hop_length) \
        == (16, 5.0, 48_000, 96, 2048, 512)
    assert (cfg.model.video, cfg.model.audio) == ("r2plus1d_18", "resnet18_audio")
    assert cfg.data.corpus is None  # users set it: no hard-coded paths
    assert cfg.sampling.unit == ("show" if "/tv_" in name else "title")
    if k == 1:
        assert cfg.sampling.title_weighting == "length"  # the paper's i.i.d. baseline
