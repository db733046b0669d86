"""The downstream sets come out exactly in the UCF101 and ESC-50 layouts."""

from __future__ import annotations

import csv
import re
import wave

import av
import pytest

from binge.world import EVENT_NAMES, get_preset
from binge.world.downstream import camel, ucf_test_groups

CLIP = re.compile(r"^v_([A-Za-z]+)_g(\d\d)_c(\d\d)\.avi$")
ESC_NAME = re.compile(r"^(\d)-(\d+)-([A-Z])-(\d+)\.wav$")


def _lines(path):
    data = path.read_bytes()
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b""), f"{path}: not CRLF"
    return data.decode().split("\r\n")[:-1]


def test_ucf_test_groups_follow_ucf101():
    # UCF101 itself: 25 groups, test groups 1–7, 8–14, 15–21
    assert [sorted(ucf_test_groups(25, s)) for s in (1, 2, 3)] == [
        list(range(1, 8)), list(range(8, 15)), list(range(15, 22))
    ]
    with pytest.raises(ValueError):
        ucf_test_groups(2, 1)


def test_world_action_is_in_ucf101_layout(tiny_world):
    root = tiny_world / "downstream" / "world-action"
    preset = get_preset("tiny")
    classes = [camel(e) for e in EVENT_NAMES]
    assert _lines(root / "ucfTrainTestlist" / "classInd.txt") == [f"{i + 1} {c}" for i, c in enumerate(classes)]
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "ucfTrainTestlist")
    assert folders == sorted(classes)
    clips = set()
    for c in classes:
        for p in (root / c).iterdir():
            m = CLIP.match(p.name)
            assert m and m.group(1) == c, p
            clips.add(f"{c}/{p.name}")
    assert len(clips) == len(classes) * preset.downstream_shows * preset.action_clips
    names = sorted((root / "ucfTrainTestlist").iterdir())
    assert [p.name for p in names] == ["classInd.txt"] + [f"testlist0{s}.txt" for s in (1, 2, 3)] + [
        f"trainlist0{s}.txt" for s in (1, 2, 3)
    ]
    for s in (1, 2, 3):
        train = [line.split(" ") for line in _lines(root / "ucfTrainTestlist" / f"trainlist0{s}.txt")]
        test = _lines(root / "ucfTrainTestlist" / f"testlist0{s}.txt")
        assert all(len(t) == 2 and classes[int(t[1]) - 1] == t[0].split("/")[0] for t in train)
        assert all(" " not in t for t in test)
        train_paths = [t[0] for t in train]
        assert set(train_paths) | set(test) == clips and not set(train_paths) & set(test)
        group = lambda rel: int(CLIP.match(rel.split("/")[1]).group(2))  # noqa: E731
        test_groups = {group(t) for t in test}
        assert test_groups == ucf_test_groups(preset.downstream_shows, s)
        assert not test_groups & {group(t) for t in train_paths}  # group-disjoint
    with av.open(str(root / sorted(clips)[0])) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "mpeg4" and c.format.name == "avi"
        n = sum(1 for _ in c.decode(video=0))
        assert n == round(preset.action_seconds * preset.fps)


def test_world_sound_is_in_esc50_layout(tiny_world):
    root = tiny_world / "downstream" / "world-sound"
    preset = get_preset("tiny")
    raw = (root / "meta" / "esc50.csv").read_text()
    assert raw.splitlines()[0] == "filename,fold,target,category,esc10,src_file,take"
    rows = list(csv.DictReader(raw.splitlines()))
    assert [r["filename"] for r in rows] == sorted(r["filename"] for r in rows)
    assert sorted(p.name for p in (root / "audio").iterdir()) == [r["filename"] for r in rows]
    assert {int(r["fold"]) for r in rows} == {1, 2, 3, 4, 5}
    fold_of_src = {}
    for r in rows:
        fold, src, take, target = ESC_NAME.match(r["filename"]).groups()
        assert (fold, src, take, target) == (r["fold"], r["src_file"], r["take"], r["target"])
        assert r["category"] == EVENT_NAMES[int(target)] and r["esc10"] in ("True", "False")
        assert fold_of_src.setdefault(src, fold) == fold  # a source's takes share its fold
    per_class = len(rows) // len(EVENT_NAMES)
    assert all(sum(r["target"] == str(c) for r in rows) == per_class for c in range(len(EVENT_NAMES)))
    with wave.open(str(root / "audio" / rows[0]["filename"])) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, preset.sound_rate)
        assert w.getnframes() == int(preset.sound_seconds * preset.sound_rate)
