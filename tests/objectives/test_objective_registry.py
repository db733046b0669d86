"""The plug-in contract of binge.objectives.base: the worked example of its docstring runs as
written, the registry's errors, and the defaults that must not be silent."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import binge.objectives.base as base
from binge.config import ConfigError, load_config
from binge.diagnostics.discrepancy import similarity_spec
from binge.objectives import Objective, build_objective, register_objective


@pytest.fixture(autouse=True)
def _restore_registry():
    """Objectives registered by a test leave the process-wide registry afterwards."""
    saved = dict(base._REGISTRY)
    yield
    base._REGISTRY.clear()
    base._REGISTRY.update(saved)


def _docstring_example() -> str:
    block = base.__doc__.split("one file (the symmetric InfoNCE", 1)[1].split("::", 1)[1]
    block = block.split("\nThen ``binge --import", 1)[0]
    return textwrap.dedent(block)


def test_the_worked_example_runs(tiny_config):
    from binge.models import build_av_model

    namespace: dict = {}
    exec(compile(_docstring_example(), "base.__doc__", "exec"), namespace)  # registers cosine_ce
    cfg = load_config(None, ["objective.name=cosine_ce", "objective.cosine_ce.temperature=0.2"])
    assert similarity_spec(cfg).temperature == 0.2
    model = build_av_model(tiny_config.model)
    obj = build_objective(cfg, model, [3, 4])
    batch = {"video": torch.randn(4, 3, 4, 32, 32), "audio": torch.randn(4, 1, 32, 24)}
    out = obj(model, batch)
    out["loss"].backward()
    assert torch.isfinite(out["loss"].detach())


def test_no_similarity_is_an_error_naming_the_objective():
    @dataclass
    class Opts:
        x: int = 1

    @register_objective("test_nosim", options=Opts)
    class NoSim(Objective):
        @classmethod
        def from_config(cls, cfg, model, context):
            return cls()

    cfg = load_config(None, ["objective.name=test_nosim", "objective.test_nosim.x=2"])
    assert cfg.objective.test_nosim.x == 2
    with pytest.raises(ValueError, match="test_nosim.*defines no similarity"):
        similarity_spec(cfg)
    with pytest.raises(ConfigError, match=r"objective.test_nosim.x: expected an integer"):
        load_config(None, ["objective.name=test_nosim", "objective.test_nosim.x=two"])


def test_registration_errors():
    with pytest.raises(ValueError, match="already registered"):
        @register_objective("nce")
        class Other(Objective):
            pass
    with pytest.raises(TypeError, match="dataclass"):
        register_objective("test_bad_options", options=dict)
    with pytest.raises(ValueError, match="identifier"):
        register_objective("not-a-key")


def test_config_show_prints_the_resolved_config_with_objective_options(capsys):
    import yaml

    from binge.cli import main
    from binge.config import from_dict, Config

    tiny = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
    argv = ["config", "show", "--config", tiny, "objective.name=infonce",
            "objective.infonce.temperature=0.2", "sampling.k=4"]
    assert main(argv) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["objective"]["name"] == "infonce" and shown["objective"]["infonce"] == {"temperature": 0.2}
    assert shown["sampling"]["k"] == 4 and shown["model"]["video"] == "r2plus1d_18_tiny"
    assert from_dict(Config, shown) == load_config(tiny, argv[4:])  # it loads back
    try:
        rc = main(["config", "show", "--config", tiny, "objective.name=nope"])
    except SystemExit as err:  # the message is printed by the caller
        rc = err.code
    assert rc not in (0, None)
