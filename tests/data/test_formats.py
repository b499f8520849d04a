"""Dataset layouts -> Clip records: each reader, format detection, bad input, synth round trip
(the fixture writers are in ``tests/data/helpers.py``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from tests.data.helpers import (
    SIZE,
    assert_same_labels,
    render,
    track,
    write_images,
    write_mp4,
    write_tennis_clip,
    write_video_clip,
)
from tracknet import constants
from tracknet.config import LabelsConfig, load_config
from tracknet.data import formats
from tracknet.data.dataset import load_split
from tracknet.data.formats import detect_format, is_visible, load_clips
from tracknet.errors import DataError
from tracknet.io.data_problems import DataProblems
from tracknet.io.labels import TrackLabels, write_ball_csv
from tracknet.io.video.writer import VideoWriter


# --------------------------------------------------------------------------- layouts
def test_tennis_layout(tmp_path):
    first = write_tennis_clip(tmp_path / "game1" / "Clip1", n=5)
    write_tennis_clip(tmp_path / "game2" / "Clip1", n=4, seed=1)
    assert detect_format(tmp_path) == "tennis"
    clips = load_clips(tmp_path)
    assert [c.name for c in clips] == ["game1/Clip1", "game2/Clip1"]
    clip = clips[0]
    assert not clip.is_video and len(clip.source) == 5 == clip.num_frames
    assert clip.source[3].name == "0003.jpg"
    assert clip.frame_size == SIZE and clip.fps == 30.0
    assert_same_labels(clip.labels, first)


def test_shuttlecock_layout(tmp_path):
    match = tmp_path / "Professional" / "match1"
    labels = write_video_clip(match / "video" / "1_01_00.mp4", match / "csv" / "1_01_00_ball.csv")
    assert detect_format(tmp_path) == "shuttlecock"
    (clip,) = load_clips(tmp_path)
    assert clip.name == "Professional/match1/1_01_00"
    assert clip.is_video and clip.source == match / "video" / "1_01_00.mp4"
    assert (clip.num_frames, clip.frame_size, clip.fps) == (6, SIZE, 30.0)
    assert_same_labels(clip.labels, labels)


def test_generic_layout_with_a_video_and_an_image_folder(tmp_path):
    video_labels = write_video_clip(tmp_path / "clipA.mp4", tmp_path / "clipA_ball.csv", n=5)
    folder_labels = track(4)
    write_images(tmp_path / "sub" / "clipB", folder_labels, suffix=".png")
    write_ball_csv(tmp_path / "sub" / "clipB_ball.csv", folder_labels)
    assert detect_format(tmp_path) == "generic"
    clips = load_clips(tmp_path, "generic")
    assert [c.name for c in clips] == ["clipA", "sub/clipB"]
    assert clips[0].is_video and not clips[1].is_video
    assert_same_labels(clips[0].labels, video_labels)
    assert_same_labels(clips[1].labels, folder_labels)


@pytest.mark.parametrize(
    ("suffix", "codec"), [(".webm", "libvpx-vp9"), (".m4v", "libx264"), (".MOV", "libx264")]
)
def test_generic_layout_reads_every_video_suffix_predict_reads(tmp_path, suffix, codec):
    """A clip in any container ``tracknet predict`` accepts is also read as data (the readers
    and predict share :data:`tracknet.constants.VIDEO_SUFFIXES`)."""
    labels = track(5)
    video = tmp_path / f"clip{suffix}"
    with VideoWriter(video, fps=30, size=SIZE, codec=codec) as writer:
        for frame in render(labels):
            writer.write(frame)
    write_ball_csv(tmp_path / "clip_ball.csv", labels)
    assert detect_format(tmp_path) == "generic"
    (clip,) = load_clips(tmp_path, problems=DataProblems(strict=True))
    assert clip.name == "clip" and clip.source == video
    assert (clip.num_frames, clip.frame_size) == (5, SIZE)
    assert_same_labels(clip.labels, labels)


def test_suffixes_and_file_names_come_from_the_constants():
    assert formats.VIDEO_SUFFIXES is constants.VIDEO_SUFFIXES
    assert {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm"} <= formats.VIDEO_SUFFIXES
    assert formats.IMAGE_SUFFIXES is constants.IMAGE_SUFFIXES
    assert formats.BALL_CSV_SUFFIX == constants.BALL_CSV_SUFFIX == "_ball.csv"
    assert formats.IMAGE_FOLDER_FPS == constants.IMAGE_FOLDER_FPS


def test_an_unlabelled_webm_is_reported_like_an_unlabelled_mp4(tmp_path):
    write_video_clip(tmp_path / "good.mp4", tmp_path / "good_ball.csv")
    (tmp_path / "stray.webm").write_bytes(b"")  # never opened: it has no label CSV
    problems = DataProblems()
    assert [c.name for c in load_clips(tmp_path, "generic", problems=problems)] == ["good"]
    assert problems.counts == {"missing_csv": 1}
    assert "stray.webm: no stray_ball.csv beside it" in problems.summary()


def test_detect_format_errors(tmp_path):
    with pytest.raises(DataError, match="no labelled clips"):
        detect_format(tmp_path)
    with pytest.raises(DataError, match="not found"):
        load_clips(tmp_path / "absent")
    write_tennis_clip(tmp_path / "game1" / "Clip1")
    with pytest.raises(DataError, match="unknown dataset format"):
        load_clips(tmp_path, "soccer")


def test_header_variant_in_a_tennis_clip(tmp_path):
    folder = tmp_path / "game1" / "Clip1"
    labels = write_tennis_clip(folder, n=3)
    text = (folder / "Label.csv").read_text().splitlines()
    text[0] = "File Name,Visibility Class,X,Y,Trajectory Pattern"
    (folder / "Label.csv").write_text("\n".join(text) + "\n")
    assert_same_labels(load_clips(tmp_path)[0].labels, labels)


# --------------------------------------------------------------------------- bad input
def _corrupt(path: Path) -> None:
    path.write_bytes(b"this is not a picture")


def _bad_tennis(root: Path) -> None:
    write_tennis_clip(root / "game1" / "Clip1")
    write_images(root / "game1" / "Clip2", track(3))  # no Label.csv
    write_tennis_clip(root / "game2" / "Clip1")
    _corrupt(root / "game2" / "Clip1" / "0002.jpg")


_BAD_GENERIC = {
    "orphan": lambda root: write_ball_csv(root / "orphan_ball.csv", track(3)),
    "unlabelled": lambda root: write_mp4(root / "unlabelled.mp4", render(track(2))),
    "broken": lambda root: (
        write_ball_csv(root / "broken_ball.csv", track(3)),
        _corrupt(root / "broken.mp4"),
    ),
    "short": lambda root: (
        write_video_clip(root / "short.mp4", root / "short_ball.csv", n=4),
        write_ball_csv(root / "short_ball.csv", track(6)),  # 6 rows for a 4-frame video
    ),
    "header": lambda root: (
        write_mp4(root / "header.mp4", render(track(2))),
        (root / "header_ball.csv").write_text("Frame,Vis,Z\n0,1,2\n"),
    ),
}


def _bad_generic(root: Path, kinds=tuple(_BAD_GENERIC)) -> None:
    write_video_clip(root / "good.mp4", root / "good_ball.csv")
    for kind in kinds:
        _BAD_GENERIC[kind](root)


def test_bad_tennis_input_is_skipped_counted_and_warned_once(tmp_path, caplog):
    _bad_tennis(tmp_path)
    problems = DataProblems()
    clips = load_clips(tmp_path, problems=problems)
    assert problems.counts == {"missing_csv": 1, "unreadable_source": 1}
    assert [c.name for c in clips] == ["game1/Clip1", "game2/Clip1"]
    # The unreadable image stays in the source (frame numbers keep their meaning) but unlabelled.
    assert len(clips[1].source) == 6 and 2 not in clips[1].labels.frame.tolist()
    with caplog.at_level(logging.WARNING, logger="tracknet"):
        load_clips(tmp_path)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "missing_csv" in warnings[0].getMessage()
    with pytest.raises(DataError, match="Clip2"):
        load_clips(tmp_path, strict=True)


def test_bad_generic_input_is_skipped_and_counted(tmp_path):
    _bad_generic(tmp_path)
    problems = DataProblems()
    clips = load_clips(tmp_path, "generic", problems=problems)
    assert problems.counts == {
        "missing_source": 1,
        "missing_csv": 1,
        "unreadable_source": 1,
        "bad_csv": 1,
        "frame_count_mismatch": 1,
        "extra_row": 2,  # frames 4 and 5
    }
    assert [c.name for c in clips] == ["good", "short"]
    assert clips[1].labels.frame.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("culprit", "message"),
    [
        ("orphan", "orphan_ball.csv: no video"),
        ("unlabelled", "unlabelled.mp4: no unlabelled_ball.csv"),
        ("broken", "broken.mp4"),
        ("short", "6 label rows for 4 frames"),
        ("header", "no column for"),
    ],
)
def test_bad_generic_input_raises_in_strict_mode(tmp_path, culprit, message):
    _bad_generic(tmp_path, [culprit])
    with pytest.raises(DataError, match=message):
        load_clips(tmp_path, "generic", strict=True)


def test_skipped_row_leaves_its_frame_unlabelled(tmp_path):
    folder = tmp_path / "game1" / "Clip1"
    write_tennis_clip(folder, n=4)
    lines = (folder / "Label.csv").read_text().splitlines()
    lines[3] = "0002.jpg,1,999,999,0"  # outside the 64x36 frame
    (folder / "Label.csv").write_text("\n".join(lines) + "\n")
    problems = DataProblems()
    (clip,) = load_clips(tmp_path, problems=problems)
    assert problems.counts == {"outside_frame": 1}
    assert clip.labels.frame.tolist() == [0, 1, 3] and clip.num_frames == 4


def test_is_visible():
    codes = np.array([0, 1, 2, 3])
    assert is_visible(codes).tolist() == [False, True, True, False]
    assert is_visible(codes, (1, 2, 3)).tolist() == [False, True, True, True]


# --------------------------------------------------------------------------- data.labels
def _normalised_csv(path: Path, labels: TrackLabels, size=SIZE) -> None:
    """``Frame,Ball,x,y`` with fractions of the frame and ``-1`` where there is no ball (the
    layout of alenzenx/TrackNetV3's raw_data)."""
    w, h = size
    rows = ["Frame,Ball,x,y"]
    for f, v, x, y in zip(labels.frame, labels.visibility, labels.x, labels.y, strict=True):
        rows.append(f"{f},{v},{float(x / w)!r},{float(y / h)!r}" if v else f"{f},0,-1.000,-1.000")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")


def test_every_layout_reads_normalised_labels_through_data_labels(tmp_path):
    match = tmp_path / "shuttle" / "match1"
    rally = track(5)
    write_mp4(match / "video" / "1_01.mp4", render(rally))
    _normalised_csv(match / "csv" / "1_01_ball.csv", rally)
    clip_folder = tmp_path / "tennis" / "game1" / "Clip1"
    tennis = track(4, seed=1)
    names = write_images(clip_folder, tennis)
    rows = [
        f"{n},{v},{float(x / SIZE[0])!r},{float(y / SIZE[1])!r},0" if v else f"{n},0,,,0"
        for n, v, x, y in zip(names, tennis.visibility, tennis.x, tennis.y, strict=True)
    ]
    header = "file name,visibility,x-coordinate,y-coordinate,status"
    (clip_folder / "Label.csv").write_text("\n".join([header, *rows]) + "\n")
    generic = track(4, seed=2)
    write_images(tmp_path / "generic" / "clip", generic)
    _normalised_csv(tmp_path / "generic" / "clip_ball.csv", generic)
    for root, expected in (("shuttle", rally), ("tennis", tennis), ("generic", generic)):
        for labels in (LabelsConfig(), LabelsConfig(coords="normalized", visibility="")):
            problems = DataProblems(strict=True)
            (clip,) = load_clips(tmp_path / root, labels=labels, problems=problems)
            assert_same_labels(clip.labels, expected)


def test_what_was_detected_is_logged_once_per_dataset(tmp_path, caplog):
    for i in range(3):
        labels = track(4, seed=i)
        write_images(tmp_path / f"clip{i}", labels)
        _normalised_csv(tmp_path / f"clip{i}_ball.csv", labels)
    with caplog.at_level(logging.INFO, logger="tracknet"):
        clips = load_clips(tmp_path, "generic", labels=LabelsConfig())
    assert len(clips) == 3
    notes = [r.getMessage() for r in caplog.records]
    assert sum("fractions of the frame size" in n for n in notes) == 1, notes
    assert sum("label columns matched by meaning" in n for n in notes) == 1, notes


def test_a_contradicting_label_file_is_skipped_or_refused_naming_row_and_column(tmp_path):
    write_video_clip(tmp_path / "good.mp4", tmp_path / "good_ball.csv")
    labels = track(4)
    write_images(tmp_path / "odd", labels)
    _normalised_csv(tmp_path / "odd_ball.csv", labels)
    lines = (tmp_path / "odd_ball.csv").read_text().splitlines()
    lines[3] = "2,1,1.5,0.5"  # line 4: x above 1 in a normalised file
    (tmp_path / "odd_ball.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"odd_ball.csv:4: column 'x' holds 1.5"):
        load_clips(tmp_path, "generic", strict=True, labels=LabelsConfig())  # mostly fractions
    normalised = LabelsConfig(coords="normalized")  # and the pixel file contradicts it
    with pytest.raises(DataError, match="good_ball.csv:2: column 'X' holds 8"):
        load_clips(tmp_path, "generic", strict=True, labels=normalised)
    problems = DataProblems()
    clips = load_clips(tmp_path, "generic", labels=LabelsConfig(), problems=problems)
    assert [c.name for c in clips] == ["good"]  # the contradicting file is skipped, reported
    assert problems.counts == {"bad_csv": 1} and "odd_ball.csv:4: column 'x'" in problems.summary()


def test_load_split_reads_with_the_configured_labels(tmp_path):
    labels = track(6)
    write_images(tmp_path / "clip", labels)
    body = "".join(
        f"{f},{float(x / SIZE[0])!r},{float(y / SIZE[1])!r},0\n"
        for f, v, x, y in zip(labels.frame, labels.visibility, labels.x, labels.y, strict=True)
        if v
    )
    (tmp_path / "clip_ball.csv").write_text("num,x,y,visible\n" + body)
    cfg = load_config(
        overrides=[
            f"data.root={tmp_path}",
            "data.visible_codes=[0]",
            "data.labels.missing=no_ball",
            "data.split.train=[clip]",
            "data.strict=true",
        ]
    )
    (clip,) = load_split(cfg, "train")
    assert clip.labels.frame.tolist() == list(range(6))
    visible = is_visible(clip.labels.visibility, (0,))
    assert visible.tolist() == (labels.visibility > 0).tolist()
    assert np.allclose(clip.labels.x[visible], labels.x[labels.visibility > 0], atol=1e-3)


# --------------------------------------------------------------------------- synth round trip
@pytest.mark.parametrize("fmt", ["tennis", "shuttlecock", "generic"])
def test_synth_roundtrip(tmp_path, fmt):
    synth = pytest.importorskip("tracknet.data.synth")
    size = (160, 96)
    written = list(synth.iter_synthesize(tmp_path, fmt, clips=2, frames=5, size=size, seed=4))
    assert detect_format(tmp_path) == fmt
    problems = DataProblems(strict=True)  # synthetic data must read without a single problem
    clips = load_clips(tmp_path, problems=problems)
    assert len(clips) == len(written) == 2
    for clip, (path, written_labels) in zip(clips, written, strict=True):
        assert clip.frame_size == size and clip.num_frames == 5
        assert clip.is_video == (fmt != "tennis")
        source = clip.source if clip.is_video else clip.source[0].parent
        assert Path(source) == Path(path)
        expected = getattr(written_labels, "labels", written_labels)  # labels or a clip plan
        assert clip.labels.frame.tolist() == list(range(5))
        assert clip.labels.visibility.tolist() == expected.visibility.tolist()
        shown = expected.visibility > 0
        assert np.allclose(clip.labels.x[shown], expected.x[shown], atol=1e-3)
        assert np.allclose(clip.labels.y[shown], expected.y[shown], atol=1e-3)
