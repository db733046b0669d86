"""Load the scripts under benchmarks/ and benchmarks/reproduction/ as modules (they are not a
package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
REPRODUCTION = BENCHMARKS / "reproduction"


def load_benchmark(name: str):
    """``benchmarks/<name>.py`` as a fresh module (benchmarks/ goes on ``sys.path`` for the
    helpers the scripts import, e.g. ``bench_corpus``)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return load_script(name, BENCHMARKS)


def load_script(name: str, folder: Path = REPRODUCTION):
    """``<folder>/<name>.py`` (``benchmarks/reproduction/`` by default) as a fresh module."""
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def study():
    return load_script("run_study")


@pytest.fixture
def plot():
    return load_script("plot_study")


@pytest.fixture
def curves():
    return load_script("discrepancy_curves")
