"""Where ``binge evaluate`` keeps its decode-once cache, and that encoders never read each other's
entries wrongly (issue 15). The rule (docs/cli.md, ``binge evaluate --help``): the cache is
``evaluate.cache_dir`` when the config sets it, else ``<out>/cache`` where ``<out>`` is ``--out``
when given, else ``evaluate.out_dir``. It holds decoded inputs (frames, log-mel), never an
encoder's outputs; an entry's key is the file (path, size, mtime) and every decode setting, so
two encoders share an entry only when they read exactly the same input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))

from media_fixtures import make_tone_esc50  # noqa: E402

from binge.cli import main  # noqa: E402

SMALL = ["--dataset", "esc50", "--protocol", "linear", "data.sample_rate=8000", "data.n_fft=256",
         "data.hop_length=128", "evaluate.clips.audio_seconds=1.0", "evaluate.clips.test_clips=2",
         "evaluate.splits=[1]", "evaluate.linear.train_clips=1", "evaluate.linear.cv_folds=2",
         "evaluate.linear.costs=[1.0]"]


def _entries(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.npy")} if folder.is_dir() else set()


def _results(folder: Path) -> list:
    """The per-split results (predictions' accuracy, confusion matrix) without timings."""
    rows = json.loads((folder / "results.json").read_text())["splits"]
    return [{k: v for k, v in row.items() if k not in ("seconds", "confusion_png")} for row in rows]


def test_cache_goes_under_out_unless_the_config_names_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "esc"
    make_tone_esc50(root, classes=2, folds=2)
    common = ["--random-init", "resnet18_audio_tiny", "--root", str(root), *SMALL,
              "data.n_mels=32", "evaluate.out_dir=evals"]
    assert main(["evaluate", *common, "--out", "mine"]) == 0
    assert _entries(tmp_path / "mine" / "cache")  # under --out ...
    assert not (tmp_path / "evals").exists()  # ... not under evaluate.out_dir
    assert main(["evaluate", *common, "--out", "theirs", "evaluate.cache_dir=shared"]) == 0
    assert _entries(tmp_path / "shared") and not (tmp_path / "theirs" / "cache").exists()


def test_encoders_with_other_inputs_never_share_entries(tmp_path, monkeypatch):
    """Two encoders reading other log-mel (32 vs 16 mels) through one shared cache: each gets
    its own entries, and each one's results equal a run without any cache (the reference)."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "esc"
    make_tone_esc50(root, classes=2, folds=2)
    base = ["--root", str(root), *SMALL, "evaluate.cache_dir=shared"]
    runs = {}
    for mels, model in (("32", "resnet18_audio_tiny"), ("16", "resnet18_audio_tiny")):
        args = ["--random-init", model, *base, f"data.n_mels={mels}"]
        assert main(["evaluate", *args, "--out", f"cached{mels}"]) == 0
        runs[mels] = _entries(tmp_path / "shared")
        assert main(["evaluate", *args, "--out", f"plain{mels}", "evaluate.cache=false"]) == 0
        assert _results(tmp_path / f"cached{mels}") == _results(tmp_path / f"plain{mels}")
    assert runs["32"] < runs["16"]  # the second encoder added its own entries
    assert len(runs["16"]) == 2 * len(runs["32"])  # and read none of the first one's


def test_an_entry_holds_exactly_its_settings_decode(tmp_path):
    """Read through one shared cache with two log-mel settings, each source returns what
    decoding without a cache returns for its settings (the reference), in either order."""
    import numpy as np

    from binge.config import DataConfig
    from binge.data.datasets.sources import AudioSource
    from binge.data.logmel import LogMelSettings

    root = tmp_path / "esc"
    make_tone_esc50(root, classes=2, folds=1)
    files = sorted(root.rglob("*.wav"))[:2]
    assert files
    settings = [LogMelSettings.from_config(DataConfig(sample_rate=8000, n_fft=256, hop_length=128,
                                                      n_mels=m)) for m in (32, 16)]
    for order in (settings, settings[::-1]):
        cache = tmp_path / f"cache{order[0].n_mels}"
        for s in order:
            cached, plain = AudioSource(files, s, cache), AudioSource(files, s, None)
            for i in range(len(files)):
                assert cached[i].shape[0] == s.n_mels
                np.testing.assert_array_equal(cached[i], plain[i])
        assert len(list(cache.glob("*.npy"))) == 2 * len(files)
