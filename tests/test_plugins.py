"""User plug-ins from the command line: a module OUTSIDE the package defines an encoder
(register_model) and an objective (register_objective); `binge --import MODULE` trains them,
then `evaluate` and `discrepancy` read the export, each in a new process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PLUGIN = textwrap.dedent('''
    """A user's plug-in: one encoder and one objective, registered on import."""
    from dataclasses import dataclass

    import torch
    import torch.nn.functional as F
    from torch import nn

    from binge.models import KINETICS_MEAN, KINETICS_STD, InputSpec, register_model
    from binge.objectives import JointSpaceObjective, SimilaritySpec, register_objective


    class PlugVideo(nn.Module):
        """conv3d → BN → ReLU, 'width' channels."""

        def __init__(self, width: int) -> None:
            super().__init__()
            self.conv = nn.Conv3d(3, width, 3, stride=(1, 2, 2), padding=1, bias=False)
            self.bn = nn.BatchNorm3d(width)
            self.num_features = width
            self.input_spec = InputSpec("video", 3, 16, size=32, mean=KINETICS_MEAN, std=KINETICS_STD)

        def forward_features(self, x):
            return F.relu(self.bn(self.conv(x)))

        def forward(self, x):
            return self.forward_features(x).mean(dim=(2, 3, 4))


    @register_model
    def plug_video(width: int = 4) -> nn.Module:
        return PlugVideo(width)


    @dataclass
    class PlugOptions:
        temperature: float = 0.5


    @register_objective("plug_align", options=PlugOptions)
    class PlugAlign(JointSpaceObjective):
        """video→audio cross-entropy over cosine / τ (one direction only), in the space of
        Eq. 1's heads, which it holds (so its export writes them)."""

        def __init__(self, temperature: float, video_head, audio_head) -> None:
            super().__init__(video_head, audio_head)
            self.temperature = temperature

        @classmethod
        def from_config(cls, cfg, model, context):
            assert sum(context.snippets_per_title) == int(context.offsets[-1]) > 0
            return cls(cfg.objective.plug_align.temperature, **cls.joint_heads(cfg, model, context))

        @classmethod
        def similarity(cls, cfg):
            return SimilaritySpec(True, cfg.objective.plug_align.temperature)

        def forward(self, model, batch):
            zv, za = self.embed(model, batch)
            v, a = F.normalize(zv, dim=1), F.normalize(za, dim=1)
            target = torch.arange(len(v), device=v.device)
            return {"loss": F.cross_entropy(v @ a.T / self.temperature, target)}
''')


def _binge(args: list[str], cwd: Path, log: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("WORLD_SIZE", None)
    proc = subprocess.run([sys.executable, "-m", "binge", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    log.write_text(proc.stdout + proc.stderr)
    return proc


@pytest.mark.slow
def test_plugin_encoder_and_objective_pretrain_evaluate_discrepancy(tiny_corpus, tmp_path):
    from evaluation.media_fixtures import make_colour_ucf101

    plugin_dir = tmp_path / "user_code"
    plugin_dir.mkdir()
    (plugin_dir / "my_binge_plugin.py").write_text(PLUGIN)
    work = tmp_path / "work"  # a folder where the plug-in is not importable by accident
    work.mkdir()
    plug = ["--import", str(plugin_dir / "my_binge_plugin.py")]
    run = tmp_path / "run"

    # 1. pretrain the plug-in encoder with the plug-in objective for 2 steps
    proc = _binge([*plug, "pretrain", "--config", str(REPO / "configs" / "tiny.yaml"),
                   f"data.corpus={tiny_corpus}", f"train.out_dir={run}", "model.video=plug_video",
                   "model.video_kwargs={width: 6}", "objective.name=plug_align",
                   "objective.plug_align.temperature=0.25", "sampling.batch_size=4",
                   "augment.crop_size=32", "train.max_steps=2", "train.log_every_steps=1"],
                  work, tmp_path / "pretrain.log")
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((run / "export" / "config.json").read_text())
    assert meta["video"] == {"name": "plug_video", "kwargs": {"width": 6}}
    assert meta["config"]["objective"]["name"] == "plug_align"
    # the export writes the heads the run trained (the objective's), and no other heads
    assert meta["objective_heads"] == ["audio_head", "video_head"]
    assert sorted(p.name for p in (run / "export").glob("*.safetensors")) == [
        "audio_encoder.safetensors", "objective_heads.safetensors", "video_encoder.safetensors"]
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if "loss" in r] == [1, 2]

    # without the plug-in a new process cannot read the run: a clear error, no default
    proc = _binge(["discrepancy", "--checkpoint", str(run / "export"), "--corpus", str(tiny_corpus),
                   "--out", str(tmp_path / "nodisc")], work, tmp_path / "noplug.log")
    assert proc.returncode != 0 and "plug_align" in proc.stderr and "--import" in proc.stderr

    # 2. evaluate the exported plug-in video encoder (linear probe) in a new process
    ucf = tmp_path / "ucf"
    make_colour_ucf101(ucf)
    proc = _binge([*plug, "evaluate", "--checkpoint", str(run / "export"),
                   "--dataset", "ucf101", "--root", str(ucf), "--protocol", "linear",
                   "--out", str(tmp_path / "eval"), "evaluate.clips.frames=4",
                   "evaluate.clips.fps=5.0", "evaluate.clips.crop_size=32",
                   "evaluate.clips.test_short_side=40", "evaluate.clips.test_clips=2",
                   "evaluate.linear.train_clips=2", "evaluate.linear.cv_folds=2"],
                  work, tmp_path / "evaluate.log")
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert res["splits"][0]["num_test"] > 0 and 0.0 <= res["summary"]["top1"]["mean"] <= 1.0

    # 3. the discrepancy measures, with the plug-in objective's similarity, in a new process
    proc = _binge([*plug, "discrepancy", "--checkpoint", str(run / "export"), "--corpus",
                   str(tiny_corpus), "--out", str(tmp_path / "disc"), "discrepancy.bootstrap=0",
                   "discrepancy.snippets_per_title=4"], work, tmp_path / "discrepancy.log")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next((tmp_path / "disc").rglob("discrepancy.json")).read_text())
    assert result["similarity"]["normalize"] is True and result["similarity"]["temperature"] == 0.25
    assert result["sampling"]["embedding_dim"] == meta["config"]["model"]["embed_dim"]


def test_import_errors_name_the_module(tmp_path):
    proc = _binge(["--import", "no_such_binge_plugin", "pretrain"], tmp_path, tmp_path / "log")
    assert proc.returncode != 0 and "no_such_binge_plugin" in proc.stderr
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('boom')\n")
    proc = _binge(["--import", str(bad), "pretrain"], tmp_path, tmp_path / "log")
    assert proc.returncode != 0 and "broken.py" in proc.stderr and "boom" in proc.stderr


def test_entry_point_group_is_loaded_by_every_command(tmp_path):
    """A package that declares ``[binge.plugins]`` in its entry points is imported before the
    command runs (here: it registers an objective the config then names)."""
    site = tmp_path / "site"
    dist = site / "my_binge_ep-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-binge-ep\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[binge.plugins]\nmine = my_binge_ep_plugin\n")
    (site / "my_binge_ep_plugin.py").write_text(PLUGIN)
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS="1")
    argv = [sys.executable, "-m", "binge", "pretrain", "objective.name=plug_align"]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    # the objective is known (no "not a registered objective"); the run stops at the missing corpus
    assert "not a registered objective" not in proc.stderr
    assert proc.returncode != 0 and "data.corpus is not set" in proc.stderr
    env.pop("PYTHONPATH")
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "'plug_align' is not a registered objective" in proc.stderr
