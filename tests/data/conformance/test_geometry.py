"""Display geometry (issue 13, kind 2): sample aspect ratio (DVD PAL/NTSC 4:3 and 16:9
flags) and the display matrix (rotation 90 / 180 / 270, as phones write it).

Ground truth: a disc that is round when displayed, with a red square in its top-left
corner when upright. Asserted: prepared frames (``SnippetDataset``) and the evaluation
path (``read_video``) show the disc round within 2 % and the square top-left, at the
display size.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from binge.config import DataConfig
from binge.data import SnippetDataset
from binge.data.media import probe, read_video

from .conftest import prepared
from .gen import disc, disc_roundness, make_clip, upright_marker

#: larger frames than the other suites so 1 px is < 1 % of the disc
GEO_DATA = DataConfig(frames=16, fps=5.0, short_side=144, sample_rate=16_000, n_mels=64,
                      n_fft=1024, hop_length=256)
#: |width / height − 1| of the disc
TOL_ROUND = 0.02

#: name → (stored width, stored height, SAR, rotation); display size in comments
CASES = {
    "sar_4_3.mkv": (192, 144, Fraction(4, 3), 0),  # anamorphic 16:9 → 256×144
    "sar_64_45.mkv": (180, 144, Fraction(64, 45), 0),  # PAL DVD 16:9 → 256×144
    "sar_32_27.mp4": (216, 144, Fraction(32, 27), 0),  # NTSC DVD 16:9 → 256×144
    "sar_8_9.mp4": (216, 144, Fraction(8, 9), 0),  # NTSC DVD 4:3 → 192×144
    "rot_90.mp4": (144, 192, Fraction(1), 90),  # phone portrait → 192×144 upright
    "rot_180.mov": (192, 144, Fraction(1), 180),
    "rot_270.mp4": (144, 192, Fraction(1), 270),
}


def _stored(w: int, h: int, sar: Fraction, rotation: int) -> np.ndarray:
    """What the file stores: the upright display picture turned back by the rotation."""
    k = rotation // 90
    if k % 2:
        upright = disc(h, w, sar)  # displayed w/h swap
    else:
        upright = disc(w, h, sar)
    return np.ascontiguousarray(np.rot90(upright, -k))


@pytest.fixture(scope="module")
def geometry_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("geometry_src")
    for i, (name, (w, h, sar, rot)) in enumerate(CASES.items()):
        img = _stored(w, h, sar, rot)
        assert img.shape[:2] == (h, w)
        make_clip(folder / name, duration_s=4.0, fps=5.0, size=(w, h),
                  image=lambda t, im=img: im, sar=sar if sar != 1 else None, rotation=rot,
                  seed=i)
    out = tmp_path_factory.mktemp("geometry") / "corpus"
    rows, skipped, _ = prepared(folder, out, GEO_DATA)
    assert skipped == {}
    return folder, out, rows


@pytest.mark.parametrize("name", sorted(CASES))
def test_disc_round_and_upright_on_both_paths(geometry_corpus, name):
    folder, out, rows = geometry_corpus
    w, h, sar, rot = CASES[name]
    ds = SnippetDataset(out, augment=False, crop_size=None, data=GEO_DATA)
    n = ds.title_ids.index(rows[name]["title_id"])
    frame = ds.get_snippet(n, 0)["video"][3].numpy()
    evaluation = read_video(folder / name, 5.0, 144, max_frames=4)[3]
    info = probe(folder / name).video
    display = (info.display_width, info.display_height)
    for img in (frame, evaluation):
        assert abs(disc_roundness(img) - 1.0) <= TOL_ROUND, (name, disc_roundness(img))
        assert upright_marker(img) == "tl", name
        assert img.shape[0] == 144
        assert abs(img.shape[1] / img.shape[0] - display[0] / display[1]) < 0.02, name
    assert (rows[name]["source_sar"], rows[name]["source_rotation"]) == (str(sar), rot)
