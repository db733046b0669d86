"""Exports and checkpoints of ``binge supervised``: encoders without projection heads.

The encoders load (``load_pretrained`` / ``load_encoder``: what ``binge evaluate`` probes), equal
to the weights the supervised step trained (reference: the SupervisedStep's own state dict);
everything that needs the projection-head space z (``load_embedder``: ``binge embed``,
``binge discrepancy``) refuses with one exit-2 line that names the supervised run and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from binge.cli import main
from binge.config import to_dict
from binge.models import build_av_model
from binge.train.checkpoint import atomic_save
from binge.train.export import (SUPERVISED, NoProjectionHeadsError, export_model, load_embedder,
                                load_encoder, load_pretrained, trained_by)
from binge.train.supervised import SupervisedStep


@pytest.fixture(scope="module")
def supervised_run(tiny_config, tmp_path_factory) -> tuple[Path, SupervisedStep]:
    """A supervised run folder as ``train_supervised`` writes it (export/ + checkpoints/last.pt),
    its weights random: what matters is which files and keys it holds."""
    torch.manual_seed(0)
    step = SupervisedStep(build_av_model(tiny_config.model), 4)
    out = tmp_path_factory.mktemp("sup")
    export_model(step.model, tiny_config, out / "export", trained_by=SUPERVISED)
    # the checkpoint as train_supervised saves it, without the trained_by record (older runs)
    atomic_save({"model": step.state_dict(), "step": 3, "classes": ["a", "b", "c", "d"],
                 "config": to_dict(tiny_config)}, out / "checkpoints" / "last.pt")
    return out, step


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_export_records_that_binge_supervised_wrote_it(supervised_run):
    out, _ = supervised_run
    meta = json.loads((out / "export" / "config.json").read_text())
    assert meta["trained_by"] == "binge supervised" and meta["objective_heads"] == []
    assert trained_by(out / "export") == SUPERVISED
    assert trained_by(out / "checkpoints" / "last.pt") == SUPERVISED  # from its classifier keys


def test_encoders_load_from_export_and_checkpoint(supervised_run):
    out, step = supervised_run
    for path in (out / "export", out / "checkpoints" / "last.pt"):
        model = load_pretrained(path)
        assert _same(model.video_encoder, step.model.video_encoder)
        assert _same(model.audio_encoder, step.model.audio_encoder)
        assert _same(load_encoder(path, "audio"), step.model.audio_encoder)


@pytest.mark.parametrize("where", ["export", "checkpoints/last.pt"])
def test_embedder_refused_naming_the_supervised_run(supervised_run, where):
    out, _ = supervised_run
    # the record (trained_by / the classifier keys) names it, not the empty-head-list fallback
    with pytest.raises(NoProjectionHeadsError, match="this is a `binge supervised` run.*no "
                                                     "projection heads.*binge evaluate"):
        load_embedder(out / where)


def test_an_older_supervised_export_is_refused_by_its_empty_head_list(supervised_run, tmp_path):
    """binge-export-3 of before the record: objective_heads [] for an objective with heads."""
    out, _ = supervised_run
    old = tmp_path / "old_export"
    old.mkdir()
    for f in (out / "export").iterdir():
        (old / f.name).write_bytes(f.read_bytes())
    meta = json.loads((old / "config.json").read_text())
    del meta["trained_by"]
    (old / "config.json").write_text(json.dumps(meta))
    with pytest.raises(NoProjectionHeadsError, match="lists no objective_heads.*binge supervised"):
        load_embedder(old)
    assert _same(load_pretrained(old).video_encoder, supervised_run[1].model.video_encoder)


def test_a_checkpoint_that_fits_nothing_is_one_line(supervised_run, tmp_path):
    out, _ = supervised_run
    bad = tmp_path / "bad.pt"
    atomic_save({"model": {"video_fc_renamed.weight": torch.zeros(2)}, "config": _cfg(out)}, bad)
    from binge.train.export import ExportError

    with pytest.raises(ExportError, match="does not fit the model of its own config"):
        load_pretrained(bad)


def _cfg(out: Path) -> dict:
    return json.loads((out / "export" / "config.json").read_text())["config"]


@pytest.mark.parametrize("where", ["export", "checkpoints/last.pt"])
def test_embed_and_discrepancy_exit_2_in_one_line(supervised_run, tiny_corpus, tmp_path, capsys,
                                                  where):
    out, _ = supervised_run
    with pytest.raises(SystemExit) as exc:
        main(["embed", "--checkpoint", str(out / where), "--corpus", str(tiny_corpus), "--split",
              "heldout", "--out", str(tmp_path / "lib"), "--quiet", "--workers", "0"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "\n" not in err and err.startswith("binge embed: ")
    assert f"binge evaluate --checkpoint {out / where}" in err
    assert "binge supervised" in err and "no projection heads" in err and "RuntimeError" not in err
    with pytest.raises(SystemExit) as exc:
        main(["discrepancy", "--checkpoint", str(out / where), "--corpus", str(tiny_corpus),
              "--out", str(tmp_path / "disc")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "\n" not in err
    assert "binge supervised" in err and "no projection heads" in err
