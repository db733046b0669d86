"""The two labelled downstream sets, from shows never used for pretraining.

* ``world-action``: video clips labelled by event class, in the UCF101 layout
  (``<Class>/v_<Class>_g<GG>_c<CC>.avi`` and ``ucfTrainTestlist/`` with ``classInd.txt``,
  ``trainlist0{1,2,3}.txt``, ``testlist0{1,2,3}.txt``, CRLF line endings as distributed).
  A group is a downstream show; as in UCF101 (25 groups, test groups 1–7 / 8–14 / 15–21)
  the three splits test on three disjoint blocks of groups, so train and test never share
  a show.
* ``world-sound``: 5-s audio clips in the ESC-50 layout (``audio/{fold}-{src}-{take}-{target}.wav``
  and ``meta/esc50.csv``). Folds are group-disjoint: fold = (show index mod 5) + 1, and every
  take of a source recording is in its source's fold, as in ESC-50.
"""

from __future__ import annotations


from binge.world import title as T
from binge.world.encode import write_avi, write_bytes, write_wav
from binge.world.events import EVENT_NAMES, event_class
from binge.world.plan import group_style, rng_for
from binge.world.presets import WorldPreset
from binge.world.style import Grader, master, pad

ACTION_DIR = "downstream/world-action"
SOUND_DIR = "downstream/world-sound"
SOUND_FOLDS = 5
TAKES = "ABCDEFGHIJ"


def camel(name: str) -> str:
    """``bouncing_ball`` → ``BouncingBall`` (UCF101 class-name style)."""
    return "".join(part.capitalize() for part in name.split("_"))


def action_clip_path(event: str, group: int, clip: int) -> str:
    """Path of a clip relative to the world-action root (1-based group and clip)."""
    c = camel(event)
    return f"{c}/v_{c}_g{group:02d}_c{clip:02d}.avi"


def ucf_test_groups(num_groups: int, split: int) -> set[int]:
    """1-based test groups of split 1, 2 or 3: UCF101 tests on 7 of 25 groups per split
    (1–7, 8–14, 15–21); with G groups the block is max(1, round(7·G/25)) groups."""
    block = max(1, round(7 * num_groups / 25))
    if 3 * block > num_groups:
        raise ValueError(f"world-action needs at least 3 groups (downstream shows), got {num_groups}")
    return set(range((split - 1) * block + 1, split * block + 1))


def render_action_show(out_dir, preset: WorldPreset, seed: int, show: int) -> list[str]:
    """All clips of one downstream show (group ``show + 1``): every class, ``action_clips`` each.
    The clips of a (show, class) share a location, as UCF101's clips of a group share a source."""
    style = group_style(preset, seed, "downstream", show)
    w, h, fps = preset.width, preset.height, preset.fps
    written = []
    for c, event in enumerate(EVENT_NAMES):
        rng = rng_for(seed, "action", show, c)
        location = int(rng.integers(preset.locations))
        grader = Grader(style, w, h)
        for k in range(preset.action_clips):
            one = (preset.action_seconds, preset.action_seconds)  # a single scene
            scenes = T.plan_scenes(rng, preset.action_seconds, one, [location], style.character["presence"], w, h, events=(event,))
            n = int(round(preset.action_seconds * preset.sample_rate))
            env = T.voice_envelope(scenes, n, preset.sample_rate, style.character["syllable_rate"])
            frames = T.frames(style, scenes, int(round(preset.action_seconds * fps)), fps, w, h, env, preset.sample_rate, grader)
            rel = action_clip_path(event, show + 1, k + 1)
            write_avi(out_dir / ACTION_DIR / rel, frames, fps, w, h)
            written.append(rel)
    return written


def write_ucf_lists(out_dir, preset: WorldPreset) -> None:
    """``ucfTrainTestlist/`` exactly as UCF101 distributes it (CRLF line endings)."""
    root = out_dir / ACTION_DIR / "ucfTrainTestlist"
    groups = preset.downstream_shows
    lines = [f"{i + 1} {camel(e)}" for i, e in enumerate(EVENT_NAMES)]
    write_bytes(root / "classInd.txt", ("\r\n".join(lines) + "\r\n").encode())
    for split in (1, 2, 3):
        test = ucf_test_groups(groups, split)
        train_lines, test_lines = [], []
        for i, e in enumerate(EVENT_NAMES):
            for g in range(1, groups + 1):
                for k in range(1, preset.action_clips + 1):
                    rel = action_clip_path(e, g, k)
                    (test_lines.append(rel) if g in test else train_lines.append(f"{rel} {i + 1}"))
        write_bytes(root / f"trainlist{split:02d}.txt", ("\r\n".join(train_lines) + "\r\n").encode())
        write_bytes(root / f"testlist{split:02d}.txt", ("\r\n".join(test_lines) + "\r\n").encode())


def sound_source_id(show: int, event_index: int, source: int) -> int:
    """A numeric source id (ESC-50 uses Freesound ids), unique per (show, class, source)."""
    return 100_000 + 1000 * (show + 1) + 10 * event_index + source


def sound_rows(preset: WorldPreset) -> list[dict]:
    """One row of ``esc50.csv`` per clip (before sorting by file name)."""
    rows = []
    for show in range(preset.downstream_shows):
        fold = show % SOUND_FOLDS + 1
        for c, event in enumerate(EVENT_NAMES):
            for s in range(preset.sound_sources):
                src = sound_source_id(show, c, s)
                for k in range(preset.sound_takes):
                    rows.append(dict(filename=f"{fold}-{src}-{TAKES[k]}-{c}.wav", fold=fold, target=c, category=event,
                                     esc10=True, src_file=src, take=TAKES[k], show=show, source=s, take_index=k))
    return rows


def render_sound_show(out_dir, preset: WorldPreset, seed: int, show: int) -> list[str]:
    """All clips of one downstream show: per class and source, one recording of
    ``sound_takes`` × 5 s in the show's soundscape (pad, mastering, noise floor), cut into takes."""
    style = group_style(preset, seed, "downstream", show)
    sr, L = preset.sound_rate, preset.sound_seconds
    rows = [r for r in sound_rows(preset) if r["show"] == show]
    written = []
    for c, event in enumerate(EVENT_NAMES):
        for s in range(preset.sound_sources):
            rng = rng_for(seed, "sound", show, c, s)
            dur = L * preset.sound_takes
            scene = T.plan_scenes(rng, dur, (dur, dur), [0], 0.0, preset.width, preset.height, events=(event,))[0]
            sig = event_class(event).sound(scene.params, dur, sr, rng) + pad(style, int(round(dur * sr)), sr)
            sig = master(style, sig, sr, rng)
            for r in rows:
                if r["target"] == c and r["source"] == s:
                    k = r["take_index"]
                    write_wav(out_dir / SOUND_DIR / "audio" / r["filename"], sig[int(k * L * sr) : int((k + 1) * L * sr)], sr)
                    written.append(r["filename"])
    return written


def write_esc_meta(out_dir, preset: WorldPreset) -> None:
    """``meta/esc50.csv`` with ESC-50's columns, sorted by file name. ``esc10`` is True for
    every clip: the world has at most 10 classes, so its ESC-10 subset is the whole set."""
    rows = sorted(sound_rows(preset), key=lambda r: r["filename"])
    lines = ["filename,fold,target,category,esc10,src_file,take"]
    lines += [f"{r['filename']},{r['fold']},{r['target']},{r['category']},{r['esc10']},{r['src_file']},{r['take']}" for r in rows]
    write_bytes(out_dir / SOUND_DIR / "meta" / "esc50.csv", ("\n".join(lines) + "\n").encode())
