"""Session-wide fixtures: the tiny TV world and its prepared corpus, and the shared real media.

Real media lives in ``../shared/data`` (override with ``BINGE_SHARED_DATA``); tests that need
it skip with a reason where it is absent, as in a user's clone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO_ROOT / "configs" / "tiny.yaml"

# 2-core machines: one intra-op thread per test process keeps the suite predictable.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


def shared_data_dir() -> Path:
    return Path(os.environ.get("BINGE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"real media folder {root} is absent (set BINGE_SHARED_DATA to a copy)")
    return root


@pytest.fixture(scope="session")
def av_clips(shared_data: Path) -> Path:
    path = shared_data / "av_clips"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def fsdd_root(shared_data: Path) -> Path:
    path = shared_data / "fsdd"
    if not (path / "recordings").is_dir():
        pytest.skip(f"{path}/recordings is absent")
    return path


@pytest.fixture(scope="session")
def tiny_config():
    from binge.config import load_config

    return load_config(TINY_CONFIG)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    """The `tiny` TV world (seed 0), generated once per test session."""
    from binge.world import generate_world

    return generate_world(tmp_path_factory.mktemp("world") / "tiny", preset="tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_corpus(tiny_world: Path, tiny_config, tmp_path_factory) -> Path:
    """The tiny world prepared with configs/tiny.yaml's data section."""
    from binge.data.prepare import prepare_corpus

    out = tmp_path_factory.mktemp("corpus") / "tiny"
    prepare_corpus(
        [tiny_world / "titles"],
        out,
        metadata=tiny_world / "metadata.csv",
        data=tiny_config.data,
        workers=1,
    )
    return out
