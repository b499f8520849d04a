"""scripts/real_footage.py: normalised ``Frame,Ball,x,y`` clips -> the generic layout, split by clip.

Synthetic clips only (no real footage in tests)."""

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import load_script
from tracknet.data.formats import load_clips
from tracknet.io.video.writer import VideoWriter


@pytest.fixture(scope="module")
def real_footage():
    return load_script("real_footage")


def _clip(folder: Path, stem: str, frames: int = 4, size=(64, 48), video=True) -> None:
    if video:
        with VideoWriter(folder / f"{stem}.mp4", fps=30, size=size) as writer:
            for _ in range(frames):
                writer.write(np.zeros((size[1], size[0], 3), np.uint8))
    rows = ["Frame,Ball,x,y"] + [f"{i},{i % 2},{0.25 if i % 2 else 0},0.5" for i in range(frames)]
    (folder / f"{stem}.csv").write_text("\n".join(rows) + "\n")


def test_converts_splits_by_clip_and_loads_as_generic(tmp_path, real_footage):
    src, test_src, out = tmp_path / "raw", tmp_path / "raw2", tmp_path / "out"
    src.mkdir()
    test_src.mkdir()
    for i in range(4):
        _clip(src, f"0000{i}")
    _clip(src, "00009", video=False)  # a csv without its video: skipped, reported
    _clip(test_src, "00001")
    report = real_footage.convert(src, test_src, out, val_clips=1, seed=0)
    assert [len(report["clips"][s]) for s in ("train", "val", "test")] == [3, 1, 1]
    assert report["skipped"] == [str(src / "00009.csv")]
    again = real_footage.convert(src, test_src, tmp_path / "out2", val_clips=1, seed=0)
    assert [c["clip"] for c in again["clips"]["val"]] == [c["clip"] for c in report["clips"]["val"]]
    assert (out / "split.json").exists() and "data.split.test=[test/*]" in report["overrides"]
    rows = (out / "test" / "00001_ball.csv").read_text().splitlines()
    assert rows[:3] == ["Frame,Visibility,X,Y", "0,0,0,0", "1,1,16,24"]  # 0.25 x 64, 0.5 x 48
    clips = load_clips(out, "generic")
    assert sorted(c.name for c in clips) == sorted(
        c["clip"] for split in report["clips"].values() for c in split
    )
    assert clips[0].frame_size == (64, 48) and clips[0].num_frames == 4


def test_split_is_deterministic_and_checked(real_footage):
    stems = [f"{i:05d}" for i in range(33)]
    train, val, test = real_footage.split_stems(stems, 5, seed=0)
    assert (train, val, test) == real_footage.split_stems(list(reversed(stems)), 5, seed=0)
    assert len(train) == 28 and len(val) == 5 and test == [] and not set(train) & set(val)
    train6, val6, test6 = real_footage.split_stems(stems, 5, seed=0, test_clips=6)
    assert val6 == val and len(test6) == 6 and sorted(train6 + test6) == train  # val unchanged
    with pytest.raises(ValueError, match="val-clips"):
        real_footage.split_stems(stems[:2], 2, seed=0)
    with pytest.raises(ValueError, match="test-clips"):
        real_footage.split_stems(stems[:3], 1, seed=0, test_clips=2)


def test_test_clips_are_held_out_of_the_train_val_folder(tmp_path, real_footage):
    src = tmp_path / "raw"
    src.mkdir()
    for i in range(5):
        _clip(src, f"0000{i}")
    report = real_footage.convert(src, None, tmp_path / "out", val_clips=1, test_clips=2)
    names = {s: {c["clip"].split("/")[1] for c in report["clips"][s]} for s in report["clips"]}
    assert [len(names[s]) for s in ("train", "val", "test")] == [2, 1, 2]
    assert set.union(*names.values()) == {f"0000{i}" for i in range(5)}
    assert "data.split.test=[test/*]" in report["overrides"]
    with pytest.raises(ValueError, match="not both"):
        real_footage.convert(src, src, tmp_path / "o2", val_clips=1, test_clips=1)


def test_bad_rows_name_file_and_row(tmp_path, real_footage):
    bad = tmp_path / "a.csv"
    bad.write_text("Frame,Ball,x,y\n0,1,0.5,0.5\n1,1,640,360\n")
    with pytest.raises(ValueError, match=r"a.csv, row 3: normalised coordinates outside 0-1"):
        real_footage.read_normalized_csv(bad, 1280, 720)
    bad.write_text("Frame,Visibility,X,Y\n0,1,5,5\n")
    with pytest.raises(ValueError, match="lacks one of Frame, Ball, x, y"):
        real_footage.read_normalized_csv(bad, 1280, 720)
