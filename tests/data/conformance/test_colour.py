"""Colour (issue 13, kind 1): matrix (BT.601 / BT.709 / BT.2020), range (limited /
full) and the defaults for untagged SD and HD material.

Ground truth: the RGB of the card's patches, encoded to YCbCr with the named matrix and
range. Asserted: the patches reach the source RGB within TOL_SOURCE codes through the
evaluation path (``read_video``) and through ``prepare`` + ``SnippetDataset``, the two
paths agree within TOL_PATHS codes, and the prepared copy is tagged BT.709 limited so
that any decoder reads it right.
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from binge.data import SnippetDataset
from binge.data.media import read_video

from .conftest import CONF_DATA, prepared
from .gen import PATCHES, make_clip, patch_means

#: largest |error| (8-bit codes) of a patch mean against the source RGB (either path)
TOL_SOURCE = 6
#: largest |error| between the evaluation path and prepare + SnippetDataset
TOL_PATHS = 5

SD, HD = (160, 120), (1280, 720)
#: file name → make_clip keywords (5 fps sources, 20 frames: 4 s, one snippet)
CASES = {
    "bt601_tagged_sd.mkv": dict(matrix="bt601", size=SD),
    "bt601_untagged_sd.mkv": dict(matrix="bt601", size=SD, tag=False),
    "bt601_tagged_hd.mkv": dict(matrix="bt601", size=HD),
    "bt709_tagged_sd.mp4": dict(matrix="bt709", size=SD),
    "bt709_tagged_hd.mp4": dict(matrix="bt709", size=HD),
    "bt709_untagged_hd.mp4": dict(matrix="bt709", size=HD, tag=False),
    "bt2020_10bit_tagged_sd.mkv": dict(matrix="bt2020", size=SD, pix_fmt="yuv420p10le"),
    "bt2020_10bit_tagged_hd.mkv": dict(matrix="bt2020", size=HD, pix_fmt="yuv420p10le"),
    "bt601_10bit_untagged_sd.mkv": dict(matrix="bt601", size=SD, pix_fmt="yuv420p10le",
                                        tag=False),
    "bt709_10bit_untagged_hd.mkv": dict(matrix="bt709", size=HD, pix_fmt="yuv420p10le",
                                        tag=False),
    "full_h264_tagged.mp4": dict(matrix="bt601", size=SD, full_range=True),
    "full_h264_yuvj_untagged.mkv": dict(matrix="bt601", size=SD, full_range=True,
                                        pix_fmt="yuvj420p", tag=False),
    "full_h264_bt709_tagged_hd.mp4": dict(matrix="bt709", size=HD, full_range=True),
    "full_mjpeg.mkv": dict(matrix="bt601", size=SD, full_range=True, codec="mjpeg",
                           pix_fmt="yuvj420p"),
    "full_mjpeg.avi": dict(matrix="bt601", size=SD, full_range=True, codec="mjpeg",
                           pix_fmt="yuvj420p", tag=False),
}


@pytest.fixture(scope="module")
def colour_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("colour_src")
    for i, (name, kw) in enumerate(CASES.items()):
        make_clip(folder / name, duration_s=4.0, fps=5.0, seed=i, **kw)
    out = tmp_path_factory.mktemp("colour") / "corpus"
    rows, skipped, _ = prepared(folder, out)
    return folder, out, rows, skipped


def test_every_colour_source_is_prepared(colour_corpus):
    _, _, rows, skipped = colour_corpus
    assert skipped == {}
    assert set(rows) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_patches_reach_source_rgb_on_both_paths(colour_corpus, name):
    folder, out, rows, _ = colour_corpus
    ds = SnippetDataset(out, augment=False, crop_size=None, data=CONF_DATA)
    n = ds.title_ids.index(rows[name]["title_id"])
    loader = patch_means(ds.get_snippet(n, 0)["video"][4].numpy())
    evaluation = patch_means(read_video(folder / name, CONF_DATA.fps, CONF_DATA.short_side,
                                        max_frames=5)[4])
    assert np.abs(evaluation - PATCHES).max() <= TOL_SOURCE, (name, evaluation.round())
    assert np.abs(loader - PATCHES).max() <= TOL_SOURCE, (name, loader.round())
    assert np.abs(loader - evaluation).max() <= TOL_PATHS, (name, loader.round(),
                                                            evaluation.round())


def test_prepared_copy_is_tagged_bt709_limited(colour_corpus):
    _, out, rows, _ = colour_corpus
    for row in rows.values():
        with av.open(str(out / row["video_path"])) as c:
            cc = c.streams.video[0].codec_context
            assert (cc.colorspace, cc.color_range, cc.pix_fmt) == (1, 1, "yuv420p")


def test_manifest_names_the_colour_handling(colour_corpus):
    _, _, rows, _ = colour_corpus
    assert rows["bt709_untagged_hd.mp4"]["source_colour"] == "bt709 limited (untagged HD)"
    assert rows["bt601_untagged_sd.mkv"]["source_colour"] == "bt601 limited (untagged SD)"
    assert rows["full_h264_tagged.mp4"]["source_colour"] == "bt601 full (tagged)"
    assert rows["bt2020_10bit_tagged_hd.mkv"]["source_colour"] == "bt2020 limited (tagged)"
