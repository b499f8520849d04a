"""Inference faults: damaged videos and interrupted writes.

``predict`` writes one row for every frame of a damaged video (visibility 0 where a frame could
not be decoded), says how many were not, and never leaves a half-written CSV or MP4 in place.
"""

from __future__ import annotations

import csv
import errno
from pathlib import Path

import av
import pytest

from tests.reliability.conftest import assert_one_clear_line, cli

FRAMES = 24


def _faststart(src: Path, dst: Path) -> list[tuple[int, int, bool]]:
    """Remux with the index first (what cameras and web exports do); returns each packet's
    ``(file offset, size, keyframe)`` in decoding order."""
    packets = []
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = stream
            out.mux(packet)
    with av.open(str(dst)) as inp:
        for packet in inp.demux(inp.streams.video[0]):
            if packet.size:
                packets.append((int(packet.pos), int(packet.size), bool(packet.is_keyframe)))
    return packets


@pytest.fixture(scope="module")
def damaged(clean_video, tmp_path_factory):
    """``truncated``: the file stops at the keyframe of frame 12 (frames 12-23 lost);
    ``corrupt``: the keyframe of frame 8 overwritten with garbage, the rest intact."""
    tmp = tmp_path_factory.mktemp("damaged")
    whole = tmp / "whole.mp4"
    packets = _faststart(clean_video, whole)
    keyframes = [p for p in packets if p[2]]
    data = whole.read_bytes()
    truncated = tmp / "truncated.mp4"
    truncated.write_bytes(data[: keyframes[3][0]])  # keyframes at frames 0, 4, 8, 12, ...
    corrupt = tmp / "corrupt.mp4"
    pos, size, _ = keyframes[2]
    corrupt.write_bytes(data[:pos] + bytes([0xFF]) * size + data[pos + size :])
    return {"truncated": truncated, "corrupt": corrupt}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _predict(capsys, video, run, out, *extra):
    return cli(capsys, "predict", str(video), "--checkpoint", str(run), "--out", str(out), *extra)


@pytest.mark.parametrize("kind", ["truncated", "corrupt"])
def test_damaged_video_gets_a_row_per_frame_and_a_count(
    capsys, damaged, trained_run, tmp_path, kind
):
    out = tmp_path / "out"
    code, stdout, err = _predict(capsys, damaged[kind], trained_run, out, "--details", "--overlay")
    assert code == 0, err
    rows = _rows(out / f"{kind}_ball.csv")
    assert [int(r["Frame"]) for r in rows] == list(range(FRAMES)), "one row for every frame"
    details = _rows(out / f"{kind}_details.csv")
    lost = [int(r["Frame"]) for r in details if r["Decoded"] == "0"]
    assert lost, "the damage must cost frames"
    if kind == "truncated":
        assert lost == list(range(12, FRAMES))
    assert f"{len(lost)} undecodable" in stdout
    for frame in lost:
        assert rows[frame]["Visibility"] == "0"
    with av.open(str(out / f"{kind}_overlay.mp4")) as video:  # complete and playable
        assert sum(1 for _ in video.decode(video=0)) == FRAMES
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{kind}_{s}" for s in ("ball.csv", "details.csv", "overlay.mp4")
    ), "no temporary file left"


def test_crash_while_writing_the_overlay_keeps_the_previous_one(
    capsys, monkeypatch, clean_video, trained_run, tmp_path
):
    from tracknet.io.video import writer as video_io

    out = tmp_path / "out"
    code, _, err = _predict(capsys, clean_video, trained_run, out, "--overlay")
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    real = video_io.VideoWriter.write

    def write(self, frame):
        if self.frames_written == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, frame)

    monkeypatch.setattr(video_io.VideoWriter, "write", write)
    code, _, err = _predict(capsys, clean_video, trained_run, out, "--overlay")
    assert_one_clear_line(code, err, "rally_overlay.mp4", "disk is full")
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after.keys() == before.keys(), "no temporary file left"
    assert after["rally_overlay.mp4"] == before["rally_overlay.mp4"], "old overlay untouched"
    assert len(_rows(out / "rally_ball.csv")) == FRAMES  # the CSV (written first) is complete


def test_disk_full_while_writing_the_csv_keeps_the_previous_one(
    capsys, monkeypatch, clean_video, trained_run, tmp_path
):
    import tracknet.utils as utils

    out = tmp_path / "out"
    code, _, err = _predict(capsys, clean_video, trained_run, out)
    assert code == 0, err
    old = (out / "rally_ball.csv").read_bytes()

    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(utils.os, "fsync", fsync)
    code, _, err = _predict(capsys, clean_video, trained_run, out)
    assert_one_clear_line(code, err, "rally_ball.csv", "disk is full")
    assert sorted(p.name for p in out.iterdir()) == ["rally_ball.csv"]
    assert (out / "rally_ball.csv").read_bytes() == old


def test_interrupted_predict_leaves_no_output_in_place(
    capsys, monkeypatch, clean_video, trained_run, tmp_path
):
    """Ctrl-C half-way through the overlay: no overlay at its final name, nothing temporary."""
    from tracknet.io.video import writer as video_io

    real = video_io.VideoWriter.write

    def write(self, frame):
        if self.frames_written == 5:
            raise KeyboardInterrupt
        return real(self, frame)

    monkeypatch.setattr(video_io.VideoWriter, "write", write)
    out = tmp_path / "out"
    code, _, err = _predict(capsys, clean_video, trained_run, out, "--overlay")
    assert code == 130 and "interrupted" in err
    assert sorted(p.name for p in out.iterdir()) == ["rally_ball.csv"]


KILL_IN_OVERLAY = """
import os, signal, sys
from tracknet.io.video import writer as video
real = video.VideoWriter.write
def write(self, frame):
    if self.frames_written == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, frame)
video.VideoWriter.write = write
from tracknet.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigkill_while_writing_the_overlay(clean_video, trained_run, tmp_path):
    """A real SIGKILL: nothing half-written at a final name (a hidden temporary file remains)."""
    import signal
    import subprocess
    import sys

    from tests.reliability.conftest import ENV

    out = tmp_path / "out"
    args = [str(clean_video), "--checkpoint", str(trained_run), "--out", str(out), "--overlay"]
    res = subprocess.run(
        [sys.executable, "-c", KILL_IN_OVERLAY, "predict", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == -signal.SIGKILL, res.stderr
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == ["rally_ball.csv"], "no overlay at its final name"
    assert len(_rows(out / "rally_ball.csv")) == FRAMES, "the CSV is complete"
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert all(name.startswith(".rally_overlay.mp4.") for name in hidden)
