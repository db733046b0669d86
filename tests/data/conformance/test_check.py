"""``binge check`` (issue 13): its verdicts, reasons, title ids, durations and gaps agree
with what ``binge prepare`` then does with the same files."""

from __future__ import annotations

import csv
import hashlib
from fractions import Fraction

import pytest

from binge.cli import main as binge_main
from binge.data.check import check_sources

from .conftest import CONF_DATA, prepared
from .gen import damage, disc, lie_about_duration, make_clip


@pytest.fixture(scope="module")
def checked_folder(tmp_path_factory):
    src = tmp_path_factory.mktemp("check_src")
    clip = dict(fps=10.0, events=(1.0,))
    make_clip(src / "good.mp4", duration_s=4.0, **clip)
    make_clip(src / "hd_untagged.mkv", duration_s=4.0, size=(1280, 720), tag=False,
              matrix="bt709", fps=5.0)
    make_clip(src / "anamorphic.mkv", duration_s=4.0, size=(96, 64), sar=Fraction(4, 3),
              image=lambda t: disc(96, 64, Fraction(4, 3)), fps=5.0)
    make_clip(src / "phone.mp4", duration_s=4.0, size=(48, 64), rotation=90, fps=5.0)
    make_clip(src / "zero_audio.mkv", duration_s=4.0, audio_samples=0, **clip)
    make_clip(src / "one_frame.mkv", duration_s=4.0, video_frames=1, **clip)
    make_clip(src / "noaudio.mp4", duration_s=4.0, audio=False, **clip)
    make_clip(src / "short.mp4", duration_s=1.5, **clip)
    make_clip(src / "audio_shorter.ts", duration_s=4.0, audio_s=2.5, **clip)
    make_clip(src / "audio_longer.mp4", duration_s=4.0, audio_s=6.0, **clip)
    lie_about_duration(make_clip(src / "header_10x.mkv", duration_s=4.0, **clip))
    damage(make_clip(src / "damaged.ts", duration_s=8.0, **clip), 0.5)
    make_clip(src / "gap.mkv", duration_s=8.0, drop_audio=(4.0, 5.0), **clip)
    make_clip(src / "a b.mp4", duration_s=4.0, **clip)
    make_clip(src / "a_b.mp4", duration_s=4.0, **clip)
    make_clip(src / "Épisode 1 – été.mp4", duration_s=4.0, **clip)
    (src / "empty.mkv").write_bytes(b"")
    (src / "garbage.mp4").write_bytes(hashlib.sha256(b"x").digest() * 2000)
    return src


def test_check_agrees_with_prepare(checked_folder, tmp_path):
    rows = {r["source_path"].rsplit("/", 1)[1]: r
            for r in check_sources([checked_folder], data=CONF_DATA, progress=False)}
    prep, skipped, _ = prepared(checked_folder, tmp_path / "corpus")
    assert set(rows) == set(prep) | set(skipped)
    assert {n for n, r in rows.items() if r["verdict"] == "skip"} == set(skipped)
    assert set(skipped) == {"zero_audio.mkv", "one_frame.mkv", "noaudio.mp4", "short.mp4",
                            "audio_shorter.ts", "empty.mkv", "garbage.mp4"}
    for name, reason in skipped.items():  # the same reason, up to the measured seconds
        assert rows[name]["reason"].split("(")[0] == reason.split("(")[0], (name, reason)
    for name, r in prep.items():
        c = rows[name]
        assert c["title_id"] == r["title_id"], name
        assert c["colour"] == r["source_colour"], name
        assert c["video_s"] == pytest.approx(r["video_s"], abs=0.2), name
        assert c["audio_s"] == pytest.approx(r["audio_s"], abs=0.2), name
        assert c["audio_gaps"] == r["audio_gaps"], name
        if name == "damaged.ts":  # pictures lost in decoding: only prepare sees them
            assert 0 < c["lost_s"] <= r["lost_s"] + 0.05, (c["lost_where"], r["lost_where"])
        else:
            assert c["lost_s"] == pytest.approx(r["lost_s"], abs=0.3), (
                name, c["lost_where"], r["lost_where"])
    assert rows["anamorphic.mkv"]["geometry"] == "96x64, SAR 4/3, shown 128x64"
    assert rows["phone.mp4"]["geometry"] == "48x64, rotation 90, shown 64x48"
    assert rows["hd_untagged.mkv"]["colour"] == "bt709 limited (untagged HD)"


def test_check_cli_writes_csv_and_exit_status(checked_folder, tmp_path, capsys):
    out = tmp_path / "check.csv"
    tiny = str(__import__("pathlib").Path(__file__).parents[3] / "configs" / "tiny.yaml")
    code = binge_main(["check", str(checked_folder), "--out", str(out), "--config", tiny,
                       "--quiet"])
    assert code == 3  # some files will be skipped
    with open(out, newline="") as f:
        rows = {r["source_path"].rsplit("/", 1)[1]: r for r in csv.DictReader(f)}
    assert rows["good.mp4"]["verdict"] == "prepare"
    assert rows["empty.mkv"]["verdict"] == "skip" and "empty" in rows["empty.mkv"]["reason"]
    assert "to skip" in capsys.readouterr().out
    good = checked_folder / "good.mp4"
    assert binge_main(["check", str(good), "--config", tiny, "--quiet"]) == 0


def test_prepare_report_lists_what_was_lost(checked_folder, tmp_path, capsys):
    tiny = str(__import__("pathlib").Path(__file__).parents[3] / "configs" / "tiny.yaml")
    code = binge_main(["prepare", str(checked_folder / "gap.mkv"), "--out",
                       str(tmp_path / "c"), "--config", tiny, "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "gap: lost 1.0" in out and "audio gaps at 4.0" in out, out


def test_packet_scan_agrees_with_decoding_on_real_clips(av_clips):
    """Real files (VP8/Vorbis, H.264 with B-frames, MP3, 2 + 2 streams): the packet scan
    finds the same stream ends and no gaps where decoding finds none (B-frames arrive out
    of presentation order and must not look like gaps)."""
    from binge.data.media import DecodeStats, iter_audio, iter_video_frames, scan_packets

    for path in sorted(av_clips.iterdir()):
        v, a = DecodeStats(), DecodeStats()
        for _ in iter_video_frames(path, 5.0, 64, stats=v):
            pass
        for _ in iter_audio(path, 16_000, stats=a):
            pass
        _, sv, sa = scan_packets(path)
        assert (sv.gaps, sa.gaps) == (v.gaps, a.gaps) == ([], []), path.name
        assert sv.end_s == pytest.approx(v.end_s, abs=0.05), path.name
        assert sa.end_s == pytest.approx(a.end_s, abs=0.05), path.name
