"""Loaders against fixtures written in exactly the official layouts (issue 6).

The fixtures are generated here from a ground truth (class of every video, split of
every video); the loaders must return exactly that membership and those class indices
for every split, and name missing files in one error.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from binge.data.datasets import DatasetLayoutError, load_split, splits_of

UCF_CLASSES = ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00")


def make_ucf101(root: Path) -> dict[int, dict[str, set[tuple[str, int]]]]:
    """UCF101 layout: 3 classes × 4 groups × 2 clips; split s tests on groups {s}.

    Returns the ground truth: split → {"train"/"test": {(relative path, 0-based label)}}.
    Lists use Windows line endings as the official ones do; the video file of
    HandstandPushups is spelled v_HandStandPushups as in the real dataset.
    """
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text(
        "".join(f"{i + 1} {c}\r\n" for i, c in enumerate(UCF_CLASSES))
    )
    truth: dict[int, dict[str, set[tuple[str, int]]]] = {}
    for split in (1, 2, 3):
        train, test = [], []
        for label, cls in enumerate(UCF_CLASSES):
            stem = "HandStandPushups" if cls == "HandstandPushups" else cls
            for g in range(1, 5):
                for c in range(1, 3):
                    rel = f"{cls}/v_{stem}_g{g:02d}_c{c:02d}.avi"
                    _touch(root / rel)
                    (test if g == split else train).append((rel, label))
        (lists / f"trainlist0{split}.txt").write_text(
            "".join(f"{rel} {label + 1}\r\n" for rel, label in train)
        )
        (lists / f"testlist0{split}.txt").write_text("".join(f"{rel}\r\n" for rel, _ in test))
        truth[split] = {"train": set(train), "test": set(test)}
    return truth


def make_hmdb51(root: Path) -> dict[int, dict[str, set[tuple[str, int]]]]:
    """HMDB51 layout: 3 classes × 6 videos, ids 1/2/0 drawn at random per split."""
    rng = random.Random(0)
    classes = ["brush_hair", "cartwheel", "wave"]  # already sorted: label = position
    split_dir = root / "testTrainMulti_7030_splits"
    split_dir.mkdir(parents=True)
    truth: dict[int, dict[str, set[tuple[str, int]]]] = {}
    for split in (1, 2, 3):
        truth[split] = {"train": set(), "test": set()}
        for label, cls in enumerate(classes):
            lines = []
            for v in range(6):
                name = f"{cls}_movie{v}_u_nm_np1_fr_med_{v}.avi"
                _touch(root / cls / name)
                tag = [1, 2, 0][(v + split) % 3] if v < 3 else rng.choice([0, 1, 2])
                lines.append(f"{name} {tag} \n")
                if tag in (1, 2):
                    truth[split]["train" if tag == 1 else "test"].add((f"{cls}/{name}", label))
            (split_dir / f"{cls}_test_split{split}.txt").write_text("".join(lines))
    return truth


def make_esc50(root: Path, num_folds: int = 5) -> list[dict[str, str]]:
    """ESC-50 layout: 3 categories × 2 clips per fold; returns the csv rows."""
    categories = ["dog", "rain", "clock_tick"]
    rows = []
    for fold in range(1, num_folds + 1):
        for target, cat in enumerate(categories):
            for take in "AB":
                name = f"{fold}-{100 + target}-{take}-{target}.wav"
                _touch(root / "audio" / name)
                rows.append(
                    dict(filename=name, fold=str(fold), target=str(target), category=cat,
                         esc10="False", src_file=str(100 + target), take=take)
                )
    (root / "meta").mkdir(parents=True)
    with (root / "meta" / "esc50.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _as_set(samples, base: Path) -> set[tuple[str, int]]:
    return {(p.path.relative_to(base).as_posix(), p.label) for p in samples}


@pytest.mark.parametrize("dataset", ["ucf101", "world-action"])
def test_ucf101_every_split_matches_the_lists(tmp_path, capsys, dataset):
    truth = make_ucf101(tmp_path)
    assert splits_of(dataset, tmp_path) == [1, 2, 3]
    for split in (1, 2, 3):
        s = load_split(dataset, tmp_path, split)
        assert s.classes == UCF_CLASSES
        assert _as_set(s.train, tmp_path) == truth[split]["train"]
        assert _as_set(s.test, tmp_path) == truth[split]["test"]
        assert len(s.train) == len(truth[split]["train"])  # no duplicates
        # groups of one UCF101 group stay together (cross-validation folds rely on it)
        assert {x.group for x in s.test} == {f"g{split:02d}"}
    assert "found 24 of 24 listed files" in capsys.readouterr().out


def test_ucf101_nested_ucf101_folder(tmp_path):
    truth = make_ucf101(tmp_path / "tmp")
    # the archive unpacks to UCF-101/<class>; the lists sit beside it
    root = tmp_path / "ucf"
    root.mkdir()
    (tmp_path / "tmp" / "ucfTrainTestlist").rename(root / "ucfTrainTestlist")
    (tmp_path / "tmp").rename(root / "UCF-101")
    s = load_split("ucf101", root, 2)
    assert _as_set(s.train, root / "UCF-101") == truth[2]["train"]


def test_ucf101_missing_files_named_in_one_error(tmp_path, capsys):
    make_ucf101(tmp_path)
    gone = [tmp_path / "YoYo/v_YoYo_g01_c01.avi", tmp_path / "YoYo/v_YoYo_g03_c02.avi"]
    for p in gone:
        p.unlink()
    with pytest.raises(DatasetLayoutError) as err:
        load_split("ucf101", tmp_path, 1)
    for p in gone:
        assert str(p) in str(err.value)
    assert "2 of 24" in str(err.value)
    assert "found 22 of 24 listed files" in capsys.readouterr().out


def test_ucf101_wrong_label_and_missing_lists(tmp_path):
    make_ucf101(tmp_path)
    lists = tmp_path / "ucfTrainTestlist"
    text = (lists / "trainlist01.txt").read_text().replace("c01.avi 1", "c01.avi 3", 1)
    (lists / "trainlist01.txt").write_text(text)
    with pytest.raises(DatasetLayoutError, match="another class folder"):
        load_split("ucf101", tmp_path, 1)
    (lists / "testlist02.txt").unlink()
    with pytest.raises(DatasetLayoutError, match="testlist02.txt"):
        load_split("ucf101", tmp_path, 2)
    with pytest.raises(ValueError, match="splits"):
        load_split("ucf101", tmp_path, 4)


def test_hmdb51_every_split_matches_the_split_files(tmp_path):
    truth = make_hmdb51(tmp_path)
    for split in (1, 2, 3):
        s = load_split("hmdb51", tmp_path, split)
        assert s.classes == ["brush_hair", "cartwheel", "wave"]
        assert _as_set(s.train, tmp_path) == truth[split]["train"]
        assert _as_set(s.test, tmp_path) == truth[split]["test"]
    # a renamed video is named in the error
    (tmp_path / "wave" / "wave_movie0_u_nm_np1_fr_med_0.avi").rename(tmp_path / "wave" / "x.avi")
    with pytest.raises(DatasetLayoutError, match="wave_movie0_u_nm_np1_fr_med_0.avi"):
        load_split("hmdb51", tmp_path, 1)


def test_esc50_every_fold(tmp_path):
    rows = make_esc50(tmp_path)
    assert splits_of("esc50", tmp_path) == [1, 2, 3, 4, 5]
    for fold in range(1, 6):
        s = load_split("esc50", tmp_path, fold)
        assert s.classes == ["dog", "rain", "clock_tick"]
        want_test = {(f"audio/{r['filename']}", int(r["target"])) for r in rows if r["fold"] == str(fold)}
        want_train = {(f"audio/{r['filename']}", int(r["target"])) for r in rows if r["fold"] != str(fold)}
        assert _as_set(s.test, tmp_path) == want_test
        assert _as_set(s.train, tmp_path) == want_train
    (tmp_path / "audio" / rows[0]["filename"]).unlink()
    with pytest.raises(DatasetLayoutError, match=rows[0]["filename"]):
        load_split("world-sound", tmp_path, 2)


def test_esc50_bad_csv(tmp_path):
    make_esc50(tmp_path)
    csv_path = tmp_path / "meta" / "esc50.csv"
    csv_path.write_text(csv_path.read_text().replace("category", "label", 1))
    with pytest.raises(DatasetLayoutError, match="category"):
        load_split("esc50", tmp_path, 1)


def test_fsdd_fixture_split(tmp_path, capsys):
    rec = tmp_path / "recordings"
    truth = {"train": set(), "test": set()}
    for digit in range(10):
        for speaker in ("jackson", "theo"):
            for index in (0, 4, 5, 49):
                name = f"{digit}_{speaker}_{index}.wav"
                _touch(rec / name)
                truth["test" if index < 5 else "train"].add((f"recordings/{name}", digit))
    s = load_split("fsdd", tmp_path)
    assert _as_set(s.train, tmp_path) == truth["train"]
    assert _as_set(s.test, tmp_path) == truth["test"]
    assert "found 80 files (40 train, 40 test; 2 speakers)" in capsys.readouterr().out
    _touch(rec / "seven_jackson_1.wav")
    with pytest.raises(DatasetLayoutError, match="seven_jackson_1.wav"):
        load_split("fsdd", tmp_path)


def test_fsdd_real(fsdd_root):
    s = load_split("fsdd", fsdd_root)
    # 6 speakers × 10 digits × 50 takes; takes 0–4 are the test set (shared/data/README.md)
    assert (len(s.train), len(s.test)) == (2700, 300)
    assert sorted({x.label for x in s.test}) == list(range(10))
    assert all(int(x.path.stem.split("_")[2]) < 5 for x in s.test)
