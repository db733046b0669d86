"""The Free Spoken Digit Dataset (Jakobovski et al.), the real benchmark runnable here.

Layout: ``root/recordings/{digit}_{speaker}_{index}.wav`` (8 kHz mono). The conventional
split tests on indices 0–4 of every speaker and digit and trains on the rest; there is one
split. Files whose names do not follow the pattern are an error that names them.
"""

from __future__ import annotations

import re
from pathlib import Path

from binge.data.datasets.base import (DatasetLayoutError, DownstreamSplit, Sample, check_split,
                                       layout_fix, require)

__all__ = ["load_fsdd", "TEST_INDICES", "SPLITS"]

SPLITS = (1,)
TEST_INDICES = range(0, 5)
_NAME = re.compile(r"^(?P<digit>\d)_(?P<speaker>[A-Za-z]+)_(?P<index>\d+)\.wav$")
_FIX = "Clone free-spoken-digit-dataset and point the root at the folder holding recordings/."


def load_fsdd(
    root: str | Path, split: int = 1, name: str = "fsdd", verbose: bool = True
) -> DownstreamSplit:
    """Training: indices ≥ 5; test: indices 0–4; label: the digit."""
    check_split(name, split, SPLITS)
    recordings = require(Path(root) / "recordings", name, layout_fix(name, root, _FIX))
    wavs = sorted(recordings.glob("*.wav"))
    bad = [p.name for p in wavs if not _NAME.match(p.name)]
    if bad:
        raise DatasetLayoutError(
            f"{name}: {len(bad)} file(s) in {recordings} do not follow "
            f"'{{digit}}_{{speaker}}_{{index}}.wav': {bad[:20]}"
        )
    if not wavs:
        raise DatasetLayoutError(f"{name}: no .wav files in {recordings}. {_FIX}")
    train: list[Sample] = []
    test: list[Sample] = []
    for path in wavs:
        m = _NAME.match(path.name)
        assert m is not None  # checked above
        sample = Sample(path, int(m.group("digit")), path.stem)
        (test if int(m.group("index")) in TEST_INDICES else train).append(sample)
    speakers = {_NAME.match(p.name).group("speaker") for p in wavs}  # type: ignore[union-attr]
    if verbose:
        print(
            f"[{name}] {recordings}: found {len(wavs)} files ({len(train)} train, "
            f"{len(test)} test; {len(speakers)} speakers)"
        )
    return DownstreamSplit(name, split, "audio", [str(d) for d in range(10)], train, test)
