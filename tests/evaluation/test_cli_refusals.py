"""`binge evaluate` refuses bad input before reading data, with exit 2 and one line naming
the fix (docs/cli.md). References: the modality each registered model declares
(``input_spec.modality`` of a real instance) and the dataset modalities of
``binge.data.datasets.DATASETS``."""

from __future__ import annotations

import pytest

from binge.cli import main
from binge.data.datasets import DATASETS
from binge.evaluation.encoders import model_modality
from binge.models import create_model, list_models

from .media_fixtures import make_colour_ucf101, make_tone_esc50


def test_model_modality_agrees_with_a_built_model():
    for name in list_models():
        assert model_modality(name) == create_model(name).input_spec.modality


@pytest.mark.parametrize("dataset,model,want", [("world-sound", "conv3d_micro", "audio"),
                                                ("esc50", "r2plus1d_18_tiny", "audio"),
                                                ("world-action", "conv2d_audio_micro", "video")])
def test_wrong_modality_random_init_is_refused_before_any_data_is_read(
        tmp_path, capsys, monkeypatch, dataset, model, want):
    assert DATASETS[dataset][1] == want
    root = tmp_path / "set"
    (make_tone_esc50 if want == "audio" else make_colour_ucf101)(root)
    import binge.evaluation.runner as runner

    read = []
    monkeypatch.setattr(runner, "splits_of", lambda *a: read.append(a) or [1])
    monkeypatch.setattr(runner, "load_split", lambda *a, **k: read.append(a))
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--random-init", model, "--dataset", dataset, "--protocol", "linear",
              "--root", str(root), "--out", str(tmp_path / "o")])
    err = capsys.readouterr()
    line = err.err.strip()
    assert exc.value.code == 2 and "\n" not in line and not read  # no data read, not listed
    assert "found" not in err.out
    article = "an" if want == "audio" else "a"
    assert f"--random-init {model}" in line and f"needs {article} {want} encoder" in line
    fits = sorted(n for n in list_models() if create_model(n).input_spec.modality == want)
    assert str(fits) in line
    assert not (tmp_path / "o").exists()  # a refusal leaves no trace
