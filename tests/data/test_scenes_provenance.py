"""Where a corpus's scenes came from, and which scenes a run sampled: scenes.json's record
(detector settings, user CSV + sha256, world ground truth), `binge prepare --scenes CSV`,
the line-numbered CSV errors, RUN/scenes.json, and the scene policies with a show as the
sampling unit on the tiny corpus (scene ids per episode, checked against the world's truth)."""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from binge.cli import main
from binge.data.scenes import SceneError, read_scenes_csv, record_run_scenes

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
HEADER = "title_id,scene,start_s,end_s\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def truth(world: Path, title_id: str) -> list[tuple[float, float]]:
    gt = json.loads((world / "ground_truth" / f"{title_id}.json").read_text())
    return [(float(s["start_s"]), float(s["end_s"])) for s in gt["scenes"]]


def durations(corpus: Path) -> dict[str, float]:
    from binge.data.corpus import read_manifest

    return {r["title_id"]: float(r["duration_s"]) for r in read_manifest(corpus)}


def truth_csv(world: Path, corpus: Path, path: Path) -> Path:
    """The world's true scenes as a user would write them (last scene ends at the corpus's
    duration: the prepared title may be a frame shorter than the world's)."""
    lines = [HEADER]
    for t, d in durations(corpus).items():
        rows = [(s, e) for s, e in truth(world, t) if s < d]
        rows[-1] = (rows[-1][0], d)
        lines += [f"{t},{j},{s},{e}\n" for j, (s, e) in enumerate(rows)]
    path.write_text("".join(lines))
    return path


@pytest.fixture()
def corpus(tiny_corpus, tmp_path) -> Path:
    out = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, out)
    return out


# ----------------------------------------------------------------------------- CSV errors
def test_csv_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    cases = {
        "a,0,0,3\na,1,3.5,10\n": ":3: title 'a': scene 0 ends at 3.0 s but scene 1 starts",
        "a,0,0,3\na,2,3,10\n": ":3: title 'a' scene 2 where scene 1 was expected",
        "a,0,0,3\na,1,3,x\n": ":3: end_s='x' is not a number",
        "a,0,0,3\n,1,3,4\n": ":3: empty title_id",
        "a,0,1,3\n": ":2: title 'a' scene 0 starts at 1.0 s",
        "a,1,3,10\na,0,0,3\nb,0,5,4\n": ":4: title 'b' scene 0: end_s 4.0 must be after",
        "": ": no rows",
    }
    for body, message in cases.items():
        bad.write_text(HEADER + body)
        with pytest.raises(SceneError) as err:
            read_scenes_csv(bad)
        assert f"{bad}{message}" in str(err.value), (body, str(err.value))
        assert "\n" not in str(err.value)
    # against the corpus: an unknown title and a scene that does not cover the title, by line
    bad.write_text(HEADER + "a,0,0,3\na,1,3,10\nzz,0,0,4\n")
    with pytest.raises(SceneError, match=r"bad\.csv:4: title 'zz' is not in the corpus manifest"):
        read_scenes_csv(bad, {"a": 10.0})
    bad.write_text(HEADER + "a,1,3,8\na,0,0,3\n")
    with pytest.raises(SceneError, match=r"bad\.csv:2: title 'a': the last scene ends at 8\.0 s "
                                         r"but the title lasts 10\.0 s"):
        read_scenes_csv(bad, {"a": 10.0})


# ----------------------------------------------------------------------------- scenes.json
def test_scenes_json_records_every_source(corpus, tiny_world, tmp_path, caplog):
    assert main(["scenes", str(corpus), "--detector", "content", "--threshold", "20",
                 "--min-scene-s", "2", "--quiet"]) == 0
    info = json.loads((corpus / "scenes.json").read_text())
    assert info["source"] == "detected"
    assert {k: info["detector"][k] for k in ("method", "threshold", "min_scene_s", "width")} == \
        {"method": "content", "threshold": 20.0, "min_scene_s": 2.0, "width": 128}
    assert info["csv_sha256"] == sha256(corpus / "scenes.csv")
    one = json.loads(next((corpus / "scenes").glob("*.json")).read_text())
    assert one["settings"]["method"] == "content" and one["settings"]["threshold"] == 20.0
    # other settings: detected again, recorded, and the change said
    with caplog.at_level("WARNING", logger="binge.data.scenes"):
        assert main(["scenes", str(corpus), "--quiet"]) == 0
    info = json.loads((corpus / "scenes.json").read_text())
    assert info["detector"]["method"] == "adaptive" and info["detector"]["threshold"] == 3.0
    assert "replacing scenes from detected (content, threshold 20.0" in caplog.text
    one = json.loads(next((corpus / "scenes").glob("*.json")).read_text())
    assert one["settings"]["method"] == "adaptive"
    # a user's CSV: its path and sha256; the CSV written is its content
    mine = truth_csv(tiny_world, corpus, tmp_path / "mine.csv")
    assert main(["scenes", str(corpus), "--scenes", str(mine)]) == 0
    info = json.loads((corpus / "scenes.json").read_text())
    assert info["source"] == "user CSV" and info["path"] == str(mine.resolve())
    assert info["sha256"] == sha256(mine) and info["csv_sha256"] == sha256(corpus / "scenes.csv")
    assert read_scenes_csv(corpus / "scenes.csv") == read_scenes_csv(mine)
    # the world's ground truth: which world
    assert main(["scenes", str(corpus), "--from-world", str(tiny_world)]) == 0
    info = json.loads((corpus / "scenes.json").read_text())
    assert info["source"] == "world ground truth" and (info["preset"], info["seed"]) == ("tiny", 0)
    assert info["path"] == str(tiny_world.resolve())


# ----------------------------------------------------------------------------- prepare --scenes
def _prepare(world: Path, out: Path, *extra: str) -> int:
    return main(["prepare", str(world / "titles"), "--metadata", str(world / "metadata.csv"),
                 "--config", str(TINY), "--out", str(out), "--quiet", *extra])


def test_prepare_takes_the_users_scenes_through_binge_scenes_path(corpus, tiny_world, tmp_path,
                                                                  monkeypatch, capsys):
    import binge.data.prepare as prepare_mod
    import binge.data.scenes as scenes_mod

    # the corpus is prepared already (a resume: no title is redone); prepare gets detection
    # off and the CSV goes through import_scenes_csv, the code of `binge scenes --scenes`
    real_prepare, real_import = prepare_mod.prepare_corpus, scenes_mod.import_scenes_csv
    seen = {}

    def spy_prepare(*args, data, **kw):
        seen["detector"] = data.scene_detector
        return real_prepare(*args, data=data, **kw)

    def spy_import(*args, **kw):
        seen["imported"] = args
        return real_import(*args, **kw)

    monkeypatch.setattr(prepare_mod, "prepare_corpus", spy_prepare)
    monkeypatch.setattr(scenes_mod, "import_scenes_csv", spy_import)
    mine = truth_csv(tiny_world, corpus, tmp_path / "mine.csv")
    assert _prepare(tiny_world, corpus, "--scenes", str(mine)) == 0
    assert seen["detector"] is None and seen["imported"] == (str(corpus), str(mine.resolve()))
    said = capsys.readouterr().out
    assert f"scenes from {mine.resolve()} written to {corpus / 'scenes.csv'}" in said
    info = json.loads((corpus / "scenes.json").read_text())
    assert info["source"] == "user CSV" and info["sha256"] == sha256(mine)
    expected = {t: [r for r in truth(tiny_world, t) if r[0] < d]
                for t, d in durations(corpus).items()}
    got = read_scenes_csv(corpus / "scenes.csv", durations(corpus))
    for t, rows in got.items():  # the world's cuts, to the CSV's 4 decimals
        assert [s for s, _ in rows] == pytest.approx([s for s, _ in expected[t]], abs=1e-4)
    # a title the corpus does not have: exit 2 naming file and line, titles kept
    with open(mine, "a") as f:
        f.write("not_a_title,0,0,5\n")
    last = len(mine.read_text().splitlines())
    assert _prepare(tiny_world, corpus, "--scenes", str(mine)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"binge prepare: {mine.resolve()}:{last}: title 'not_a_title' is not in")
    assert f"binge scenes {corpus} --scenes" in err and "\n" not in err
    assert (corpus / "manifest.csv").is_file()


def test_prepare_refuses_a_bad_scenes_csv_before_writing_anything(tiny_world, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "a,0,0,3\na,1,4,10\n")
    out = tmp_path / "new"
    assert _prepare(tiny_world, out, "--scenes", str(bad)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"binge prepare: {bad}:3: title 'a': scene 0 ends at 3.0 s")
    assert "\n" not in err
    assert not out.exists() or not any(out.iterdir())
    assert _prepare(tiny_world, out, "--scenes", str(tmp_path / "none.csv")) == 2
    assert "--scenes" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("argv", [
    ["--scenes", "{csv}", "--detector", "content"],
    ["--scenes", "{csv}", "--threshold", "20", "--min-scene-s", "2"],
    ["--from-world", "{world}", "--width", "64"],
])
def test_scenes_refuses_detector_options_with_brought_boundaries(corpus, tiny_world, tmp_path,
                                                                 capsys, argv):
    """`binge scenes --scenes CSV --detector X`: the detector would be ignored, so the
    combination is refused in one line naming both, and nothing is written."""
    mine = truth_csv(tiny_world, corpus, tmp_path / "mine.csv")
    argv = [a.format(csv=mine, world=tiny_world) for a in argv]
    before = {p.name: p.read_bytes() for p in corpus.iterdir() if p.is_file()}
    assert main(["scenes", str(corpus), *argv, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    brought = argv[0]
    assert err.startswith("binge scenes: --") and "\n" not in err, err
    assert f"but {brought} brings the boundaries" in err and f"drop {brought} to detect" in err
    assert all(f"--{o}" in err for o in ("detector", "threshold", "min-scene-s", "width")
               if f"--{o}" in argv)
    assert {p.name: p.read_bytes() for p in corpus.iterdir() if p.is_file()} == before


def test_prepare_refuses_a_detector_override_with_scenes(tiny_world, tmp_path, capsys):
    mine = tmp_path / "mine.csv"
    mine.write_text(HEADER + "a,0,0,3\n")
    out = tmp_path / "new"
    assert _prepare(tiny_world, out, "--scenes", str(mine), "data.scene_detector=content") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("binge prepare: data.scene_detector=content asks for detection, but "
                          "--scenes brings the boundaries") and "\n" not in err
    assert not out.exists()


def test_prepare_rerun_says_where_its_cuts_came_from_and_keeps_brought_scenes(
        corpus, tiny_world, tmp_path, capsys):
    """A prepare rerun labels its scenes by where the cuts came from: "detected at prepare"
    only for cuts found on the frames prepare transcoded, "detected" (with ``cuts_from``) for
    cuts decoded afterwards; scenes a user brought earlier are kept, never replaced by
    detected ones, and refused in one line when they no longer cover the titles."""
    assert _prepare(tiny_world, corpus) == 0  # the fixture's cuts: found at transcode
    info = json.loads((corpus / "scenes.json").read_text())
    n = len(durations(corpus))
    assert info["source"] == "detected at prepare", info
    assert info["cuts_from"] == {"prepare transcode": n}

    mine = truth_csv(tiny_world, corpus, tmp_path / "mine.csv")
    assert _prepare(tiny_world, corpus, "--scenes", str(mine)) == 0
    brought = {name: (corpus / name).read_bytes() for name in ("scenes.csv", "scenes.json")}
    assert _prepare(tiny_world, corpus) == 0  # a plain rerun: the user's scenes stay
    assert {name: (corpus / name).read_bytes() for name in brought} == brought
    assert json.loads(brought["scenes.json"])["source"] == "user CSV"

    # brought scenes that no longer cover the titles: refused in one line, titles kept
    lines = (corpus / "scenes.csv").read_text().splitlines(keepends=True)
    first = lines[1].split(",")[0]
    (corpus / "scenes.csv").write_text("".join(l for l in lines if not l.startswith(f"{first},")))
    capsys.readouterr()
    assert _prepare(tiny_world, corpus) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"binge prepare: {corpus / 'scenes.csv'} holds scenes from user CSV")
    assert f"binge scenes {corpus} --scenes CSV" in err and "\n" not in err
    assert (corpus / "manifest.csv").is_file()

    # no cuts recorded at transcode (a corpus prepared with detection off): decoded, and said
    shutil.rmtree(corpus / "scenes")
    for name in ("scenes.csv", "scenes.json"):
        (corpus / name).unlink()
    assert _prepare(tiny_world, corpus) == 0
    info = json.loads((corpus / "scenes.json").read_text())
    assert info["source"] == "detected" and info["cuts_from"] == {"decoded prepared video": n}
    assert json.loads(next((corpus / "scenes").glob("*.json")).read_text())["origin"] == \
        "decoded prepared video"


# ----------------------------------------------------------------------------- RUN/scenes.json
def _scene_cfg(corpus: Path, run: Path, *extra: str):
    from binge.config import load_config

    return load_config(TINY, [
        f"data.corpus={corpus}", f"train.out_dir={run}", "sampling.batch_size=8", "sampling.k=2",
        "sampling.window=scene", "sampling.short_titles=shrink_window",
        "sampling.steps_per_epoch=2", "optim.epochs=1", "augment.crop_size=32",
        "data.num_workers=0", "train.checkpoint_every_steps=1", *extra])


def test_record_of_the_scenes_a_run_samples(corpus, tiny_world, tmp_path, caplog):
    assert main(["scenes", str(corpus), "--from-world", str(tiny_world)]) == 0
    cfg = _scene_cfg(corpus, tmp_path / "run")
    rec = record_run_scenes(cfg, tmp_path / "run", resumed=False)
    assert rec == json.loads((tmp_path / "run" / "scenes.json").read_text())
    assert rec["csv"] == str((corpus / "scenes.csv").resolve())
    assert rec["csv_sha256"] == sha256(corpus / "scenes.csv") and rec["matches_description"]
    assert rec["source"] == json.loads((corpus / "scenes.json").read_text())
    # no scene policy: nothing recorded
    plain = dataclasses.replace(cfg, sampling=dataclasses.replace(cfg.sampling, window=None))
    assert record_run_scenes(plain, tmp_path / "plain", resumed=False) is None
    assert not (tmp_path / "plain").exists()
    # the CSV edited by hand after scenes.json: said, and recorded as not described
    text = (corpus / "scenes.csv").read_text()
    (corpus / "scenes.csv").write_text(text.replace(",0,0.0000,", ",0,0.00000,", 1))
    with caplog.at_level("WARNING", logger="binge.data.scenes"):
        rec2 = record_run_scenes(cfg, tmp_path / "run2", resumed=False)
    assert not rec2["matches_description"] and "no description matches" in caplog.text
    # a resumed run whose scenes changed is refused; a fresh record is written otherwise
    with pytest.raises(SceneError, match=r"is not the scenes file run .* started with.*"
                                         r"train\.out_dir=NEW"):
        record_run_scenes(cfg, tmp_path / "run", resumed=True)


@pytest.mark.slow
def test_pretrain_records_its_scenes_and_refuses_changed_ones_on_resume(corpus, tiny_world,
                                                                        tmp_path):
    from binge.train.loop import pretrain

    gt = tmp_path / "gt.csv"
    assert main(["scenes", str(corpus), "--from-world", str(tiny_world), "--out", str(gt)]) == 0
    run = tmp_path / "run"
    pretrain(_scene_cfg(corpus, run, f"sampling.scenes={gt}", "train.max_steps=1"))
    rec = json.loads((run / "scenes.json").read_text())
    assert rec["csv"] == str(gt.resolve()) and rec["csv_sha256"] == sha256(gt)
    assert rec["source"]["source"] == "world ground truth" and rec["matches_description"]
    # other scenes at the same path (detected ones, rewritten by `binge scenes --out`): the
    # resume is refused (a ConfigError: exit 2), naming the run and the fix
    assert main(["scenes", str(corpus), "--out", str(gt), "--quiet"]) == 0
    assert sha256(gt) != rec["csv_sha256"]
    with pytest.raises(SceneError, match=r"is not the scenes file run .* started with.*from "
                                         r"world ground truth.*now.*from detected"):
        pretrain(_scene_cfg(corpus, run, f"sampling.scenes={gt}"))


@pytest.mark.slow
def test_resume_names_the_changed_scenes_before_the_sampler_checks_them(corpus, tiny_world,
                                                                        tmp_path):
    """A resume whose scenes CSV changed so that the sampler could not use it (a title left
    out) gets the message that says the CSV changed (which file, which run, the fix), not the
    sampler's."""
    from binge.train.loop import pretrain

    gt = tmp_path / "gt.csv"
    assert main(["scenes", str(corpus), "--from-world", str(tiny_world), "--out", str(gt)]) == 0
    run = tmp_path / "run"
    cfg = _scene_cfg(corpus, run, f"sampling.scenes={gt}", "train.max_steps=1")
    pretrain(cfg)
    recorded = (run / "scenes.json").read_bytes()
    kept = gt.read_text()
    first = kept.splitlines()[1].split(",")[0]
    gt.write_text("".join(line + "\n" for line in kept.splitlines()
                          if not line.startswith(f"{first},")))
    with pytest.raises(SceneError) as err:
        pretrain(cfg)
    text = str(err.value)
    assert f"{gt.resolve()} is not the scenes file run {run} started with" in text, text
    assert "train.out_dir=NEW" in text and "\n" not in text
    assert (run / "scenes.json").read_bytes() == recorded  # the refusal wrote nothing


@pytest.mark.slow
def test_resume_of_another_runs_checkpoint_refuses_changed_scenes(corpus, tiny_world, tmp_path):
    """--resume CKPT into a new run folder (no RUN/scenes.json there to compare with): the
    checkpoint's own record of the scenes CSV's sha256 is checked, so a changed CSV is refused
    instead of silently resuming on other batches than the checkpoint's run sampled."""
    from binge.train.loop import pretrain

    gt = tmp_path / "gt.csv"
    assert main(["scenes", str(corpus), "--from-world", str(tiny_world), "--out", str(gt)]) == 0
    first = tmp_path / "first"
    pretrain(_scene_cfg(corpus, first, f"sampling.scenes={gt}", "train.max_steps=1"))
    ckpt = first / "checkpoints" / "last.pt"
    assert main(["scenes", str(corpus), "--out", str(gt), "--quiet"]) == 0  # other scenes
    second = tmp_path / "second"
    with pytest.raises(SceneError) as err:
        pretrain(_scene_cfg(corpus, second, f"sampling.scenes={gt}"), resume=ckpt)
    text = str(err.value)
    assert str(ckpt) in text and str(gt.resolve()) in text and "\n" not in text, text
    assert not (second / "scenes.json").exists()


# ----------------------------------------------------------------------------- show unit
def _scene_key(scenes_of_title, L, m):
    """Ground-truth scene of snippet m: the scene holding its centre (m + ½)·L."""
    starts = [s for s, _ in scenes_of_title]
    return bisect.bisect_right(starts, (m + 0.5) * L) - 1


@pytest.mark.parametrize("policy", ["window=scene", "scene_policy=distinct"])
def test_show_unit_scene_policies_on_the_tiny_corpus(tiny_corpus, tiny_world, tmp_path, policy):
    from binge.config import load_config
    from binge.data import SnippetDataset
    from binge.data.scenes import sampling_scenes
    from binge.sampling import build_sampler

    gt = tmp_path / "gt.csv"
    assert main(["scenes", str(tiny_corpus), "--from-world", str(tiny_world),
                 "--out", str(gt)]) == 0
    cfg = load_config(TINY, [f"data.corpus={tiny_corpus}", f"sampling.scenes={gt}",
                             "sampling.unit=show", "sampling.k=2", "sampling.batch_size=4",
                             "sampling.short_titles=skip", "sampling.distinct_titles=false",
                             f"sampling.{policy}"])
    ds = SnippetDataset(tiny_corpus, split="train", augment=False, crop_size=None, data=cfg.data)
    sampler = build_sampler(cfg.sampling, ds.num_snippets, groups=ds.groups, seed=3,
                            scenes=sampling_scenes(cfg, ds.title_ids, ds.num_snippets))
    L = cfg.data.snippet_seconds
    gt_scenes = {t: truth(tiny_world, t) for t in ds.title_ids}
    spans_episodes = 0
    for step in range(60):
        batch = sampler.global_batch(0, step)
        for g in (batch[i:i + 2] for i in range(0, len(batch), 2)):
            shows = {ds.groups[t] for t, _ in g}
            assert len(shows) == 1  # a group is one unit: one show
            keys = {(t, _scene_key(gt_scenes[ds.title_ids[t]], L, m)) for t, m in g}
            if policy == "window=scene":
                assert len(keys) == 1  # one true scene of one episode
            else:
                assert len(keys) == 2  # two true scenes, told apart per episode
            spans_episodes += len({t for t, _ in g}) > 1
    if policy == "scene_policy=distinct":
        assert spans_episodes > 0  # the show is the unit: its episodes' scenes are drawn together


def test_show_unit_distinct_keeps_scene_ids_per_episode():
    from binge.config import SamplingConfig
    from binge.sampling import build_sampler

    # one show of two episodes, each a single scene numbered 0: two scenes, not one
    cfg = SamplingConfig(batch_size=2, k=2, unit="show", scene_policy="distinct",
                         distinct_titles=False)
    s = build_sampler(cfg, [4, 5], groups=["show", "show"], scenes=[[0], [0]])
    assert s.num_scenes == 2 and s.num_few_scene_units == 0 and s.num_excluded == 0
    for step in range(50):
        assert sorted(t for t, _ in s.global_batch(0, step)) == [0, 1]


def test_prepare_shards_leave_the_users_scenes_to_the_assemble_run(corpus, tiny_world, tmp_path):
    mine = truth_csv(tiny_world, corpus, tmp_path / "mine.csv")
    before = sha256(corpus / "scenes.csv")
    assert _prepare(tiny_world, corpus, "--shard", "1/2", "--scenes", str(mine)) == 0
    assert sha256(corpus / "scenes.csv") == before  # a shard writes no corpus-wide file
    assert _prepare(tiny_world, corpus, "--scenes", str(mine)) == 0  # the assemble run
    info = json.loads((corpus / "scenes.json").read_text())
    assert info["source"] == "user CSV" and info["sha256"] == sha256(mine)
