"""Load the scripts under benchmarks/reproduction/ as modules (they are not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPRODUCTION = Path(__file__).resolve().parents[2] / "benchmarks" / "reproduction"


def load_script(name: str):
    """``benchmarks/reproduction/<name>.py`` as a fresh module."""
    spec = importlib.util.spec_from_file_location(name, REPRODUCTION / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def study():
    return load_script("run_study")


@pytest.fixture
def plot():
    return load_script("plot_study")
