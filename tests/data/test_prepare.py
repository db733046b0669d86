"""binge prepare: bad inputs, exit status, A/V sync against known events, resume, shards."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from binge.cli import main as binge_main
from binge.data import SnippetDataset
from binge.data.corpus import read_manifest
from binge.data.prepare import prepare_corpus

from corpus_compare import explain, mismatches

from .conftest import DURATION, EVENTS, GOOD, corpus_digest
from .synth import make_title

REPO = Path(__file__).resolve().parents[2]


def _skipped(folder: Path) -> dict[str, str]:
    with open(folder / "skipped.csv", newline="") as f:
        return {Path(r["source_path"]).name: r["reason"] for r in csv.DictReader(f)}


def test_bad_inputs_are_skipped_with_reasons_and_good_ones_kept(messy_corpus, messy_titles):
    out, report = messy_corpus
    _, bad = messy_titles
    rows = read_manifest(out)
    cut = [r for r in rows if r["title_id"] == "truncated"]  # the truncated MKV: kept
    assert len(cut) == 1 and cut[0]["num_snippets"] == 1, cut
    assert 3.0 < cut[0]["lost_s"] < 5.0 and "header announces" in cut[0]["lost_where"]
    rows = [r for r in rows if r["title_id"] != "truncated"]
    assert sorted(r["title_id"] for r in rows) == sorted(Path(n).stem for n in GOOD)
    skipped = _skipped(out)
    assert set(skipped) == set(bad)
    for name, word in bad.items():
        assert word in skipped[name], (name, skipped[name])
    assert report.exit_code == 3
    for r in rows:  # 8 s titles → 2 snippets of 3.2 s, whatever the source format
        assert r["num_snippets"] == int(DURATION // 3.2)
        assert r["num_video_frames"] == DURATION * 5
        assert min(r["width"], r["height"]) == 64
    by_id = {r["title_id"]: r for r in rows}
    assert by_id["surround"]["source_channels"] == 6
    assert by_id["lowrate"]["source_sample_rate"] == 8_000
    assert (by_id["multi"]["source_width"], by_id["multi"]["source_sample_rate"]) == (160, 44_100)


def test_snippets_in_sync_with_known_events(messy_corpus, tiny_data):
    """Flash frames and click log-mel frames of loaded snippets sit at the event times."""
    out, _ = messy_corpus
    ds = SnippetDataset(out, augment=False, crop_size=None, data=tiny_data)
    hop_s = tiny_data.hop_length / tiny_data.sample_rate
    checked = 0
    for n, tid in enumerate(ds.title_ids):
        for m in range(ds.num_snippets[n]):
            s = ds[(n, m)]
            assert (s["start_s"], s["end_s"]) == pytest.approx((m * 3.2, (m + 1) * 3.2))
            video, audio = s["video"].numpy(), s["audio"][0].numpy()
            assert video.shape[0] == 16 and audio.shape == (64, 200)
            events = [e for e in EVENTS if s["start_s"] <= e < s["end_s"] - 0.2]
            bright = np.flatnonzero(video.mean(axis=(1, 2, 3)) > 128)
            frame_times = s["start_s"] + (bright + 0.5) / 5
            assert len(bright) == len(events), (tid, m)
            for e, t in zip(events, frame_times):
                assert e <= t < e + 0.2, (tid, m, e, t)  # the flash lasts [e, e + 0.2)
            # loudest audio frames: the click [e, e + 0.05) ± one window half-width
            energy = np.exp(audio).sum(axis=0)
            for e in events:
                local = np.arange(audio.shape[1])
                t_frames = s["start_s"] + local * hop_s
                window = np.abs(t_frames - (e + 0.025)) < 0.25
                peak_t = t_frames[window][np.argmax(energy[window])]
                assert abs(peak_t - (e + 0.025)) <= 0.025 + hop_s, (tid, m, e, peak_t)
                quiet = energy[np.abs(t_frames - e) > 0.2]
                assert energy[window].max() > 100 * np.median(quiet)
                checked += 1
    assert checked == len(GOOD) * len(EVENTS) + 1  # + the kept 1-snippet truncated MKV (1.0 s)


def test_cli_exit_status(good_titles, messy_titles, tmp_path, capsys):
    tiny = str(REPO / "configs" / "tiny.yaml")
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.mp4").write_bytes((good_titles / "plain.mp4").read_bytes())
    assert binge_main(["prepare", str(one), "--out", str(tmp_path / "c1"), "--config", tiny,
                       "--quiet"]) == 0
    assert _skipped(tmp_path / "c1") == {}
    (one / "bad.mp4").write_bytes(b"")
    assert binge_main(["prepare", str(one), "--out", str(tmp_path / "c1"), "--config", tiny,
                       "--quiet"]) == 3
    # same folder, other parameters: refused with a message that says so (a user error: 2)
    assert binge_main(["prepare", str(one), "--out", str(tmp_path / "c1"), "--quiet"]) == 2
    assert "prepared with other parameters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        binge_main(["prepare", str(one), "--out", str(tmp_path / "c2"), "--shard", "3/2"])


def test_user_metadata_csv_groups_and_split_win(good_titles, tiny_data, tmp_path):
    meta = tmp_path / "meta" / "list.csv"
    meta.parent.mkdir()
    names = sorted(GOOD)
    rows = ["path,group,split"] + [
        f"{os.path.relpath(good_titles / n, meta.parent)},{'showA' if i < 3 else 'showB'},"
        f"{'heldout' if i == 4 else ''}" for i, n in enumerate(names)]
    meta.write_text("\n".join(rows) + "\n")
    prepare_corpus([], tmp_path / "c", metadata=meta, data=tiny_data, progress=False)
    got = {r["title_id"]: (r["group"], r["split"]) for r in read_manifest(tmp_path / "c")}
    expect_group = {Path(n).stem: ("showA" if i < 3 else "showB") for i, n in enumerate(names)}
    assert {k: g for k, (g, _) in got.items()} == expect_group
    assert got[Path(names[4]).stem][1] == "heldout"  # the user's split wins
    held = {g for g, s in got.values() if s == "heldout"}
    train = {g for g, s in got.values() if s == "train"}
    assert len(held) >= 1 and len(train) >= 1


def test_resume_never_redoes_done_titles_and_rebuilds_partial(good_titles, tiny_data, tmp_path):
    out = tmp_path / "c"
    prepare_corpus([good_titles], out, data=tiny_data, progress=False)
    before = corpus_digest(out)
    done = out / "titles" / "plain" / "video.mp4"
    mtime = done.stat().st_mtime_ns
    # a half-written title: its final folder missing, a partial folder with junk
    import shutil

    shutil.rmtree(out / "titles" / "vfr")
    partial = out / "titles" / ".vfr.partial"
    partial.mkdir()
    (partial / "video.mp4").write_bytes(b"half")
    report = prepare_corpus([good_titles], out, data=tiny_data, progress=False)
    assert (report.new, report.reused) == (1, len(GOOD) - 1)
    assert done.stat().st_mtime_ns == mtime
    assert not partial.exists()
    assert corpus_digest(out) == before


def test_shards_then_assembly_equal_one_run(good_titles, tiny_data, tmp_path):
    prepare_corpus([good_titles], tmp_path / "one", data=tiny_data, progress=False)
    for i in range(3):
        r = prepare_corpus([good_titles], tmp_path / "sh", data=tiny_data, shard=(i, 3),
                           progress=False)
        assert r.manifest is None
    assert not (tmp_path / "sh" / "manifest.csv").exists()
    r = prepare_corpus([good_titles], tmp_path / "sh", data=tiny_data, progress=False)
    assert (r.new, r.reused) == (0, len(GOOD))
    def digests(folder):
        return {k: v for k, v in corpus_digest(folder).items() if not k.startswith("shards/")}

    assert not mismatches(tmp_path / "sh", tmp_path / "one", digests), \
        explain(tmp_path / "sh", tmp_path / "one", digests)


@pytest.mark.slow
def test_kill9_then_rerun_gives_identical_corpus(tmp_path, tiny_data):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        make_title(src / f"t{i}.mp4", duration_s=12.0, events=(3.0, 11.0), size=(240, 160),
                   seed=i)
    tiny = str(REPO / "configs" / "tiny.yaml")
    cmd = [sys.executable, "-m", "binge", "prepare", str(src), "--config", tiny, "--quiet"]
    subprocess.run(cmd + ["--out", str(tmp_path / "ref")], check=True, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(cmd + ["--out", str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    titles = killed / "titles"
    while time.time() < deadline and proc.poll() is None:
        # kill in the middle of a title, after at least one title is done
        if titles.is_dir() and any((titles / f"t{i}" / "meta.json").exists() for i in range(3)) \
                and any(p.name.endswith(".partial") for p in titles.iterdir()):
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "prepare finished before it could be killed"
    assert not (killed / "manifest.csv").exists()
    assert any(p.name.endswith(".partial") for p in titles.iterdir())
    done_before = {p.name for p in titles.iterdir() if (p / "meta.json").exists()}
    mtimes = {t: (titles / t / "video.mp4").stat().st_mtime_ns for t in done_before}
    rerun = subprocess.run(cmd + ["--out", str(killed)], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(done_before)} already done" in rerun.stdout
    assert {t: (titles / t / "video.mp4").stat().st_mtime_ns for t in done_before} == mtimes
    # byte-identical, but for an H.264 stream libx264 encoded otherwise (tests/corpus_compare.py)
    assert not mismatches(killed, tmp_path / "ref", corpus_digest), \
        explain(killed, tmp_path / "ref", corpus_digest)


@pytest.mark.slow
def test_real_clips(av_clips, tiny_data, tmp_path):
    """VP8/Vorbis WebM, MP3-in-MP4, 6-channel AAC, 2+2 streams, and a 1-second title."""
    report = prepare_corpus([av_clips], tmp_path / "c", data=tiny_data, workers=2,
                            progress=False)
    assert report.exit_code == 3
    assert [Path(p).name for p, _ in report.skipped] == ["big_buck_bunny_432_433.webm"]
    assert "shorter than one snippet" in report.skipped[0][1]
    rows = {r["title_id"]: r for r in read_manifest(tmp_path / "c")}
    assert set(rows) == {"big_buck_bunny_0_30", "big_buck_bunny_6ch", "nasa_13013", "sintel_5s"}
    assert rows["big_buck_bunny_0_30"]["num_snippets"] == 9  # 30 s // 3.2 s
    assert (rows["nasa_13013"]["source_width"], rows["nasa_13013"]["source_sample_rate"]) == \
        (480, 16_000)
    assert rows["big_buck_bunny_6ch"]["source_channels"] == 6
    ds = SnippetDataset(tmp_path / "c", augment=True, crop_size=56, data=tiny_data)
    s = ds[(0, 8)]
    assert s["video"].shape == (16, 56, 56, 3) and s["audio"].shape == (1, 64, 200)
