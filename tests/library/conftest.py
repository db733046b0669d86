"""Fixtures: a random-init tiny export and the tiny corpus embedded with it (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


def make_export(cfg, out: Path, seed: int = 0) -> Path:
    """A random-init AVModel of ``cfg.model`` and its objective's heads, exported with the
    public export API."""
    from binge.models import build_av_model
    from binge.train.export import export_model, inference_objective

    torch.manual_seed(seed)
    model = build_av_model(cfg.model)
    objective = inference_objective(cfg, model)
    # non-trivial BatchNorm statistics, so that eval-mode heads are tested as exported
    for m in [*model.modules(), *objective.modules()]:
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return export_model(model, cfg, out, objective)


@pytest.fixture(scope="session", name="make_export")
def make_export_fixture():
    return make_export


@pytest.fixture(scope="session")
def tiny_export(tiny_config, tmp_path_factory) -> Path:
    return make_export(tiny_config, tmp_path_factory.mktemp("export") / "tiny")


@pytest.fixture(scope="session")
def embedded(tiny_export, tiny_corpus, tmp_path_factory) -> Path:
    """The whole tiny corpus embedded with ``tiny_export`` (batch 4, in-process decoding)."""
    from binge.library import embed_library

    out = tmp_path_factory.mktemp("lib") / "tiny"
    embed_library(tiny_export, out, corpus=tiny_corpus, batch_size=4, workers=0, progress=False)
    return out
