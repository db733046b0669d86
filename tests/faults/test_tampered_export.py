"""A tampered or damaged export is one line naming the file (issue 15: "seven tracebacks").

Each case damages a copy of a real export (a 1-step tiny pretraining) and checks that
``load_pretrained`` raises :class:`ExportError` (or the file-naming ``FileNotFoundError``),
which ``binge`` turns into ``binge <command>: <message>`` with exit 2 (binge.cli.is_user_error).
"""

from __future__ import annotations

import json
import shutil

import pytest

from binge.cli import is_user_error

from .conftest import TINY


@pytest.fixture(scope="module")
def export(small_corpus, tmp_path_factory):
    from binge.config import load_config
    from binge.train.loop import pretrain

    out = tmp_path_factory.mktemp("export_run")
    pretrain(load_config(TINY, [f"data.corpus={small_corpus}", f"train.out_dir={out}",
                                "train.max_steps=1", "sampling.batch_size=4"]))
    return out / "export"


def _edit_config(folder, change):
    meta = json.loads((folder / "config.json").read_text())
    change(meta["config"])
    (folder / "config.json").write_text(json.dumps(meta))


def _edit_meta(folder, change):
    meta = json.loads((folder / "config.json").read_text())
    change(meta)
    (folder / "config.json").write_text(json.dumps(meta))


CASES = {
    "config.json not JSON": (lambda f: (f / "config.json").write_text("{"), "config.json is not JSON"),
    "config.json missing": (lambda f: (f / "config.json").unlink(), "no config.json"),
    "unknown model name": (  # config.model and the recorded encoder both renamed
        lambda f: (_edit_config(f, lambda c: c["model"].update(video="nope")),
                   _edit_meta(f, lambda m: m["video"].update(name="nope"))),
        "unknown model 'nope'"),
    "widths differ": (  # the full-size audio encoder named over the tiny one's weights
        lambda f: (_edit_config(f, lambda c: c["model"].update(audio="resnet18_audio")),
                   _edit_meta(f, lambda m: m["audio"].update(name="resnet18_audio"))),
        "audio_encoder.safetensors does not fit the model in config.json"),
    "weights of the other modality": (
        lambda f: shutil.copy(f / "audio_encoder.safetensors", f / "video_encoder.safetensors"),
        "video_encoder.safetensors does not fit"),
    "config.model disagrees with the recorded encoder": (
        lambda f: _edit_config(f, lambda c: c["model"].update(video="r2plus1d_18")),
        "the video encoder is 'r2plus1d_18_tiny' but config.model.video says 'r2plus1d_18'"),
    "weights file damaged": (
        lambda f: (f / "audio_encoder.safetensors").write_bytes(b"\x00garbage"),
        "audio_encoder.safetensors does not fit"),
    "weights file missing": (lambda f: (f / "video_encoder.safetensors").unlink(),
                             "video_encoder.safetensors is missing"),
    "data section disagrees with the encoder's input (96 mels on a 64-mel encoder)": (
        lambda f: _edit_config(f, lambda c: c["data"].update(n_mels=96)),
        "audio_encoder.safetensors was trained with data.n_mels=64.0 but"),
    "unknown export format": (lambda f: _edit_meta(f, lambda m: m.update(format=99)),
                              "export format 99 is not one this binge reads"),
    "encoder record not a mapping": (lambda f: _edit_meta(f, lambda m: m.update(video="nope")),
                                     "'video' must be a mapping"),
    "crop size edited": (
        lambda f: _edit_config(f, lambda c: c["augment"].update(crop_size=999)),
        "video_encoder.safetensors was trained with augment.crop_size="),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampered_export_is_one_named_error(export, tmp_path, case):
    from binge.train.export import load_pretrained

    damage, words = CASES[case]
    copy = tmp_path / "export"
    shutil.copytree(export, copy)
    damage(copy)
    with pytest.raises((ValueError, FileNotFoundError)) as raised:
        load_pretrained(copy)
    assert words in str(raised.value) and str(copy) in str(raised.value)
    assert "\n" not in str(raised.value)
    assert is_user_error(raised.value)
