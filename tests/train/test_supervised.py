"""binge.train.supervised: the supervised ceiling (labels from the TV world's ground truth).

References: the ground truth's scene list (start/end/event of each scene), independent of the
per-second labels the trainer reads; the corpus manifest's split column for leakage.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from binge.config import load_config
from binge.data.dataset import SnippetDataset
from binge.train import supervised as sup
from binge.train.export import load_pretrained

REPO = Path(__file__).resolve().parents[2]


def test_snippet_labels_agree_with_the_per_second_labels(tiny_corpus, tiny_world):
    """Reference: the ground truth's per-second event list (written independently of the scene
    list the labels come from); wherever every second of a snippet has one event, it is the
    snippet's label."""
    ds = SnippetDataset(tiny_corpus, split="train", crop_size=None)
    labels, classes = sup.snippet_labels(ds.title_ids, ds.num_snippets, ds.seconds,
                                         tiny_world / "ground_truth")
    checked = 0
    for tid, lab in zip(ds.title_ids, labels):
        per_second = json.loads((tiny_world / "ground_truth" / f"{tid}.json").read_text())[
            "per_second"]["event"]
        assert len(lab) == ds.num_snippets[ds.title_ids.index(tid)]
        for m, c in enumerate(lab):
            inside = set(per_second[int(np.floor(m * ds.seconds)):int(np.ceil((m + 1) * ds.seconds))])
            if len(inside) == 1:
                assert classes[c] == inside.pop(), (tid, m)
                checked += 1
    assert checked >= len(ds) // 3


def test_missing_ground_truth_names_the_file(tiny_corpus, tmp_path):
    ds = SnippetDataset(tiny_corpus, split="train", crop_size=None)
    with pytest.raises(sup.GroundTruthError, match=f"{ds.title_ids[0]}.json"):
        sup.snippet_labels(ds.title_ids, ds.num_snippets, ds.seconds, tmp_path)


def test_batches_are_iid_deterministic_and_resume_in_place():
    counts = [5, 3, 7]
    a = list(sup.supervised_batches(counts, 4, steps=6, seed=1))
    assert a == list(sup.supervised_batches(counts, 4, steps=6, seed=1))
    assert a[2:] == list(sup.supervised_batches(counts, 4, steps=6, seed=1, start=2))
    assert a != list(sup.supervised_batches(counts, 4, steps=6, seed=2))
    assert all(0 <= m < counts[n] for batch in a for n, m in batch)


def test_trains_on_training_titles_only_with_their_labels(tiny_corpus, tiny_world, tmp_path,
                                                          monkeypatch):
    cfg = load_config(REPO / "configs" / "tiny.yaml", [
        f"data.corpus={tiny_corpus}", f"train.out_dir={tmp_path / 'ceiling'}",
        "sampling.batch_size=4", "sampling.steps_per_epoch=3", "optim.epochs=1",
        "augment.crop_size=32", "train.log_every_steps=1", "train.checkpoint_every_steps=3"])
    read: list[tuple[str, int]] = []
    fed: list[torch.Tensor] = []
    original_read, original_forward = SnippetDataset.read_video, sup.SupervisedStep.forward

    def spy_read(self, n, m, box=None):
        read.append((self.title_ids[n], m))
        return original_read(self, n, m, box)

    def spy_forward(self, video, audio, label):
        fed.append(label.clone())
        return original_forward(self, video, audio, label)

    monkeypatch.setattr(SnippetDataset, "read_video", spy_read)
    monkeypatch.setattr(sup.SupervisedStep, "forward", spy_forward)
    out = sup.train_supervised(cfg, tiny_world / "ground_truth")
    manifest = (tiny_corpus / "manifest.csv").read_text().splitlines()
    header = manifest[0].split(",")
    split_of = {row.split(",")[header.index("title_id")]: row.split(",")[header.index("split")]
                for row in manifest[1:]}
    assert len(read) == 12 and {split_of[t] for t, _ in read} == {"train"}  # no held-out show
    full = SnippetDataset(tiny_corpus, split="train", crop_size=None)
    labels, classes = sup.snippet_labels(full.title_ids, full.num_snippets, full.seconds,
                                         tiny_world / "ground_truth")
    index = {t: i for i, t in enumerate(full.title_ids)}
    want = torch.tensor([labels[index[t]][m] for t, m in read])
    assert torch.equal(torch.cat(fed), want)  # the ground-truth label of each snippet read
    model = load_pretrained(out / "export")  # probed like a pretrained run
    assert model.video_encoder.num_features == 128
    # what wrote it is recorded: consumers of the projection heads refuse it by name
    assert json.loads((out / "export" / "config.json").read_text())["trained_by"] == "binge supervised"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and all(np.isfinite(r["loss"]) for r in rows)
    # a checkpoint from when the model held Eq. 1's heads: resume refused in one line
    from binge.config import ConfigError
    from binge.train.checkpoint import atomic_save, load_checkpoint

    state = load_checkpoint(out / "checkpoints" / "last.pt")
    state["model"]["model.video_head.conv1.weight"] = torch.zeros(1)
    atomic_save(state, out / "checkpoints" / "last.pt")
    with pytest.raises(ConfigError, match="Eq. 1's heads.*new train.out_dir"):
        sup.train_supervised(cfg, tiny_world / "ground_truth")


def test_labels_reach_the_encoders():
    """A few Adam steps on a batch whose class is a colour: both encoders' classifiers learn it."""
    from binge.models import build_av_model
    from binge.config import ModelConfig

    torch.manual_seed(0)
    model = build_av_model(ModelConfig(video="conv3d_micro", audio="conv2d_audio_micro", embed_dim=16))
    step = sup.SupervisedStep(model, 3)
    label = torch.arange(24) % 3
    video = torch.randn(24, 3, 8, 32, 32) * 0.3
    video[torch.arange(24), label] += 1.0
    audio = torch.randn(24, 1, 32, 63) * 0.3 + label.view(-1, 1, 1, 1).float()
    opt = torch.optim.Adam(step.parameters(), 1e-2)
    first = step(video, audio, label)
    for _ in range(30):
        out = step(video, audio, label)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    step.eval()
    last = step(video, audio, label)
    assert float(last["loss"].detach()) < 0.3 * float(first["loss"].detach())
    assert float(last["acc_video"]) == 1.0 and float(last["acc_audio"]) == 1.0
