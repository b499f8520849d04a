"""``tracknet predict`` end to end: CSV, overlay, image folders, damaged input, smoothing, ranks.

The tests run the CLI in-process (``tracknet.cli.main``). Tests about tracking logic use the
:class:`~tests.infer.conftest.BrightSpotModel` stub (known detections); the others use a real,
untrained tiny TrackNet.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest
from PIL import Image

from tests.infer.conftest import (
    FRAME_SIZE,
    damage_packet,
    line_positions,
    read_rows,
    spot_frame,
    write_spot_images,
    write_spot_video,
)
from tracknet.cli import main
from tracknet.io.video.probe import probe_video
from tracknet.predict.inputs import input_bytes, shard_largest_first

REPO = Path(__file__).resolve().parents[2]
HEADER = ["Frame", "Visibility", "X", "Y"]


def _leftovers(folder: Path) -> list[str]:
    """Temporary files of atomic writes (hidden ``.NAME.*``) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _predict(*args) -> int:
    return main(["predict", *map(str, args), "--no-progress"])


# --------------------------------------------------------------------------- real tiny model
def test_video_gives_one_row_per_frame_and_a_matching_overlay(tmp_path, tiny_run):
    video = write_spot_video(tmp_path / "rally.mp4", line_positions(11), fps=25)
    out = tmp_path / "out"
    rc = _predict(video, "--checkpoint", tiny_run, "--out", out, "--overlay", "--batch-size", "4")
    assert rc == 0
    header, rows = read_rows(out / "rally_ball.csv")
    assert header == HEADER
    assert [int(r[0]) for r in rows] == list(range(11))
    for _, vis, x, y in rows:
        assert vis in ("0", "1")
        if vis == "0":
            assert (x, y) == ("0", "0")
        else:
            assert 0 <= float(x) <= FRAME_SIZE[0] and 0 <= float(y) <= FRAME_SIZE[1]
    with av.open(str(out / "rally_overlay.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    info = probe_video(out / "rally_overlay.mp4")
    assert info.frame_count == 11
    assert info.fps == pytest.approx(25.0)
    assert (info.width, info.height) == FRAME_SIZE
    assert _leftovers(out) == []


def test_entry_point_in_a_subprocess_with_progress_bar(tmp_path, tiny_run, tiny_data):
    """``python -m tracknet predict`` on an image folder: the CSV, and frames/s on stderr."""
    clip = tiny_data / "game1" / "Clip1"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "tracknet", "predict", str(clip), "--checkpoint", str(tiny_run)]
    proc = subprocess.run(
        [*cmd, "--out", str(tmp_path), "--device", "cpu"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "frame/s" in proc.stderr  # the progress bar's rate
    assert "8 frames" in proc.stdout
    header, rows = read_rows(tmp_path / "Clip1_ball.csv")
    assert header == HEADER and len(rows) == 8


def test_half_precision_and_batch_size_one_give_the_same_rows(tmp_path, tiny_run):
    video = write_spot_video(tmp_path / "v.mp4", line_positions(5))
    rc = _predict(video, "--checkpoint", tiny_run, "--out", tmp_path / "a", "--half")
    assert rc == 0
    rc = _predict(video, "--checkpoint", tiny_run, "--out", tmp_path / "b", "--batch-size", "1")
    assert rc == 0
    assert len(read_rows(tmp_path / "a" / "v_ball.csv")[1]) == 5
    assert len(read_rows(tmp_path / "b" / "v_ball.csv")[1]) == 5


def test_a_missing_device_is_a_clear_error(tmp_path, tiny_run, capsys):
    video = write_spot_video(tmp_path / "v.mp4", line_positions(3))
    rc = _predict(video, "--checkpoint", tiny_run, "--out", tmp_path, "--device", "cuda:7")
    assert rc == 2
    assert "cuda:7" in capsys.readouterr().err
    assert not (tmp_path / "v_ball.csv").exists()


# --------------------------------------------------------------------------- stub model
def test_image_folder_with_a_corrupt_jpeg(tmp_path, tiny_run, stub_model, caplog):
    folder = write_spot_images(tmp_path / "clip", line_positions(9))
    (folder / "0004.jpg").write_bytes(b"this is not a JPEG" * 10)
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        rc = _predict(folder, "--checkpoint", tiny_run, "--out", out, "--details", "--overlay")
    assert rc == 0
    header, rows = read_rows(out / "clip_ball.csv")
    assert header == HEADER
    assert [r[0] for r in rows] == [str(i) for i in range(9)]
    assert [r[1] for r in rows] == ["1"] * 4 + ["0"] + ["1"] * 4
    assert rows[4][2:] == ["0", "0"]
    for i, (_, _, x, y) in enumerate(rows):
        if i != 4:
            truth = line_positions(9)[i]
            assert abs(float(x) - truth[0]) < 3 and abs(float(y) - truth[1]) < 3
    details_header, details = read_rows(out / "clip_details.csv")
    assert details[4][details_header.index("Decoded")] == "0"
    warnings = [r for r in caplog.records if "could not be decoded" in r.getMessage()]
    assert len(warnings) == 1 and "1 of 9 frames" in warnings[0].getMessage()
    assert probe_video(out / "clip_overlay.mp4").frame_count == 9


def test_image_folder_in_natural_order(tmp_path, tiny_run, stub_model):
    """``2.png`` comes before ``10.png``, as in the label readers."""
    truth = line_positions(12, step=6.0)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, xy in enumerate(truth):
        Image.fromarray(spot_frame(xy)).save(folder / f"{i}.png")
    assert _predict(folder, "--checkpoint", tiny_run, "--out", tmp_path / "out") == 0
    _, rows = read_rows(tmp_path / "out" / "frames_ball.csv")
    assert [float(r[2]) for r in rows] == pytest.approx([x for x, _ in truth], abs=3)


def test_video_with_a_damaged_frame(tmp_path, tiny_run, stub_model, caplog):
    video = write_spot_video(tmp_path / "cam.mp4", line_positions(12), codec="mjpeg")
    damage_packet(video, 6)
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        rc = _predict(video, "--checkpoint", tiny_run, "--out", out, "--overlay")
    assert rc == 0
    _, rows = read_rows(out / "cam_ball.csv")
    assert len(rows) == 12
    assert [r[1] for r in rows] == ["1"] * 6 + ["0"] + ["1"] * 5
    warnings = [r for r in caplog.records if "could not be decoded" in r.getMessage()]
    assert len(warnings) == 1 and "1 of 12 frames" in warnings[0].getMessage()
    assert probe_video(out / "cam_overlay.mp4").frame_count == 12


def _gappy_positions() -> list:
    """A spot moving right; missing in frames 6-7, and far away (a jump) in frame 11."""
    positions: list = list(line_positions(16, step=3.0))
    positions[6] = positions[7] = None
    positions[11] = (88.0, 6.0)
    return positions


def test_gate_rejects_a_jump_and_smoothing_is_opt_in(tmp_path, tiny_run, stub_model):
    video = write_spot_video(tmp_path / "v.mp4", _gappy_positions())
    ck = ("--checkpoint", tiny_run)

    # the gate as a key=value override of the run's configuration, after the video
    assert _predict(video, "predict.gate_px=30", *ck, "--out", tmp_path / "plain", "--details") == 0
    _, rows = read_rows(tmp_path / "plain" / "v_ball.csv")
    vis = [r[1] for r in rows]
    assert vis[6] == vis[7] == "0"  # no detection: never filled without --smooth
    assert vis[11] == "0"  # the jump is beyond the gate
    assert vis[:6] == ["1"] * 6 and vis[8:11] == ["1"] * 3 and vis[12:] == ["1"] * 4
    header, details = read_rows(tmp_path / "plain" / "v_details.csv")
    col = {name: header.index(name) for name in header}
    assert all(r[col["Interpolated"]] == "0" for r in details)
    assert details[11][col["RawVisibility"]] == "1"  # the codec saw it, the gate dropped it
    assert float(details[11][col["RawX"]]) > 80
    assert details[3][col["Candidates"]].count(":") == 2  # one "x:y:score" candidate
    assert details[6][col["Candidates"]] == ""

    assert _predict(video, *ck, "--out", tmp_path / "raw", "--no-track") == 0
    _, raw = read_rows(tmp_path / "raw" / "v_ball.csv")
    assert raw[11][1] == "1" and float(raw[11][2]) > 80  # without the gate the jump is kept

    out = tmp_path / "smooth"
    assert _predict(video, *ck, "--out", out, "--gate-px", "30", "--smooth", "--details") == 0
    _, smooth = read_rows(out / "v_ball.csv")
    assert [r[1] for r in smooth] == ["1"] * 16  # gaps of 2 and 1 frames filled
    truth = line_positions(16, step=3.0)
    for i in (6, 7, 11):
        assert float(smooth[i][2]) == pytest.approx(truth[i][0], abs=3)
        assert float(smooth[i][3]) == pytest.approx(truth[i][1], abs=3)
    header, details = read_rows(out / "v_details.csv")
    interpolated = [i for i, r in enumerate(details) if r[header.index("Interpolated")] == "1"]
    assert interpolated == [6, 7, 11]

    out = tmp_path / "short"
    assert _predict(video, *ck, "--out", out, "--gate-px", "30", "--smooth", "--max-gap", "1") == 0
    vis = [r[1] for r in read_rows(out / "v_ball.csv")[1]]
    assert vis[6] == vis[7] == "0" and vis[11] == "1"  # only the 1-frame gap is short enough


def test_a_failure_leaves_no_half_written_csv(tmp_path, tiny_run, stub_model):
    video = write_spot_video(tmp_path / "v.mp4", line_positions(20))
    out = tmp_path / "out"
    out.mkdir()
    (out / "v_ball.csv").write_text("previous result\n")
    stub_model(fail_after=3)  # the model fails after two batches of the video
    with pytest.raises(RuntimeError, match="simulated failure"):
        _predict(video, "--checkpoint", tiny_run, "--out", out, "--overlay", "--batch-size", "4")
    assert (out / "v_ball.csv").read_text() == "previous result\n"
    assert sorted(p.name for p in out.iterdir()) == ["v_ball.csv"]  # no overlay, no temp file


def test_many_inputs_shared_out_across_ranks(tmp_path, tiny_run, stub_model, monkeypatch, capsys):
    """Inputs (a folder of videos counts as its videos) go to ranks balanced by size, largest
    first; image folders with the same name get their parent's name as a prefix. Without a
    rendezvous address each rank writes its own manifest.rank<R>.json."""
    write_spot_video(tmp_path / "videos" / "c.mp4", line_positions(5))
    write_spot_video(tmp_path / "videos" / "d.mp4", line_positions(6))
    inputs = [
        write_spot_images(tmp_path / "game1" / "Clip1", line_positions(3)),
        write_spot_images(tmp_path / "game2" / "Clip1", line_positions(4)),
        tmp_path / "videos",
    ]
    files = [
        str(inputs[0]),
        str(inputs[1]),
        str(tmp_path / "videos" / "c.mp4"),
        str(tmp_path / "videos" / "d.mp4"),
    ]
    names = ["game1_Clip1", "game2_Clip1", "c", "d"]
    sizes = [input_bytes(f) for f in files]
    expected = {r: set(shard_largest_first(names, sizes, r, 2)) for r in (0, 1)}
    assert expected[0] | expected[1] == set(names) and not expected[0] & expected[1]
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    for rank in (0, 1):
        out = tmp_path / f"rank{rank}"
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        assert _predict(*inputs, "--checkpoint", tiny_run, "--out", out) == 0
        assert {p.name for p in out.iterdir()} == {f"{n}_ball.csv" for n in expected[rank]} | {
            f"manifest.rank{rank}.json"
        }
        n = len(expected[rank])
        assert f"[rank {rank}/2] predicted {n} of 4 inputs" in capsys.readouterr().out
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    out = tmp_path / "all"
    assert _predict(*inputs, "--checkpoint", tiny_run, "--out", out) == 0
    assert len(list(out.glob("*_ball.csv"))) == 4 and (out / "manifest.json").is_file()
    assert len(read_rows(out / "game2_Clip1_ball.csv")[1]) == 4
    assert len(read_rows(out / "d_ball.csv")[1]) == 6


def test_a_bad_input_does_not_stop_the_others(tmp_path, tiny_run, stub_model, capsys):
    good = write_spot_video(tmp_path / "good.mp4", line_positions(4))
    missing = tmp_path / "missing.mp4"
    rc = _predict(missing, good, "--checkpoint", tiny_run, "--out", tmp_path / "out")
    assert rc == 2
    assert "missing.mp4" in capsys.readouterr().err
    assert len(read_rows(tmp_path / "out" / "good_ball.csv")[1]) == 4


def test_an_unknown_attention_kernel_is_refused(tmp_path, tiny_run, capsys):
    video = write_spot_video(tmp_path / "v.mp4", line_positions(3))
    rc = _predict(video, "predict.attention=flash", "--checkpoint", tiny_run, "--out", tmp_path)
    assert rc == 2
    assert "predict.attention" in capsys.readouterr().err
