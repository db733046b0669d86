"""binge embed: features vs the encoders on SnippetDataset items, resume after kill -9, raw
files vs the corpus path, and bad inputs."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from binge.library import LibraryError, embed_library, read_library, read_summary, vectors
from binge.library.store import VECTOR_COLUMNS, read_shard, shard_path

#: raw path vs corpus path: both run the same prepare and the same batches, so they agree to
#: float32 rounding; the stated tolerance (absolute and relative) is 1e-5.
RAW_TOL = 1e-5


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_features_equal_encoders_on_snippet_dataset_items(embedded, tiny_export, tiny_corpus,
                                                          tiny_config):
    from binge.data import SnippetDataset
    from binge.data.transforms import video_to_float
    from binge.train.export import load_embedder

    ds = SnippetDataset(tiny_corpus, augment=False, crop_size=tiny_config.augment.crop_size,
                        data=tiny_config.data)
    model = load_embedder(tiny_export)  # the encoders + the objective's heads
    table = read_library(embedded)
    assert table.num_rows == len(ds)  # every snippet of every title, once
    got = {c: vectors(table, c) for c in VECTOR_COLUMNS}
    tids, snips = table.column("title_id").to_pylist(), table.column("snippet").to_numpy()
    rows = list(range(0, table.num_rows, 3))  # a third of the snippets, every title
    with torch.no_grad():
        for r in rows:
            item = ds[(ds.title_ids.index(tids[r]), int(snips[r]))]
            v = video_to_float(item["video"][None])
            a = item["audio"][None]
            want = {"feat_video": model.model.video_encoder(v), "feat_audio": model.model.audio_encoder(a),
                    "z_video": model.embed_video(v), "z_audio": model.embed_audio(a)}
            for c, w in want.items():
                np.testing.assert_allclose(got[c][r], w[0].numpy(), rtol=1e-4, atol=1e-5,
                                           err_msg=f"{c} of {tids[r]}@{snips[r]}")
            assert table.column("start_s")[r].as_py() == item["start_s"]
            assert table.column("end_s")[r].as_py() == item["end_s"]


def test_shards_summary_and_vector_types(embedded, tiny_config):
    import pyarrow as pa

    summary = read_summary(embedded)
    for i, tid in enumerate(summary.column("title_id").to_pylist()):
        shard = read_shard(shard_path(embedded, tid))
        assert shard.column("snippet").to_pylist() == list(range(shard.num_rows))
        assert summary.column("num_snippets")[i].as_py() == shard.num_rows
        for c in VECTOR_COLUMNS:
            assert pa.types.is_fixed_size_list(shard.schema.field(c).type)
            np.testing.assert_allclose(vectors(summary, f"mean_{c}")[i],
                                       vectors(shard, c).mean(axis=0), rtol=1e-5, atol=1e-6)
    assert vectors(summary, "mean_z_video").shape[1] == tiny_config.model.embed_dim


_KILLER = """
import os, signal, sys
import torch
torch.set_num_threads(1)
import pyarrow.parquet as pq
real, calls = pq.write_table, [0]
def write_then_die(table, where, **kw):
    real(table, where, **kw)      # the temporary file is complete, not yet renamed
    calls[0] += 1
    if calls[0] == 3:
        os.kill(os.getpid(), signal.SIGKILL)
pq.write_table = write_then_die
from binge.library import embed_library
embed_library(sys.argv[1], sys.argv[2], corpus=sys.argv[3], batch_size=4, workers=0,
              progress=False)
"""


def test_resume_after_kill9_gives_identical_files(embedded, tiny_export, tiny_corpus, tmp_path):
    out = tmp_path / "lib"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(tiny_export), str(out),
                           str(tiny_corpus)], env=env, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    done = sorted(p.name for p in (out / "titles").glob("[!.]*.parquet"))
    assert len(done) == 2  # two shards renamed; the third left as a temporary file
    assert any(p.name.startswith(".") for p in (out / "titles").iterdir())
    report = embed_library(tiny_export, out, corpus=tiny_corpus, batch_size=4, workers=0,
                           progress=False)
    assert sorted(f"{t}.parquet" for t in report.reused) == done  # never re-embedded
    assert not set(report.embedded) & set(report.reused)
    assert _files(out) == _files(embedded)  # byte for byte, temporaries gone


def test_raw_files_equal_corpus_path(embedded, tiny_export, tiny_world, tmp_path):
    names = ["movie01", "show02_e01"]
    out = tmp_path / "raw"
    report = embed_library(tiny_export, out, files=[tiny_world / "titles" / f"{n}.mp4"
                                                    for n in names],
                           batch_size=4, workers=0, progress=False)
    assert report.titles == names
    for n in names:
        raw, ref = read_shard(shard_path(out, n)), read_shard(shard_path(embedded, n))
        for c in ("snippet", "start_s", "end_s"):  # the same snippets
            assert raw.column(c).to_pylist() == ref.column(c).to_pylist()
        for c in VECTOR_COLUMNS:  # the same vectors
            np.testing.assert_allclose(vectors(raw, c), vectors(ref, c), rtol=RAW_TOL,
                                       atol=RAW_TOL, err_msg=f"{n} {c}")
    assert (out / "corpus" / "manifest.csv").is_file()  # the prepare copy is kept for resume


def test_export_of_other_geometry_is_refused_with_the_fix(tiny_config, tiny_corpus, tmp_path,
                                                          make_export):
    cfg = dataclasses.replace(tiny_config,
                              data=dataclasses.replace(tiny_config.data, short_side=96))
    export = make_export(cfg, tmp_path / "export96")
    with pytest.raises(LibraryError) as err:
        embed_library(export, tmp_path / "lib", corpus=tiny_corpus, progress=False)
    msg = str(err.value)
    assert "\n" not in msg
    assert "short_side=64 (export: 96)" in msg and "--out NEW_CORPUS data.short_side=96)" in msg
    assert not (tmp_path / "lib").exists()  # refused before anything was written


def _video_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 5 * i, np.uint8),
                                               format="rgb24")
            c.mux(s.encode(frame))
        c.mux(s.encode())
    return path


def _unusable_files(folder: Path, good: Path) -> dict[str, str]:
    """name → a word of prepare's reason: no audio stream, zero bytes, not media, truncated."""
    folder.mkdir(parents=True, exist_ok=True)
    _video_only(folder / "noaudio.mp4")
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("not a video\n")
    (folder / "cut.mp4").write_bytes(good.read_bytes()[:2000])
    return {"noaudio.mp4": "audio", "empty.mp4": "", "notes.mp4": "", "cut.mp4": ""}


def test_file_without_audio_is_refused_with_the_fix(tiny_export, tmp_path, capsys):
    from binge.cli import main

    clip = _video_only(tmp_path / "silent.mp4")
    with pytest.raises(SystemExit) as ended:
        main(["embed", "--checkpoint", str(tiny_export), str(clip), "--out",
              str(tmp_path / "lib"), "--quiet", "--workers", "0"])
    err = capsys.readouterr().err.strip()
    assert ended.value.code == 2 and "\n" not in err  # a user error (docs/cli.md)
    assert err.startswith("binge embed: ") and "no audio stream" in err and "remux" in err


def test_unusable_files_are_skipped_and_the_usable_embedded(tiny_export, tiny_world, tmp_path,
                                                           capsys):
    """A folder with one good title and four unusable files: the title is embedded, the four
    are listed in skipped.csv, exit 3 as `binge prepare`; only unusable files: exit 2."""
    import csv
    import shutil

    from binge.cli import main

    good = tiny_world / "titles" / "show01_e01.mp4"
    folder = tmp_path / "library"
    bad = _unusable_files(folder, good)
    shutil.copy(good, folder / "show01_e01.mp4")
    out = tmp_path / "lib"
    argv = ["embed", "--checkpoint", str(tiny_export), str(folder), "--out", str(out),
            "--quiet", "--workers", "0"]
    assert main(argv) == 3
    printed = capsys.readouterr().out
    assert [p.stem for p in (out / "titles").glob("*.parquet")] == ["show01_e01"]
    with open(out / "corpus" / "skipped.csv", newline="") as f:
        skipped = {Path(r["source_path"]).name: r["reason"] for r in csv.DictReader(f)}
    assert sorted(skipped) == sorted(bad)
    assert all(word in skipped[name] for name, word in bad.items())
    assert all(f"skipped {folder.resolve() / name}" in printed for name in bad)
    assert main(argv) == 3  # a rerun resumes, the skips stay reported
    assert "0 embedded" in capsys.readouterr().out

    (folder / "show01_e01.mp4").unlink()
    with pytest.raises(SystemExit) as ended:
        main([*argv[:-5], "--out", str(tmp_path / "none"), "--quiet", "--workers", "0"])
    err = capsys.readouterr().err.strip()
    assert ended.value.code == 2 and "\n" not in err
    assert "no usable media file" in err and "(and 3 more, see" in err
    assert not (tmp_path / "none" / "titles").exists()


def test_library_of_another_job_and_bad_sources_are_refused(embedded, tiny_config, tiny_corpus,
                                                            tmp_path, make_export):
    other = make_export(tiny_config, tmp_path / "other", seed=1)
    with pytest.raises(LibraryError, match="another job.*export_sha256.*new --out"):
        embed_library(other, embedded, corpus=tiny_corpus, progress=False)
    with pytest.raises(LibraryError, match="not both"):
        embed_library(other, tmp_path / "x", progress=False)
    with pytest.raises(LibraryError, match="not in .*manifest.csv"):
        embed_library(other, tmp_path / "x", corpus=tiny_corpus, titles=["nope"], progress=False)


def test_cli_embeds_chosen_titles_and_resumes(tiny_export, tiny_corpus, tmp_path, capsys):
    from binge.cli import main

    args = ["embed", "--checkpoint", str(tiny_export), "--corpus", str(tiny_corpus), "--titles",
            "show01_e01", "--out", str(tmp_path / "lib"), "--quiet", "--workers", "1"]
    assert main(args) == 0
    assert "1 titles" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "lib" / "titles").iterdir()] == ["show01_e01.parquet"]
    assert main(args) == 0
    assert "0 embedded (0 snippets" in capsys.readouterr().out


def test_cli_random_init_is_seeded(tiny_corpus, tmp_path, capsys):
    from binge.cli import main

    config = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"

    def run(name: str, seed: int) -> bytes:
        out = tmp_path / name
        assert main(["embed", "--random-init", str(config), "--seed", str(seed), "--corpus",
                     str(tiny_corpus), "--titles", "movie01", "--out", str(out), "--quiet",
                     "--workers", "0"]) == 0
        assert (out / "random_init_export" / "config.json").is_file()
        return vectors(read_shard(shard_path(out, "movie01")), "z_audio").tobytes()

    assert run("a", 0) == run("b", 0) != run("c", 1)
