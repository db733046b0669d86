"""A dataset root of the wrong layout: the loaders' error names the layout found and the
expected one, never a download hint for an unrelated benchmark. Reference: the TV world's own
downstream sets (generated here by ``binge.world``, ground truth of their layouts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from binge.cli import main
from binge.data.datasets import DatasetLayoutError, load_split, splits_of

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("dataset,given,found,read_as", [
    ("world-sound", "world-action", "UCF101 layout", "--dataset world-action or ucf101"),
    ("esc50", "world-action", "UCF101 layout", "--dataset world-action or ucf101"),
    ("world-action", "world-sound", "ESC-50 layout", "--dataset world-sound or esc50"),
    ("ucf101", "world-sound", "ESC-50 layout", "--dataset world-sound or esc50"),
    ("fsdd", "world-sound", "ESC-50 layout", "--dataset world-sound or esc50"),
])
def test_a_world_set_given_to_another_dataset_is_named(tiny_world, dataset, given, found, read_as):
    root = tiny_world / "downstream" / given
    with pytest.raises(DatasetLayoutError) as err:
        load_split(dataset, root, splits_of(dataset, root)[0] if dataset != "world-sound" else 1)
    text = str(err.value)
    assert found in text and read_as in text and f"not {dataset}" in text
    assert "Download" not in text and "Clone" not in text


def test_a_missing_world_set_names_its_layout(tmp_path):
    with pytest.raises(DatasetLayoutError) as err:
        load_split("world-sound", tmp_path / "nowhere")
    text = str(err.value)
    assert "meta/esc50.csv and audio/" in text and "downstream/world-sound" in text
    assert "Download" not in text


def test_the_official_download_hint_stays_for_the_official_set(tmp_path):
    with pytest.raises(DatasetLayoutError, match="Download ESC-50"):
        load_split("esc50", tmp_path)


def test_cli_world_sound_config_on_a_world_action_root_exits_2(tiny_world, tmp_path, capsys):
    root = tiny_world / "downstream" / "world-action"
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--config", str(REPO / "configs/eval/world_sound_linear_tiny.yaml"),
              "--root", str(root), "--random-init", "resnet18_audio_tiny",
              "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "\n" not in err
    assert "UCF101 layout" in err and "--dataset world-action" in err and "Download" not in err
