"""binge search: faiss against NumPy, a snippet finds itself, file queries, title summaries,
the HTML report, and the world retrieval measure against a plain reference."""

from __future__ import annotations


from pathlib import Path

import numpy as np
import pytest

from binge.library import LibraryError, LibraryIndex, build_index, nearest_titles, search
from binge.library.query import select_snippets
from binge.library.store import VECTOR_COLUMNS, read_shard, read_summary, vectors
from binge.library.world_eval import (chance_recall, recall_excluding_title, snippet_events,
                                      title_groups)


def test_exact_inner_product_matches_numpy():
    rng = np.random.default_rng(0)
    x, q = rng.normal(size=(500, 32)).astype(np.float32), rng.normal(size=(7, 32))
    scores, ids = search(build_index(x, "ip"), q, 10, "ip")
    ref = q @ x.T.astype(np.float64)
    np.testing.assert_array_equal(ids, np.argsort(-ref, axis=1)[:, :10])
    np.testing.assert_allclose(scores, np.take_along_axis(ref, ids, 1), rtol=1e-4, atol=1e-4)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    _, ids = search(build_index(x, "cosine"), q, 10, "cosine")
    np.testing.assert_array_equal(ids, np.argsort(-(q @ unit.T), axis=1)[:, :10])


def test_ivf_finds_most_exact_neighbours_of_clustered_data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 16))
    x = (centres[rng.integers(0, 20, 4000)] + 0.3 * rng.normal(size=(4000, 16))).astype(np.float32)
    _, exact = search(build_index(x, "ip"), x[:100], 10)
    _, approx = search(build_index(x, "ip", kind="ivf", nlist=32, nprobe=8), x[:100], 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall > 0.9


def test_a_snippet_finds_itself_first_under_cosine(embedded):
    lib = LibraryIndex(embedded, metric="cosine")
    for column in VECTOR_COLUMNS:
        x = lib.vectors(column)
        for i in range(0, len(x), 5):
            hit = lib.search(x[i], column, k=1)[0]
            assert (hit.title_id, hit.snippet) == (lib.title_ids[i], lib.snippets[i])
            assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_cross_modal_hits_match_numpy_inner_product(embedded):
    lib = LibraryIndex(embedded)
    za, zv = lib.vectors("z_audio"), lib.vectors("z_video")
    hits = lib.search(za[3], "z_video", k=5)
    ref = np.argsort(-(zv.astype(np.float64) @ za[3]))[:5]
    assert [(h.title_id, h.snippet) for h in hits] == [(lib.title_ids[i], lib.snippets[i])
                                                       for i in ref]
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0].end_s - hits[0].start_s == pytest.approx(3.2)


def test_search_cli_file_query_finds_its_snippet_and_writes_report(embedded, tiny_world,
                                                                   tmp_path, capsys):
    from binge.cli import main

    clip = tiny_world / "titles" / "show02_e01.mp4"
    report = tmp_path / "r.html"
    rc = main(["search", "--index", str(embedded), "--query", f"{clip}@3.2-6.4",
               "--query-modality", "video", "--target", "video", "--metric", "cosine", "-k",
               "3", "--report", str(report), "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0
    first = out.splitlines()[1].split()
    assert first[:3] == ["1", "show02_e01", "#1"] and float(first[-1]) == pytest.approx(1, 1e-4)
    page = report.read_text()
    assert page.count("<img") == 2 * (1 + 3)  # a frame and a spectrogram per row


def test_search_cli_snippet_query_and_titles(embedded, capsys):
    from binge.cli import main

    assert main(["search", "--index", str(embedded), "--query", "movie01@2", "-k", "4",
                 "--no-report"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("z_audio of movie01@2 against z_video (ip)") and len(lines) == 5
    assert main(["search", "--index", str(embedded), "--title", "movie01", "-k", "3"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


@pytest.mark.parametrize("argv, fix", [
    (["--query", "nope@3"], "neither a media file"),
    (["--query", "movie01@x"], "0-based snippet number"),
    (["--query", "movie01@999"], "snippet 999 is out of range"),
    (["--query", "movie01@1", "--space", "feat"], "use --space z"),
])
def test_search_cli_bad_queries_get_one_line_errors(embedded, argv, fix, capsys):
    from binge.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["search", "--index", str(embedded), "--no-report", *argv])
    assert ended.value.code == 2  # a user error (docs/cli.md)
    err = capsys.readouterr().err.strip()
    assert err.startswith("binge search: ") and fix in err and "\n" not in err


def test_out_of_range_snippet_names_the_titles_snippet_count(embedded, capsys):
    """ep@99 of a title in the library: the title is named with its valid snippets."""
    from binge.cli import main

    lib = LibraryIndex(embedded)
    count = int(np.sum(lib.title_ids == "movie01"))  # ground truth: the library's rows
    with pytest.raises(LibraryError, match=f"has {count} snippets .*movie01@{count - 1}"):
        lib.row("movie01", count)
    assert lib.row("movie01", count - 1) == int(np.flatnonzero(lib.title_ids == "movie01")[-1])
    with pytest.raises(SystemExit):
        main(["search", "--index", str(embedded), "--no-report", "--query", "movie01@99"])
    assert "is not in" not in capsys.readouterr().err


@pytest.mark.parametrize("k", ["0", "-3", "two"])
def test_k_below_one_is_a_usage_error(embedded, k, capsys):
    from binge.cli import main

    with pytest.raises(SystemExit) as ended:  # argparse: before anything is loaded
        main(["search", "--index", str(embedded), "--no-report", "--query", "movie01@1",
              "-k", k])
    assert ended.value.code == 2
    assert "k >= 1" in capsys.readouterr().err


def test_internal_error_reaches_binge_cli_with_its_traceback(embedded, monkeypatch, capsys):
    """A bug (not a user error) is exit 1 with the traceback under --debug, not a one-liner
    the command printed itself."""
    from binge.cli import main
    from binge.library import index

    def broken(self, query, column, k=10):
        raise ValueError("'x' is not in list")

    monkeypatch.setattr(index.LibraryIndex, "search", broken)
    with pytest.raises(SystemExit) as ended:
        main(["search", "--debug", "--index", str(embedded), "--no-report", "--query",
              "movie01@1"])
    assert ended.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: 'x' is not in list" in err


def _copy_library(embedded, dest):
    """The embedded library without its query cache and reports (a test's own query files)."""
    import shutil

    return shutil.copytree(embedded, dest, ignore=shutil.ignore_patterns("queries", "reports"))


def test_query_files_with_the_same_bytes_are_each_searched(embedded, tiny_world, tmp_path,
                                                           capsys):
    """Two paths with the same bytes, queried one after the other (the second was taken for
    the first one 'moved'), then another file after the first copy is deleted."""
    import shutil

    from binge.cli import main

    lib = _copy_library(embedded, tmp_path / "lib")
    media = tmp_path / "media" / "sub"
    media.mkdir(parents=True)
    source = tiny_world / "titles" / "show02_e01.mp4"
    first = shutil.copy(source, media / "Sintel clip é 日本.mp4")
    second = shutil.copy(first, tmp_path / "media" / "show02_copy.mp4")
    other = shutil.copy(tiny_world / "titles" / "movie01.mp4", tmp_path / "media" / "m.mp4")

    def best(query: str) -> list[str]:
        assert main(["search", "--index", str(lib), "--query", query, "--query-modality",
                     "video", "--target", "video", "--metric", "cosine", "-k", "1",
                     "--no-report", "--device", "cpu"]) == 0
        return capsys.readouterr().out.splitlines()[1].split()

    assert best(f"{first}@3.2-6.4")[1:3] == ["show02_e01", "#1"]  # ground truth: its source
    assert best(f"{second}@3.2-6.4")[1:3] == ["show02_e01", "#1"]
    assert best(str(second))[1] == "show02_e01"
    Path(first).unlink()  # a query file gone does not hold up the next query
    assert best(f"{other}@0-3.2")[1:3] == ["movie01", "#0"]


def test_nearest_titles_rank_mean_embeddings_like_numpy(embedded):
    summary = read_summary(embedded)
    ids = summary.column("title_id").to_pylist()
    means = vectors(summary, "mean_z_video").astype(np.float64)
    got = nearest_titles(embedded, ids[0], "z_video", k=4)
    order = [i for i in np.argsort(-(means @ means[0])) if i != 0][:4]
    assert [t for t, _ in got] == [ids[i] for i in order]
    with pytest.raises(LibraryError, match="not in"):
        nearest_titles(embedded, "nope")


def test_select_snippets_of_a_range():
    assert select_snippets(10, 3.2, 3.2, 9.6) == [1, 2]
    assert select_snippets(10, 3.2, 4.0, 5.0) == [1]  # none whole: the midpoint's snippet
    assert select_snippets(3, 3.2, None, None) == [0, 1, 2]
    with pytest.raises(LibraryError, match="past the file"):
        select_snippets(3, 3.2, 20.0, 21.0)


def _reference_recall(q, g, labels, titles, k):
    hits = []
    for i in range(len(q)):
        order = [j for j in np.argsort(-(g.astype(np.float64) @ q[i]), kind="stable")
                 if titles[j] != titles[i]]
        hits.append(any(labels[j] == labels[i] for j in order[:k]))
    return float(np.mean(hits))


def test_world_recall_matches_a_plain_loop():
    rng = np.random.default_rng(1)
    n = 120
    labels = rng.integers(0, 4, n).astype(str)
    titles = rng.integers(0, 6, n).astype(str)
    proto = rng.normal(size=(4, 8))
    q = proto[labels.astype(int)] + rng.normal(size=(n, 8))
    g = proto[labels.astype(int)] + rng.normal(size=(n, 8))
    got = recall_excluding_title(q, g, labels, titles, ks=(1, 5, 10))
    for k in (1, 5, 10):
        assert got[f"R@{k}"] == pytest.approx(_reference_recall(q, g, labels, titles, k))
    # chance: a Monte Carlo estimate of random rankings agrees with the closed form
    sims = []
    for _ in range(200):
        r = rng.normal(size=(n, 8))
        sims.append(recall_excluding_title(r, rng.normal(size=(n, 8)), labels, titles, (5,))["R@5"])
    assert np.mean(sims) == pytest.approx(chance_recall(labels, titles, (5,))["R@5"], abs=0.02)


def test_snippet_events_follow_the_world_scenes(tiny_world):
    import json

    gt = json.loads((tiny_world / "ground_truth" / "movie01.json").read_text())
    s0 = gt["scenes"][0]
    ev = snippet_events(tiny_world, ["movie01", "movie01"], np.array([0.0, s0["end_s"]]),
                        np.array([min(3.2, s0["end_s"]), s0["end_s"] + 0.1]))
    assert ev[0] == s0["event"] and ev[1] == gt["scenes"][1]["event"]
    with pytest.raises(LibraryError, match="ground_truth"):
        snippet_events(tiny_world, ["nope"], np.array([0.0]), np.array([3.2]))


def test_title_groups_are_the_world_shows(tiny_world):
    import csv

    with open(tiny_world / "metadata.csv", newline="") as f:
        meta = {r["title_id"]: r["group"] for r in csv.DictReader(f)}
    ids = sorted(meta)
    assert title_groups(tiny_world, ids).tolist() == [meta[t] for t in ids]


def test_a_title_id_starting_with_a_dash_is_searched_as_title_equals(tmp_path, capsys):
    """A file -dash.mp4 has title id -dash: `--title -dash` is an argparse error, so the help
    names `--title=-dash`, which works (nearest titles against a NumPy reference)."""
    from binge.cli import build_parser, main
    from binge.library.store import write_shard, write_summary

    rng = np.random.default_rng(0)
    ids = ["-dash", "b", "c"]
    for tid in ids:
        vecs = {c: rng.normal(size=(3, 8)).astype(np.float32) for c in VECTOR_COLUMNS}
        write_shard(tmp_path, tid, np.arange(3), np.arange(3) * 3.2, np.arange(1, 4) * 3.2, vecs)
    write_summary(tmp_path, ids)
    means = vectors(read_summary(tmp_path), "mean_z_video").astype(np.float64)
    expected = ids[1:][int(np.argmax(means[1:] @ means[0]))]
    assert main(["search", "--index", str(tmp_path), "--title=-dash", "-k", "1"]) == 0
    assert capsys.readouterr().out.split()[1] == expected
    search_parser = build_parser("search")._subparsers._group_actions[0].choices["search"]
    assert "--title=-dash" in search_parser.format_help()
    with pytest.raises(SystemExit):
        main(["search", "--index", str(tmp_path), "--title", "-dash"])
    (tmp_path / "library.json").write_text('{"corpus": "unused with --no-report"}')
    assert main(["search", "--index", str(tmp_path), "--query=-dash@2", "--target", "audio",
                 "-k", "1", "--no-report"]) == 0
    z_audio = vectors(read_shard(tmp_path / "titles" / "-dash.parquet"), "z_audio")
    lib = LibraryIndex(tmp_path)
    best = int(np.argmax(lib.vectors("z_audio").astype(np.float64) @ z_audio[2]))  # NumPy ref
    assert capsys.readouterr().out.splitlines()[1].split()[1:3] == \
        [str(lib.title_ids[best]), f"#{lib.snippets[best]}"]
