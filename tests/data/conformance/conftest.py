"""Fixtures of the conformance suite: prepare settings and a helper that prepares a
folder once and returns its manifest rows and skip reasons by file name."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from binge.config import DataConfig

#: the tiny config's snippet geometry (16 frames at 5 fps: L = 3.2 s), 16 kHz audio
CONF_DATA = DataConfig(frames=16, fps=5.0, short_side=64, sample_rate=16_000, n_mels=64,
                       n_fft=1024, hop_length=256)


def prepared(folder: Path, out: Path, data: DataConfig = CONF_DATA):
    """Prepare ``folder`` into ``out``; return (rows by source file name, skip reasons by
    file name, the PrepareReport)."""
    from binge.data.corpus import read_manifest
    from binge.data.prepare import prepare_corpus

    report = prepare_corpus([folder], out, data=data, progress=False)
    rows = {Path(r["source_path"]).name: r for r in read_manifest(out)}
    with open(out / "skipped.csv", newline="") as f:
        skipped = {Path(r["source_path"]).name: r["reason"] for r in csv.DictReader(f)}
    return rows, skipped, report


@pytest.fixture(scope="session")
def conf_data() -> DataConfig:
    return CONF_DATA
