"""The README's "From Python" block runs as written, on a prepared corpus and an export laid out
where the README's pipeline puts them (``corpus/world``, ``runs/k8/export``), and its comments'
shapes hold."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def _python_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("From Python:")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, "README: no ```python block after 'From Python:'"
    return match.group(1)


def test_readme_python_block_runs(tiny_world, tmp_path, monkeypatch):
    from binge.config import load_config
    from binge.data.prepare import prepare_corpus
    from binge.models import build_av_model
    from binge.train.export import export_model, inference_objective

    cfg = load_config(REPO / "configs" / "demo.yaml")
    (tmp_path / "configs").mkdir()
    shutil.copy(REPO / "configs" / "demo.yaml", tmp_path / "configs" / "demo.yaml")
    prepare_corpus([tiny_world / "titles"], tmp_path / "corpus" / "world",
                   metadata=tiny_world / "metadata.csv", data=cfg.data, workers=1)
    torch.manual_seed(0)
    model = build_av_model(cfg.model)
    export_model(model, cfg, tmp_path / "runs" / "k8" / "export", inference_objective(cfg, model))
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_python_block(), "README.md", "exec"), scope)
    batch, v, a = scope["batch"], scope["v"], scope["a"]
    assert len(batch) == 32
    assert batch[0]["video"].dtype == torch.uint8 and batch[0]["video"].shape[-1] == 3
    assert v.shape == (32, scope["video_encoder"].num_features)
    assert a.shape == (32, scope["audio_encoder"].num_features)
    assert torch.isfinite(v).all() and torch.isfinite(a).all()
