"""benchmarks/gpu_step.py on CPU at tiny sizes (the GPU run itself needs a CUDA machine)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from conftest import load_benchmark


@pytest.fixture(scope="module")
def gpu_step():
    return load_benchmark("gpu_step")


@pytest.mark.parametrize("name, peak", [
    ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA H100 80GB HBM3", 989.0),
    ("NVIDIA H100 PCIe", 756.0), ("NVIDIA H200", 989.0), ("NVIDIA L40S", 362.0),
    ("NVIDIA L4", 121.0), ("NVIDIA A10G", 70.0), ("Tesla V100-SXM2-16GB", None),
])
def test_peak_table_matches_device_names(gpu_step, name, peak):
    assert gpu_step.peak_for_name(name) == peak


def test_flops_per_snippet_against_flop_counter(gpu_step):
    """The benchmark's FLOPs per snippet = torch's FlopCounterMode on a real fwd + bwd."""
    from binge.config import load_config
    from binge.models import build_av_model

    cfg = load_config(gpu_step.TINY_CONFIG)
    video, audio = gpu_step.input_shapes(cfg)
    assert video == (3, 16, 56, 56) and audio[:2] == (1, 64)
    model = build_av_model(cfg.model)
    with FlopCounterMode(display=False) as counter:
        out = model(torch.randn(2, *video), torch.randn(2, *audio))
        sum(v.float().sum() for v in out.values() if torch.is_tensor(v)).backward()
    counted = counter.get_total_flops() / 2
    # the reference also counts the input gradient of the first convolutions; ours does not
    assert gpu_step.train_flops_per_snippet(cfg) == pytest.approx(counted, rel=0.05)


@pytest.mark.slow
def test_cpu_tiny_run_writes_consistent_json(gpu_step, tmp_path):
    out = tmp_path / "gpu_step.json"
    rc = gpu_step.main(["--device", "cpu", "--tiny", "--batch", "4", "--steps", "1",
                        "--warmup", "1", "--workers", "1", "--compile-backend", "eager",
                        "--titles", "6", "--title-seconds", "16", "--peak-tflops", "1.0",
                        "--loader-steps", "10",  # more batches than the corpus's Σ M_n // B
                        "--work", str(tmp_path / "work"), "--json", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["device"] == "cpu" and res["config"] == "tiny" and res["skipped"] == []
    rows = res["compute_only"]
    assert [r["variant"] for r in rows] == ["eager", "eager+cl3d", "compile", "compile+cl3d"]
    for r in rows:
        assert r["snippets_per_s"] > 0 and math.isfinite(r["loss"])
        assert r["mfu"] == pytest.approx(r["snippets_per_s"] * res["train_flops_per_snippet"]
                                         / 1e12)
    # same seed, same batch, same maths: compile gives eager's loss; channels_last_3d reorders
    # the sums, and Adam's first step (≈ lr · sign(g)) amplifies that, so only close
    assert rows[2]["loss"] == pytest.approx(rows[0]["loss"], rel=1e-4)
    assert rows[3]["loss"] == pytest.approx(rows[1]["loss"], rel=1e-4)
    assert rows[1]["loss"] == pytest.approx(rows[0]["loss"], rel=1e-2)
    (fed,) = res["loader_fed"]
    best = max(rows, key=lambda r: r["snippets_per_s"])
    assert fed["variant"] == best["variant"] and fed["batch"] == 4
    assert 0.0 <= fed["data_wait_fraction"] < 1.0 and fed["snippets_per_s"] > 0
    assert fed["steps"] == 10
    assert fed["vs_compute_only"] == pytest.approx(fed["snippets_per_s"] / best["snippets_per_s"])
