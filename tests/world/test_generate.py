"""The world's files, metadata, determinism, idempotency and CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil

import av
import numpy as np
import pytest

from binge.cli import main
from binge.world import METADATA_COLUMNS, WorldError, generate_world, get_preset
from binge.world.generate_title import CAST, render_title
from binge.world.plan import plan_titles


def _digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_metadata_and_media(tiny_world):
    with open(tiny_world / "metadata.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == METADATA_COLUMNS
        rows = list(reader)
    preset = get_preset("tiny")
    episodes = [r for r in rows if r["kind"] == "episode"]
    movies = [r for r in rows if r["kind"] == "movie"]
    assert len({r["group"] for r in episodes}) == preset.shows >= 5
    assert len(movies) == preset.movies and all(r["group"] == r["title_id"] for r in movies)
    assert all(r["group"] != r["title_id"] for r in episodes)
    for r in rows:
        path = tiny_world / r["path"]
        assert path.is_file() and r["path"] == f"titles/{r['title_id']}.mp4"
        gt = json.loads((tiny_world / "ground_truth" / f"{r['title_id']}.json").read_text())
        assert (gt["group"], gt["genre"], gt["kind"]) == (r["group"], r["genre"], r["kind"])
        with av.open(str(path)) as c:
            v, a = c.streams.video[0], c.streams.audio[0]
            assert (v.codec_context.name, a.codec_context.name) == ("h264", "aac")
            duration = float(c.duration) / av.time_base
            assert 10 <= duration <= 40
            assert abs(duration - gt["duration_s"]) < 0.1
            assert (v.width, v.height) == (gt["width"], gt["height"])


def test_episodes_share_artifacts_titles_of_other_shows_do_not(tiny_world):
    """Episodes of a show carry the same style (palette, character, theme, mastering)."""
    styles = {}
    for p in (tiny_world / "ground_truth").glob("*.json"):
        gt = json.loads(p.read_text())
        styles.setdefault(gt["group"], []).append(json.dumps(gt["style"], sort_keys=True))
    assert all(len(set(s)) == 1 for s in styles.values())
    assert len({s[0] for s in styles.values()}) == len(styles)



def test_each_episode_has_its_own_grade_and_mix(tiny_world):
    """On top of the show's style, siblings get distinct colour casts (≥ 52° apart in hue),
    contrasts and EQ-tilt offsets (``episode_variation``)."""
    casts = {}
    for p in sorted((tiny_world / "ground_truth").glob("show*.json")):
        gt = json.loads(p.read_text())
        v = gt["episode_variation"]
        assert abs(np.linalg.norm(v["grade_lift_offset"]) - CAST) < 1e-4 and abs(sum(v["grade_lift_offset"])) < 1e-4
        assert all(0.3 < c < 3 for c in v["grade_contrast"])
        casts.setdefault(gt["group"], []).append((np.asarray(v["grade_lift_offset"]), v["grade_contrast"],
                                                  v["tilt_offset_db_per_octave"]))
    for group in casts.values():
        assert len(group) >= 2
        for i in range(len(group)):
            for j in range(i):
                a, b = group[i][0], group[j][0]
                assert np.degrees(np.arccos(np.clip(a @ b / (a @ a), -1, 1))) > 52
                assert group[i][1] != group[j][1] and group[i][2] != group[j][2]

@pytest.mark.slow
def test_same_seed_same_bytes(tiny_world, tmp_path):
    again = generate_world(tmp_path / "again", preset="tiny", seed=0, progress=False)
    ref, new = _digests(tiny_world), _digests(again)
    assert ref.keys() == new.keys()
    assert ref == new


def test_other_seed_differs(tiny_world, tmp_path):
    preset = get_preset("tiny")
    spec0, spec1 = plan_titles(preset, 0)[0], plan_titles(preset, 1)[0]
    assert spec0.title_id == spec1.title_id
    render_title(tmp_path, spec1, preset, seed=1)
    a = (tiny_world / spec0.path).read_bytes()
    b = (tmp_path / spec1.path).read_bytes()
    assert a != b
    gt0 = json.loads((tiny_world / "ground_truth" / f"{spec0.title_id}.json").read_text())
    gt1 = json.loads((tmp_path / "ground_truth" / f"{spec1.title_id}.json").read_text())
    assert gt0["onsets"] != gt1["onsets"] and gt0["style"] != gt1["style"]


def test_rerun_reuses_a_finished_world(tiny_world):
    before = {p: p.stat().st_mtime_ns for p in tiny_world.rglob("*") if p.is_file()}
    assert generate_world(tiny_world, preset="tiny", seed=0) == tiny_world
    after = {p: p.stat().st_mtime_ns for p in tiny_world.rglob("*") if p.is_file()}
    assert before == after


def test_other_seed_or_foreign_folder_is_refused(tiny_world, tmp_path):
    with pytest.raises(WorldError, match="seed=0"):
        generate_world(tiny_world, preset="tiny", seed=1)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(WorldError, match="not empty"):
        generate_world(foreign, preset="tiny", seed=0)
    assert (foreign / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_interrupted_world_is_resumed_not_taken_for_finished(tiny_world, tmp_path):
    """A missing title and a leftover temporary file (a killed writer) in a folder marked
    in_progress: the re-run regenerates exactly the missing piece, with identical bytes."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_world, copy)
    manifest = json.loads((copy / "world.json").read_text())
    manifest["status"] = "in_progress"
    del manifest["files"]
    (copy / "world.json").write_text(json.dumps(manifest))
    (copy / "titles" / "show02_e01.mp4").unlink()
    (copy / "titles" / ".show02_e01.tmp999.mp4").write_bytes(b"partial")
    (copy / "metadata.csv").unlink()
    generate_world(copy, preset="tiny", seed=0, progress=False)
    ref = _digests(tiny_world)
    new = {k: v for k, v in _digests(copy).items() if not k.split("/")[-1].startswith(".")}
    assert new == ref
    assert json.loads((copy / "world.json").read_text())["status"] == "complete"


def test_cli_refuses_other_seed_and_saves_contact_sheet(tiny_world, tmp_path, capsys):
    assert main(["world", "--out", str(tiny_world), "--seed", "3"]) == 2
    assert str(tiny_world) in capsys.readouterr().err  # errors go to stderr (docs/cli.md)
    png = tmp_path / "sheet.png"
    assert main(["world", "--contact-sheet", str(tiny_world), "--out", str(png), "--titles", "2"]) == 0
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[0] > 200 and img.shape[1] > 400 and img.std() > 10
    assert main(["world", "--contact-sheet", str(tmp_path / "none"), "--out", str(png)]) == 2
