"""Damaged and mismatched files (issue 13, kinds 3-5): decodable content that differs
from what the header announces (damaged bytes, streams of different lengths, a header
that lies about the duration), audio timestamp gaps, and degenerate streams.

Ground truth: the generators' durations, gaps and event times (a white flash and a
1 kHz click at each event). Asserted: what decodes is kept, in sync (flashes within
one video frame, clicks within a log-mel hop of their time), the kept and lost seconds
and gap counts in the manifest, and the skip reasons of titles with too little usable.
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from binge.data import SnippetDataset
from binge.data.media import DecodeStats, iter_audio, iter_video_frames

from .conftest import CONF_DATA, prepared
from .gen import damage, lie_about_duration, make_clip

EVENTS_17 = (2.0, 6.0, 10.0, 12.0, 14.0)  # 17-s damaged titles
EVENTS_GAP = (3.0, 9.0)  # 12-s titles missing audio packets in [6, 7)
HOP_S = CONF_DATA.hop_length / CONF_DATA.sample_rate
FRAME_S = 1 / CONF_DATA.fps

LENGTHS = {  # name → (video s, audio s)
    f"{kind}.{ext}": (8.0, a) for ext in ("mkv", "mp4", "ts")
    for kind, a in (("audio_longer", 10.0), ("audio_shorter", 5.5))
}
DAMAGED = {f"damaged_{where}.{ext}": frac for ext in ("mkv", "mp4", "ts")
           for where, frac in (("first", 0.03), ("middle", 0.5), ("last", 0.97))}
GAPS = [f"audio_gap.{ext}" for ext in ("mkv", "mp4", "ts")]


@pytest.fixture(scope="module")
def damage_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damage_src")
    for i, (name, (v, a)) in enumerate(LENGTHS.items()):
        make_clip(folder / name, duration_s=v, audio_s=a, fps=10.0, events=(1.0, 4.0), seed=i)
    lie_about_duration(make_clip(folder / "header_10x.mkv", duration_s=8.0, fps=10.0,
                                 events=(1.0, 4.0)))
    for i, (name, frac) in enumerate(DAMAGED.items()):
        damage(make_clip(folder / name, duration_s=17.0, fps=10.0, events=EVENTS_17,
                         faststart=name.endswith(".mp4"), seed=i), frac, seed=i)
    for name in GAPS:
        make_clip(folder / name, duration_s=12.0, fps=10.0, events=EVENTS_GAP,
                  drop_audio=(6.0, 7.0))
    make_clip(folder / "zero_audio.mkv", duration_s=8.0, fps=10.0, audio_samples=0)
    make_clip(folder / "one_frame.mkv", duration_s=8.0, fps=10.0, video_frames=1)
    out = tmp_path_factory.mktemp("damage") / "corpus"
    rows, skipped, report = prepared(folder, out)
    return folder, out, rows, skipped, report


def _events(ds: SnippetDataset, n: int) -> tuple[list[float], list[float]]:
    """(flash onsets, click peak times) over every snippet of title n, in seconds."""
    flashes, clicks = [], []
    for m in range(ds.num_snippets[n]):
        s = ds.get_snippet(n, m)
        bright = s["video"].numpy().mean(axis=(1, 2, 3)) > 128
        for j in np.flatnonzero(bright & ~np.r_[False, bright[:-1]]):
            flashes.append(s["start_s"] + (j + 0.5) * FRAME_S)
        energy = np.exp(s["audio"][0].numpy()).sum(axis=0)
        loud = energy > 100 * np.median(energy)
        for j in np.flatnonzero(loud & ~np.r_[False, loud[:-1]]):
            run = j + np.argmax(energy[j:j + int(0.2 / HOP_S)])
            clicks.append(s["start_s"] + run * HOP_S)
    return flashes, clicks


def _video_start(path) -> float:
    """Time of the first video frame after the time origin (the MPEG-TS muxer delays
    everything by the AAC priming, 64 ms, so that the audio starts at 0)."""
    with av.open(str(path)) as c:
        for packet in c.demux(c.streams.video[0]):  # no B-frames: the first is the earliest
            if packet.pts is not None:
                return float(packet.pts * packet.time_base) - c.start_time / 1e6
    raise AssertionError(f"{path}: no video packet")


def _assert_in_sync(ds, n, events, name, gaps=(), shift=0.0, margin=0.3):
    """Every flash and click of title n sits at an event's time (``shift`` later: the
    source's first video frame time), the flash within one video frame, the click within
    a log-mel hop; and every event is found except within ``margin`` s of a gap (a
    damaged GOP around a gap decodes to concealed pictures)."""
    flashes, clicks = _events(ds, n)
    end = ds.num_snippets[n] * ds.seconds
    expected = [e + shift for e in events if e + shift < end - 0.3]
    visible = [e for e in expected
               if not any(a - margin < e < b + margin for a, b in gaps)]
    for e in visible:
        assert any(e <= f < e + FRAME_S for f in flashes), (name, e, flashes)
        assert any(abs(c - (e + 0.025)) <= 0.025 + HOP_S for c in clicks), (name, e, clicks)
    # nothing anywhere else: no event shifted out of place
    assert all(any(e <= f < e + FRAME_S for e in expected) for f in flashes), (name, flashes)
    assert all(any(abs(c - (e + 0.025)) <= 0.025 + HOP_S for e in expected)
               for c in clicks), (name, clicks)
    return [e - shift for e in visible]


def test_verdicts(damage_corpus):
    _, _, rows, skipped, report = damage_corpus
    assert set(skipped) == {"zero_audio.mkv", "one_frame.mkv"}
    assert "0 samples" in skipped["zero_audio.mkv"]
    assert "shorter than one snippet" in skipped["one_frame.mkv"]
    assert "video 1 of 16 frames at 5 fps" in skipped["one_frame.mkv"]  # counts, not seconds
    assert "audio" not in skipped["one_frame.mkv"].split(";")[0]  # the audio is long enough
    assert set(rows) == set(LENGTHS) | set(DAMAGED) | set(GAPS) | {"header_10x.mkv"}
    assert report.exit_code == 3


@pytest.mark.parametrize("name", sorted(LENGTHS))
def test_streams_of_different_lengths_keep_the_shared_span(damage_corpus, name):
    _, out, rows, _, _ = damage_corpus
    v, a = LENGTHS[name]
    r = rows[name]
    assert r["video_s"] == pytest.approx(v, abs=0.15) and r["audio_s"] == pytest.approx(a, abs=0.15)
    assert r["duration_s"] == pytest.approx(min(v, a), abs=0.15)
    assert r["num_snippets"] == int(min(v, a) // 3.2)
    assert r["lost_s"] == pytest.approx(abs(v - a), abs=0.15)
    assert "both cover" in r["lost_where"]
    ds = SnippetDataset(out, augment=False, crop_size=None, data=CONF_DATA)
    _assert_in_sync(ds, ds.title_ids.index(r["title_id"]), (1.0, 4.0), name,
                    shift=_video_start(damage_corpus[0] / name))


def test_header_announcing_ten_times_the_content(damage_corpus):
    r = damage_corpus[2]["header_10x.mkv"]
    assert r["announced_s"] == pytest.approx(10 * max(r["video_s"], r["audio_s"]), abs=1.0)
    assert r["duration_s"] == pytest.approx(8.0, abs=0.15) and r["num_snippets"] == 2
    assert r["lost_s"] == pytest.approx(r["announced_s"] - r["duration_s"], abs=0.1)
    assert "header announces" in r["lost_where"]


#: most seconds one 1.5-kB hit may cost: FFmpeg's Matroska demuxer resyncs at the next
#: cluster (the muxer closes one every ~5 s / at keyframes), so the rest of a damaged
#: cluster is lost; MP4 and MPEG-TS lose the damaged packets and the GOPs (2 s each) that
#: depend on a damaged keyframe
MAX_LOST_S = {"mkv": 10.0, "mp4": 5.0, "ts": 5.0}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_titles_keep_what_decodes_in_sync(damage_corpus, name):
    """A damaged stretch costs seconds, not the title: the whole 17 s stays (5 snippets;
    video holds a frame and audio is silent over a gap), the lost seconds are the gaps
    plus any shortfall at the end, and the events outside the gaps are in sync."""
    folder, out, rows, _, _ = damage_corpus
    r = rows[name]
    assert r["num_snippets"] == 5, (name, r["duration_s"], r["lost_where"])
    vstats, astats = DecodeStats(), DecodeStats()
    for _ in iter_video_frames(folder / name, CONF_DATA.fps, 64, stats=vstats):
        pass
    for _ in iter_audio(folder / name, CONF_DATA.sample_rate, stats=astats):
        pass
    gaps = vstats.gaps + astats.gaps
    assert r["video_gaps"] == len(vstats.gaps) and r["audio_gaps"] == len(astats.gaps)
    shortfall = max(0.0, r["announced_s"] - max(r["video_s"], r["audio_s"]))
    kept = min(r["video_s"], r["audio_s"])
    covered = np.zeros(int(kept * 1000))  # union of the gaps, on a 1-ms grid
    for a, b in gaps:
        covered[int(a * 1000):int(min(b, kept) * 1000)] = 1
    lost = covered.sum() / 1000 + shortfall + abs(r["video_s"] - r["audio_s"])
    assert r["lost_s"] == pytest.approx(lost, abs=0.05), (name, r["lost_where"])
    assert r["lost_s"] < MAX_LOST_S[name.rsplit(".", 1)[1]], (name, r["lost_where"])
    ds = SnippetDataset(out, augment=False, crop_size=None, data=CONF_DATA)
    seen = _assert_in_sync(ds, ds.title_ids.index(r["title_id"]), EVENTS_17, name, gaps,
                           _video_start(folder / name), margin=2.3)  # a 2-s GOP
    assert len(seen) >= 2, (name, seen, gaps)


@pytest.mark.parametrize("name", GAPS)
def test_audio_timestamp_gap_is_silence_and_keeps_sync(damage_corpus, name):
    _, out, rows, _, _ = damage_corpus
    r = rows[name]
    assert r["audio_gaps"] == 1 and r["video_gaps"] == 0, (name, r["lost_where"])
    assert r["lost_s"] == pytest.approx(1.0, abs=0.1), (name, r["lost_where"])
    assert "audio gaps at 6.0" in r["lost_where"] or "audio gaps at 5.9" in r["lost_where"]
    ds = SnippetDataset(out, augment=False, crop_size=None, data=CONF_DATA)
    _assert_in_sync(ds, ds.title_ids.index(r["title_id"]), EVENTS_GAP, name,
                    shift=_video_start(damage_corpus[0] / name))
