"""``binge demo`` on a pip-installed binge (no checkout, no ./configs): it finds the configs
shipped with the package (binge.config.shipped_config_dir)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_demo_finds_the_shipped_configs_from_a_cwd_without_configs(tmp_path, monkeypatch):
    from binge import config, demo

    shipped = tmp_path / "site-packages" / "binge" / "configs"  # an installed package's copy
    shutil.copytree(REPO / "configs", shipped)
    monkeypatch.setattr(config, "shipped_config_dir", lambda: shipped)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert demo._config_dir(None) == shipped
    # every config the demo's stages name is there
    assert (shipped / "demo.yaml").is_file()
    for _, cfg, _, _ in demo._eval_jobs(tmp_path / "world", tmp_path / "fsdd", shipped):
        assert Path(cfg).is_file(), cfg


def test_a_local_configs_folder_comes_first(tmp_path, monkeypatch):
    from binge import demo

    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "demo.yaml").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    assert demo._config_dir(None) == tmp_path / "configs"


def test_no_configs_anywhere_is_one_line_naming_the_fix(tmp_path, monkeypatch):
    from binge import config, demo

    monkeypatch.setattr(config, "shipped_config_dir", lambda: tmp_path / "absent")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="binge demo: no demo.yaml in .*--config-dir") as err:
        demo._config_dir(None)
    assert "\n" not in str(err.value)
