"""Prepare's progress in media-hours: in-title reports (every snippet's frames) reach the bar
while a title is transcoded, in one process and from worker processes; the bar ends at the total
probed duration; the rate is media seconds per wall second."""

from __future__ import annotations

import json

import pytest

import binge.data.prepare as prepare_mod
from binge.data.media_progress import MediaHoursBar, frame_reporter, report, set_sink


class _Recording(MediaHoursBar):
    events: list = []

    def __init__(self, total_s, titles, desc="prepare", disable=False):
        super().__init__(total_s, titles, desc, disable=True)
        _Recording.events = [("total", total_s, titles)]

    def add(self, title, seconds):
        _Recording.events.append(("add", title, seconds, title in self.finished))
        super().add(title, seconds)

    def finish(self, title, duration_s):
        _Recording.events.append(("finish", title, duration_s))
        super().finish(title, duration_s)

    def close(self):
        _Recording.events.append(("close", self.done_s, self.total_s))
        super().close()


def test_bar_counts_in_title_progress_and_ends_at_total():
    bar = MediaHoursBar(100.0, 2, disable=True)
    bar.add("a", 30.0)
    bar.finish("a", 60.0)         # the rest of a: 30 s
    bar.add("a", 5.0)             # late report of a finished title: ignored
    bar.add("b", 10.0)
    bar.finish("b", 40.0)
    assert bar.done_s == pytest.approx(100.0) and bar.done_titles == 2
    assert bar.per_title == {"a": 60.0, "b": 40.0}
    assert bar.rate() > 0
    bar.close()


def test_frame_reporter_reports_each_snippet_in_seconds():
    got = []
    set_sink(lambda title, s: got.append((title, s)))
    try:
        cb = frame_reporter("t", fps=5.0, every=16)
        for written in range(1, 50):
            cb(written)
        report("t", 0.0)  # nothing to report
    finally:
        set_sink(None)
    assert got == [("t", 3.2)] * 3


@pytest.mark.parametrize("workers", [1, 2])
def test_prepare_reports_inside_titles(tiny_world, tiny_config, tmp_path, monkeypatch, workers):
    monkeypatch.setattr(prepare_mod, "MediaHoursBar", _Recording)
    out = tmp_path / "corpus"
    meta = tiny_world / "metadata.csv"
    titles = sorted((tiny_world / "titles").glob("*.mp4"))[:3]
    prepare_mod.prepare_corpus(titles, out, metadata=meta, data=tiny_config.data, workers=workers,
                               progress=True)
    events = _Recording.events
    _, total_s, n = events[0]
    assert n == 3
    assert total_s == pytest.approx(sum(prepare_mod.probe(t).duration_s for t in titles))
    finishes = [e for e in events if e[0] == "finish"]
    assert len(finishes) == 3
    in_title = 0.0
    for _, title, duration in finishes:
        during = [e for e in events[:events.index(("finish", title, duration))]
                  if e[0] == "add" and e[1] == title]
        in_title += sum(e[2] for e in during)
        meta_row = json.loads((out / "titles" / title / "meta.json").read_text())
        transcoded_s = meta_row["num_video_frames"] / tiny_config.data.fps
        snippet_s = tiny_config.data.snippet_seconds
        if workers == 1:  # in one process every report lands before its title finishes
            assert transcoded_s - snippet_s <= sum(e[2] for e in during) <= transcoded_s + 1e-6, title
    # from worker processes the reports come through a queue (a late one is ignored by the bar)
    assert in_title > 0
    close = events[-1]
    assert close[0] == "close" and close[1] == pytest.approx(close[2])
