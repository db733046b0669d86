"""The typed config schema: defaults, YAML + overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from binge.config import Config, ConfigError, EvaluateConfig, load_config, to_dict

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_papers():
    cfg = Config()
    # paper §4.1 / supplement §4
    assert (cfg.data.frames, cfg.data.fps, cfg.data.short_side) == (16, 5.0, 190)
    assert (cfg.data.sample_rate, cfg.data.n_mels, cfg.data.n_fft, cfg.data.hop_length) == (
        48_000, 96, 2048, 512)
    assert cfg.augment.crop_size == 158 and cfg.augment.audio_mask_max_fraction == 0.25
    assert cfg.sampling.batch_size == 512 and cfg.model.embed_dim == 512
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.warmup_start_lr, cfg.optim.epochs) == (
        "adam", 2e-3, 1e-4, 10)
    assert cfg.objective.normalize is False
    assert cfg.data.snippet_seconds == pytest.approx(3.2)


def test_overrides_are_parsed_as_yaml_scalars():
    cfg = load_config(None, ["sampling.k=16", "sampling.window=64", "optim.lr=1e-4",
                             "objective.normalize=true", "sampling.window=null"])
    assert cfg.sampling.k == 16 and cfg.sampling.window is None
    assert cfg.optim.lr == pytest.approx(1e-4) and isinstance(cfg.optim.lr, float)
    assert cfg.objective.normalize is True


@pytest.mark.parametrize(
    "override, message",
    [
        ("sampling.kk=3", "unknown key(s) ['kk']"),
        ("nosection.k=3", "unknown key(s) ['nosection']"),
        ("sampling.k=abc", "expected an integer"),
        ("optim.lr=fast", "expected a number"),
        ("sampling.title_weighting=random", "is not one of"),
        ("objective.normalize=3", "expected true/false"),
        ("sampling.k", "section.key=value"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=None) as err:
        load_config(None, [override])
    assert message in str(err.value)


def test_unknown_key_in_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("sampling:\n  k: 4\n  windw: 8\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "windw" in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_a_directory_is_not_a_config_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory, not a config file") as err:
        load_config(tmp_path)
    assert str(tmp_path) in str(err.value) and "does not exist" not in str(err.value)


def test_a_folder_named_like_a_shipped_config_does_not_hide_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()  # e.g. a run folder called tiny
    assert load_config("tiny").data.frames == load_config(REPO / "configs" / "tiny.yaml").data.frames


@pytest.mark.parametrize("file_text, overrides, blamed, value", [
    # the file sets batch_size 64, the override k = 3: the override is named (docs/cli.md)
    ("sampling:\n  batch_size: 64\n", ["sampling.k=3"], ["'sampling.k=3'"], "64 (from"),
    # neither key in the file: the default batch size is said to be the default
    ("{}\n", ["sampling.k=7"], ["'sampling.k=7'"], "(the default)"),
    # both keys by overrides: both named
    ("{}\n", ["sampling.k=3", "sampling.batch_size=16"],
     ["'sampling.batch_size=16'", "'sampling.k=3'"], "overrides"),
    # the relation n_fft >= hop_length broken by the hop override
    ("data:\n  n_fft: 512\n", ["data.hop_length=1024"], ["'data.hop_length=1024'"], "512 (from"),
    # sampling.window >= sampling.k broken by k
    ("sampling:\n  window: 4\n  batch_size: 64\n", ["sampling.k=8"], ["'sampling.k=8'"],
     "sampling.window=4 (from"),
])
def test_relation_broken_by_an_override_names_the_override(tmp_path, file_text, overrides,
                                                          blamed, value):
    path = tmp_path / "run.yaml"
    path.write_text(file_text)
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides)
    text = str(err.value)
    assert text.startswith("override"), text
    assert all(b in text for b in blamed) and value in text, text


def test_relation_set_by_the_file_names_the_file(tmp_path):
    path = tmp_path / "both.yaml"
    path.write_text("sampling:\n  batch_size: 64\n  k: 3\n")
    for overrides in ([], ["sampling.window=9"]):  # an unrelated override is not blamed
        with pytest.raises(ConfigError) as err:
            load_config(path, overrides)
        assert str(err.value).startswith(f"{path}: sampling.batch_size=64 must be a multiple")


def test_round_trip_through_dict():
    cfg = load_config(None, ["sampling.k=8"])
    again = load_config(None, [f"sampling.k={to_dict(cfg)['sampling']['k']}"])
    assert to_dict(again) == to_dict(cfg)


def _shipped_configs() -> list[Path]:
    return sorted((REPO / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", _shipped_configs(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_config_loads(path):
    load_config(path)


def test_there_are_shipped_configs():
    assert len(_shipped_configs()) >= 30
