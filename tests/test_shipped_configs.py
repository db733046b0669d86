"""Configs ship with the package: a wheel built from the checkout holds every ``configs/**.yaml``
as ``binge/configs/...``; ``binge config list/show`` and ``--config NAME`` find them; a name that
is not shipped is a one-line error."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cli_helpers import cli_error

from binge.cli import main
from binge.config import ConfigError, find_shipped_config, list_shipped_configs, load_config

REPO = Path(__file__).resolve().parents[1]


def _repo_configs() -> set[str]:
    return {p.relative_to(REPO / "configs").with_suffix("").as_posix() for p in (REPO / "configs").rglob("*.yaml")}


def test_names_resolve_like_paths():
    assert set(list_shipped_configs()) == _repo_configs()
    assert find_shipped_config("tiny") == find_shipped_config("configs/tiny.yaml")
    assert find_shipped_config("tv_k1").as_posix().endswith("configs/paper/table1/tv_k1.yaml")
    with pytest.raises(ConfigError, match="does not exist and is not a shipped config"):
        find_shipped_config("configs/paper/tv_k1.yaml")  # a wrong folder is not guessed
    assert load_config("tiny") == load_config(REPO / "configs" / "tiny.yaml")


def test_config_command(capsys):
    assert main(["config", "list"]) == 0
    listed = capsys.readouterr().out.split()
    assert "tiny" in listed and "paper/table1/tv_k1" in listed
    assert main(["config", "show", "tiny"]) == 0
    out = capsys.readouterr().out
    assert (REPO / "configs" / "tiny.yaml").read_text() in out
    assert main(["config", "show", "tiny", "--resolved"]) == 0
    assert "embed_dim: 64" in capsys.readouterr().out
    err = cli_error(["config", "show", "nope"], capsys)
    assert err.startswith("binge config: config file nope does not exist") and "\n" not in err, err


def test_wheel_ships_every_config(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("binge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n[len("binge/configs/"):-len(".yaml")] for n in names if n.startswith("binge/configs/")}
    assert shipped == _repo_configs()
