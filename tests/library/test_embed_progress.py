"""binge embed's progress (issue 17): media-hours done / total, × real time and snippets/s.
References: the corpus manifest (M_n snippets per title) and L = frames / fps of the config;
a fake clock for the rates."""

from __future__ import annotations

import csv
import re

import pytest

import binge.data.media_progress as mp


def test_bar_rates_against_a_fake_clock(monkeypatch):
    clock = iter([100.0, 110.0, 110.0, 110.0, 110.0])  # t0, then every rate read 10 s later
    monkeypatch.setattr(mp.time, "monotonic", lambda: next(clock, 110.0))
    bar = mp.MediaHoursBar(3600.0, 2, desc="embed", disable=True, item_unit="snippets")
    bar.add("a", 320.0, items=100)   # 100 snippets of 3.2 s in 10 s
    assert bar.rate() == pytest.approx(32.0) and bar.item_rate() == pytest.approx(10.0)
    assert bar.items == 100
    bar.close()


def test_bar_without_item_unit_shows_no_item_rate():
    bar = mp.MediaHoursBar(10.0, 1, disable=True)
    bar.add("a", 5.0)
    assert "/s" not in str(bar.bar.postfix) and "× real time" in str(bar.bar.postfix)
    bar.close()


def test_embed_reports_media_hours_of_every_snippet(tiny_export, tiny_corpus, tiny_config,
                                                     tmp_path, monkeypatch, capsys):
    from binge.library import embed_library

    events = []

    class Recording(mp.MediaHoursBar):
        def __init__(self, total_s, titles, **kw):
            events.append(("total", total_s, titles, kw.get("item_unit")))
            super().__init__(total_s, titles, **kw)

        def add(self, title, seconds, items=0):
            events.append(("add", title, seconds, items))
            super().add(title, seconds, items)

        def finish(self, title, duration_s):
            events.append(("finish", title, duration_s))
            super().finish(title, duration_s)

    monkeypatch.setattr(mp, "MediaHoursBar", Recording)
    embed_library(tiny_export, tmp_path / "lib", corpus=tiny_corpus, split="heldout",
                  batch_size=2, workers=0, progress=True)

    L = tiny_config.data.frames / tiny_config.data.fps
    with open(tiny_corpus / "manifest.csv") as f:
        m = {r["title_id"]: int(r["num_snippets"]) for r in csv.DictReader(f)
             if r["split"] == "heldout" and int(r["num_snippets"]) > 0}
    assert events[0] == ("total", pytest.approx(sum(m.values()) * L), len(m), "snippets")
    adds = [e for e in events if e[0] == "add"]
    for title, n in m.items():
        assert sum(e[2] for e in adds if e[1] == title) == pytest.approx(n * L)
        assert sum(e[3] for e in adds if e[1] == title) == n
    assert [e[1] for e in events if e[0] == "finish"] == list(m)  # each title completed once
    assert max(e[3] for e in adds) <= 2 and len(adds) > len(m)  # progress inside a title
    err = capsys.readouterr().err
    hours = f"{sum(m.values()) * L / 3600:.2f}"
    assert f"{hours}/{hours} media-h" in err
    assert re.search(r"\d+\.\d× real time, \d+\.\d snippets/s, %d/%d titles" % (len(m), len(m)), err)
