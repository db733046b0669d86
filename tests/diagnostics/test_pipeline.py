"""Checkpoint → embeddings (cached) → measures → JSON + PNG, on a stand-in held-out split."""

from __future__ import annotations

import json
from pathlib import Path
from dataclasses import replace

import numpy as np
import pytest
import torch

from binge.cli import main
from binge.config import to_dict
from binge.diagnostics import measure
from binge.diagnostics import discrepancy as disc
from binge.diagnostics import runs as runs_mod
from binge.models import build_av_model

KEYS = ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap")


def _objective(cfg, model):
    """The run's objective, which holds the heads that embed (the model is the two encoders)."""
    from binge.train.export import inference_objective

    return inference_objective(cfg, model)


def test_measure_hook(fake_heldout, tiny_cfg):
    torch.manual_seed(0)
    model = build_av_model(tiny_cfg.model).train()
    objective = _objective(tiny_cfg, model)
    a = measure(model, fake_heldout, tiny_cfg, objective=objective)
    assert model.training  # the hook restores the mode it found
    b = measure(model, fake_heldout, tiny_cfg, objective=objective)
    for key in KEYS:
        assert np.isfinite(a[key]) and a[key] == b[key]
    assert a["kl_diff_pos"] - a["kl_neg_pos"] == pytest.approx(a["gap"])
    # title 3 has one snippet (no S− pair) → skipped; 4 titles × min(3, M_n) snippets
    assert a["sampling"]["titles"] == 4 and a["sampling"]["snippets"] == 12
    assert a["sampling"]["skipped_titles_under_2_snippets"] == 1
    assert a["pairs"]["pos"]["count"] == 12
    assert a["pairs"]["neg"]["total"] == 4 * 3 * 2
    assert a["pairs"]["diff"]["total"] == 12 * 12 - 4 * 9
    assert a["pairs"]["diff"]["count"] == 50  # max_pairs_per_set
    assert a["similarity"]["normalize"] is False  # configs/tiny.yaml: Eq. 1 unnormalized


def test_measure_by_show(fake_heldout, tiny_cfg):
    """unit=show: shows 0 (titles 0, 1), 1 (titles 2, 3), 2 (title 4) are the units."""
    cfg = replace(tiny_cfg, discrepancy=replace(tiny_cfg.discrepancy, unit="show"))
    model = build_av_model(cfg.model)
    r = measure(model, fake_heldout, cfg, objective=_objective(cfg, model))
    assert r["sampling"]["unit"] == "show" and r["sampling"]["units"] == 3
    assert r["sampling"]["snippets"] == 9 and r["sampling"]["skipped_titles_under_2_snippets"] == 0
    assert r["pairs"]["neg"]["total"] == 3 * 3 * 2
    assert r["warnings"] and "only 3 shows" in r["warnings"][0]


def test_embeddings_match_the_model_and_rows(fake_heldout, tiny_cfg):
    """Row r of the embeddings is the model's output on snippet (n_r, m_r) of the selection."""
    from binge.data.transforms import video_to_float
    from binge.diagnostics.embed import embed_snippets
    from binge.diagnostics.pairs import select_snippets

    torch.manual_seed(0)
    from binge.train.export import Embedder

    model = build_av_model(tiny_cfg.model).eval()
    objective = _objective(tiny_cfg, model).eval()
    sel = select_snippets(fake_heldout.num_snippets, 8, 3, seed=0)
    zv, za = embed_snippets(Embedder(model, objective).eval(), fake_heldout, sel, batch_size=5, progress=False)
    assert fake_heldout.calls == sel.items()  # each selected snippet read once, in row order
    r = 7
    item = fake_heldout[sel.items()[r]]
    with torch.no_grad():
        # Eq. 1's heads (the NCE objective's) on the encoders' last feature maps
        ref_v = objective.video_head(model.video_encoder.forward_features(video_to_float(item["video"][None])))[0].numpy()
        ref_a = objective.audio_head(model.audio_encoder.forward_features(item["audio"][None]))[0].numpy()
    assert np.allclose(zv[r], ref_v, atol=1e-5) and np.allclose(za[r], ref_a, atol=1e-5)


def test_augmenting_dataset_is_refused(fake_heldout, tiny_cfg):
    model = build_av_model(tiny_cfg.model)
    with pytest.raises(TypeError, match="objective"):  # the model alone has no space to measure
        measure(model, fake_heldout, tiny_cfg)
    fake_heldout.augment = True
    with pytest.raises(ValueError, match="augment=False"):
        measure(model, fake_heldout, tiny_cfg, objective=_objective(tiny_cfg, model))


def _run(tmp_path, name, cfg, steps):
    """A folder as `binge pretrain` writes it: checkpoints/step_XXXXXXX.pt with model + config."""
    from binge.train.checkpoint import atomic_save

    run = tmp_path / name
    torch.manual_seed(sum(map(ord, name)))
    model = build_av_model(cfg.model)
    objective = _objective(cfg, model)
    for step in steps:
        with torch.no_grad():
            for p in [*model.parameters(), *objective.parameters()]:
                p.add_(0.01 * torch.randn_like(p))
        atomic_save({"model": model.state_dict(), "objective": objective.state_dict(),
                     "config": to_dict(cfg), "step": step},
                    run / "checkpoints" / f"step_{step:07d}.pt")
    return run


def test_checkpoint_to_json_png_and_cache(tmp_path, fake_heldout, fake_corpus, tiny_cfg):
    run_cfg = replace(tiny_cfg, objective=tiny_cfg.objective.replace(normalize=True, temperature=0.1))
    run = _run(tmp_path, "normrun", run_cfg, [5])
    ckpt = run / "checkpoints" / "step_0000005.pt"
    out = tmp_path / "out"
    r1 = disc.evaluate_checkpoint(ckpt, fake_corpus, tiny_cfg, out, dataset=fake_heldout)
    written = json.loads((out / "discrepancy.json").read_text())
    for key in KEYS:
        assert written[key] == pytest.approx(r1[key])
        assert len(written["ci"][key]) == 2
    assert written["step"] == 5
    # the similarity is the run's (cosine / τ), not the discrepancy config's
    assert written["similarity"]["normalize"] is True and written["similarity"]["temperature"] == 0.1
    assert written["pairs"]["pos"]["mean"] <= 1 / 0.1 + 1e-6  # cosine / τ is bounded by 1/τ
    png = (out / "histograms.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert r1["cache"]["hit"] is False
    fake_heldout.calls.clear()
    r2 = disc.evaluate_checkpoint(ckpt, fake_corpus, tiny_cfg, out, dataset=fake_heldout)
    assert r2["cache"]["hit"] is True and fake_heldout.calls == []  # embedded once
    assert all(r2[k] == r1[k] for k in KEYS)
    other = replace(tiny_cfg, discrepancy=replace(tiny_cfg.discrepancy, seed=1))
    assert disc.evaluate_checkpoint(ckpt, fake_corpus, other, out,
                                    dataset=fake_heldout)["cache"]["hit"] is False


def test_run_curves_and_compare(tmp_path, fake_heldout, fake_corpus, tiny_cfg, monkeypatch):
    k1 = _run(tmp_path, "k1", tiny_cfg, [2, 4, 6])
    k4 = _run(tmp_path, "k4", replace(tiny_cfg, sampling=replace(tiny_cfg.sampling, k=4)), [3, 6])
    monkeypatch.setattr(runs_mod, "open_heldout", lambda *args: fake_heldout)
    out = tmp_path / "fig"
    summary = runs_mod.compare_runs([k1, k4], fake_corpus, tiny_cfg, out)
    labels = [c["label"] for c in summary["runs"]]
    assert labels[0].startswith("k1 (k=1") and labels[1].startswith("k4 (k=4")
    assert [p["step"] for p in summary["runs"][0]["points"]] == [2, 4, 6]
    assert [p["step"] for p in summary["runs"][1]["points"]] == [3, 6]
    for f in ("compare.png", "compare.json", "k1/curves.png", "k1/curves.json",
              "k1/step_0000004/discrepancy.json", "k4/step_0000006/histograms.png"):
        assert (out / f).is_file(), f
    with pytest.raises(FileNotFoundError, match="no step_"):
        runs_mod.run_checkpoints(tmp_path / "nowhere")


def test_cli_errors_name_the_fix(tmp_path):
    with pytest.raises(SystemExit, match="binge prepare"):
        main(["discrepancy", "--random-init", "--corpus", str(tmp_path), "--config",
              str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")])
    with pytest.raises(SystemExit, match="unknown key"):
        main(["discrepancy", "--random-init", "--corpus", str(tmp_path), "discrepancy.nope=1"])
    with pytest.raises(SystemExit, match="does not exist"):
        main(["discrepancy", "--checkpoint", str(tmp_path / "missing.pt"), "--corpus", str(tmp_path)])


def test_cli_checkpoints_run_and_overrides(tmp_path, fake_heldout, fake_corpus, tiny_cfg,
                                           monkeypatch, capsys):
    """`binge discrepancy` end to end on pretrain-style checkpoints (stand-in held-out split)."""
    monkeypatch.setattr(disc, "open_heldout", lambda *args: fake_heldout)
    monkeypatch.setattr(runs_mod, "open_heldout", lambda *args: fake_heldout)
    run = _run(tmp_path, "cli", tiny_cfg, [1, 2])
    base = ["--corpus", str(fake_corpus), "discrepancy.max_titles=8",
            "discrepancy.snippets_per_title=3", "discrepancy.bootstrap=10", "discrepancy.device=cpu"]
    out = tmp_path / "o1"
    ckpts = [str(run / "checkpoints" / f"step_000000{s}.pt") for s in (1, 2)]
    assert main(["discrepancy", "--checkpoint", ckpts[0], "--checkpoint", ckpts[1],
                 "--out", str(out), *base]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [r["label"] for r in summary["results"]] == ["cli-step_0000001", "cli-step_0000002"]
    assert [r["step"] for r in summary["results"]] == [1, 2]
    assert summary["results"][0]["similarity"]["source"].startswith("run config of")
    # an explicit objective.* override replaces the run's similarity
    out2 = tmp_path / "o2"
    assert main(["discrepancy", "--checkpoint", ckpts[1], "--out", str(out2), *base,
                 "objective.normalize=true", "objective.temperature=0.5"]) == 0
    r = json.loads((out2 / "cli-step_0000002" / "discrepancy.json").read_text())
    assert r["similarity"]["normalize"] is True and r["similarity"]["temperature"] == 0.5
    assert r["similarity"]["source"] == "command-line objective.* overrides"
    out3 = tmp_path / "o3"
    assert main(["discrepancy", "--run", str(run), "--out", str(out3), *base]) == 0
    curves = json.loads((out3 / "cli" / "curves.json").read_text())
    assert [p["step"] for p in curves["points"]] == [1, 2]
    assert (out3 / "cli" / "curves.png").is_file()
    assert "step 2: KL(S-||S+)=" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no data.corpus"):  # no --corpus, none in the run
        main(["discrepancy", "--checkpoint", ckpts[0]])
    with pytest.raises(SystemExit, match="look like overrides"):
        main(["discrepancy", "--compare", str(run), "discrepancy.seed=1"])


def test_monitor_every_n_steps(tmp_path, fake_heldout, fake_corpus, tiny_cfg, monkeypatch):
    """The training-loop hook: measures at multiples of every_steps, logs them, --run draws them."""
    from binge.diagnostics.monitor import DiscrepancyMonitor, read_log

    cfg = replace(tiny_cfg, discrepancy=replace(tiny_cfg.discrepancy, every_steps=2, bootstrap=0))
    run = _run(tmp_path, "mon", cfg, [4])
    monitor = DiscrepancyMonitor(cfg, run, dataset=fake_heldout)
    model = build_av_model(cfg.model).train()
    objective = _objective(cfg, model)
    measured = [s for s in range(1, 6) if monitor(model, s, objective) is not None]
    assert measured == [2, 4] and model.training
    monitor(model, 4, objective)  # a resumed run measures step 4 again: the later line wins
    points = read_log(run / "discrepancy.jsonl")
    assert [p["step"] for p in points] == [2, 4]
    assert all(np.isfinite(p[k]) for p in points for k in KEYS)
    with open(run / "discrepancy.jsonl", "a") as fh:
        fh.write('{"step": 6, "kl_')  # torn by a crash mid-write
    assert [p["step"] for p in read_log(run / "discrepancy.jsonl")] == [2, 4]
    assert DiscrepancyMonitor(tiny_cfg, tmp_path)(model, 2) is None  # every_steps=0: off
    monkeypatch.setattr(runs_mod, "open_heldout", lambda *args: fake_heldout)
    curves = runs_mod.evaluate_run(run, fake_corpus, cfg, tmp_path / "out")
    assert [p["step"] for p in curves["logged_points"]] == [2, 4]
    assert (tmp_path / "out" / "curves_training.png").is_file()
