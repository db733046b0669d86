"""`binge evaluate` end to end on fixtures in the official layouts (generated here) and on
the real FSDD recordings; checks outputs (JSON with config, PNG) and that the numbers agree
with the labels the fixtures were generated with."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.io import wavfile

from binge.cli import main
from binge.data.datasets.sources import AudioSource
from binge.data.logmel import LogMelSettings

from .media_fixtures import make_colour_ucf101, make_tone_esc50

TINY_AUDIO = ["data.sample_rate=8000", "data.n_mels=32", "data.n_fft=256", "data.hop_length=128"]


def _run(argv):
    assert main(["evaluate", *argv]) == 0


def test_linear_and_retrieval_on_tones(tmp_path, capsys):
    root = tmp_path / "esc"
    make_tone_esc50(root)
    common = ["--random-init", "resnet18_audio_tiny", "--dataset", "esc50", "--root", str(root),
              *TINY_AUDIO, "evaluate.clips.audio_seconds=1.0", "evaluate.clips.test_clips=3",
              "evaluate.splits=[1,2]", "evaluate.linear.train_clips=2", "evaluate.linear.cv_folds=2",
              f"evaluate.cache_dir={tmp_path / 'cache'}"]
    _run(["--protocol", "linear", "--out", str(tmp_path / "lin"), *common])
    out = capsys.readouterr().out
    assert "found 12 of 12 listed files" in out and "top1:" in out
    res = json.loads((tmp_path / "lin" / "results.json").read_text())
    assert [r["split"] for r in res["splits"]] == [1, 2]
    assert res["config"]["evaluate"]["linear"]["train_clips"] == 2
    # tones at distinct pitches are separable even by random conv features
    assert res["summary"]["top1"]["mean"] >= 0.8
    for r in res["splits"]:
        cm = np.array(r["confusion_matrix"])
        assert cm.sum() == r["num_test"] == 6
        assert np.trace(cm) / cm.sum() == pytest.approx(r["top1"])
        assert (tmp_path / "lin" / f"confusion_split{r['split']}_seed0.png").stat().st_size > 1000
        assert str(r["cost"]) in r["cv_accuracy"] or r["cost"] in map(float, r["cv_accuracy"])
    _run(["--protocol", "retrieval", "--out", str(tmp_path / "ret"), *common])
    res = json.loads((tmp_path / "ret" / "results.json").read_text())
    for r in res["splits"]:
        assert 0 <= r["R@1"] <= r["R@5"] <= r["R@20"] <= 1
        assert r["R@1"] == pytest.approx(r["top1"])


def test_video_finetune_and_linear(tmp_path):
    root = tmp_path / "ucf"
    make_colour_ucf101(root)
    common = ["--random-init", "r2plus1d_18_tiny", "--dataset", "ucf101", "--root", str(root),
              "evaluate.clips.frames=4", "evaluate.clips.fps=5.0", "evaluate.clips.crop_size=32",
              "evaluate.clips.test_short_side=40", "evaluate.clips.test_clips=2",
              "evaluate.finetune.scale_jitter=[36,44]", "evaluate.batch_size=12"]
    _run(["--protocol", "finetune", "--out", str(tmp_path / "ft"), *common,
          "evaluate.finetune.epochs=2", "evaluate.finetune.warmup_epochs=1", "evaluate.finetune.batch_size=4",
          "evaluate.finetune.lr=0.01"])
    res = json.loads((tmp_path / "ft" / "results.json").read_text())
    r = res["splits"][0]
    assert r["num_test"] == 4 and len(r["train_log"]) == 2
    assert (tmp_path / "ft" / "split1_seed0" / "checkpoints" / "last.pt").is_file()
    _run(["--protocol", "linear", "--out", str(tmp_path / "lin"), *common, "evaluate.linear.train_clips=2"])
    res = json.loads((tmp_path / "lin" / "results.json").read_text())
    assert res["splits"][0]["top1"] >= 0.75  # colour-coded classes


def test_bad_input_errors_name_the_problem(tmp_path, capsys):
    with pytest.raises(SystemExit, match="recordings"):
        main(["evaluate", "--random-init", "resnet18_audio_tiny", "--dataset", "fsdd", "--root", str(tmp_path)])
    with pytest.raises(SystemExit, match="audio encoder"):
        make_tone_esc50(tmp_path / "esc", classes=2, folds=1)
        main(["evaluate", "--random-init", "r2plus1d_18_tiny", "--dataset", "esc50",
              "--root", str(tmp_path / "esc"), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit):  # exactly one encoder source
        main(["evaluate", "--dataset", "fsdd", "--root", str(tmp_path)])


def test_real_fsdd_logmel_matches_librosa(fsdd_root, tmp_path):
    """The real recordings through the decode-once source (media.read_audio at 16 kHz →
    binge.data.logmel) against librosa on the same file; the cached copy is identical."""
    import librosa

    path = fsdd_root / "recordings" / "7_jackson_32.wav"
    settings = LogMelSettings(16000, 64, 1024, 256)
    src = AudioSource([path], settings, tmp_path)
    first, cached = src[0], src[0]
    rate, pcm = wavfile.read(path)
    y = librosa.resample(pcm.astype(np.float64) / 32768, orig_sr=rate, target_sr=16000)
    ref = np.log(librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024, hop_length=256, n_mels=64) + 1e-6)
    assert first.shape[0] == 64 and abs(first.shape[1] - ref.shape[1]) <= 1
    n = min(first.shape[1], ref.shape[1])
    loud = ref[:, :n] > np.log(1e-3)  # resamplers differ in the noise floor, not on the signal
    assert np.median(np.abs(first[:, :n] - ref[:, :n])[loud]) < 0.1
    np.testing.assert_array_equal(first, cached)
    assert len(list(tmp_path.glob("*.npy"))) == 1


def test_features_shared_across_splits_equal_a_run_per_split(tmp_path):
    """Frozen features are extracted once per file and reused by later splits; a split's
    numbers must not depend on which other splits ran before it in the same command."""
    root = tmp_path / "esc"
    make_tone_esc50(root, folds=3)
    common = ["--random-init", "resnet18_audio_tiny", "--dataset", "esc50", "--root", str(root),
              "--protocol", "linear"]
    overrides = [*TINY_AUDIO, "evaluate.clips.audio_seconds=1.0",
              "evaluate.clips.test_clips=3", "evaluate.linear.train_clips=2", "evaluate.linear.cv_folds=2",
              f"evaluate.cache_dir={tmp_path / 'cache'}"]
    _run([*common, "--out", str(tmp_path / "all"), *overrides, "evaluate.splits=[1,2,3]"])
    _run([*common, "--out", str(tmp_path / "three"), *overrides, "evaluate.splits=[3]"])
    together = json.loads((tmp_path / "all" / "results.json").read_text())["splits"][2]
    alone = json.loads((tmp_path / "three" / "results.json").read_text())["splits"][0]
    for key in ("top1", "cost", "cv_accuracy", "confusion_matrix"):
        assert together[key] == alone[key], key
