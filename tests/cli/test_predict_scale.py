"""``tracknet predict`` on live sources and on many videos across processes.

Live: a clip served over HTTP on 127.0.0.1 (no network) or piped to standard input (``-``):
rows, frame numbers, drops, a lost stream coming back, Ctrl-C and the end of the stream closing
the files cleanly. Many inputs: the split (largest first, every process agreeing), glob
patterns, ``--skip-done``, a failed video recorded in the manifest while the others go on. Many
processes: 2 ``gloo`` processes under ``torchrun`` on 5 small videos: every video done exactly
once, the same CSVs as one process, a rerun with ``--skip-done`` doing nothing, a killed run
resuming.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import tracknet_popen
from tests.infer.conftest import line_positions, read_rows, stub_loader, write_spot_video
from tests.live_server import ClipServer, write_ts_clip
from tracknet.cli import main
from tracknet.predict.inputs import (
    expand_inputs,
    input_bytes,
    is_done,
    output_paths,
    shard_largest_first,
)

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
N = 24


def _predict(*args) -> int:
    return main(["predict", *map(str, args), "--no-progress"])


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_ts_clip(tmp_path_factory.mktemp("clip") / "clip.ts", line_positions(N))


def _slow_stub(monkeypatch, seconds: float) -> None:
    """``tracknet predict`` loads the bright-spot stub, each decode taking ``seconds``."""
    load = stub_loader()

    def load_run(path, overrides=(), device_map=None):
        model, cfg = load(path, overrides)
        real = model.decode_window

        def slow(*args, **kwargs):
            time.sleep(seconds)
            return real(*args, **kwargs)

        model.decode_window = slow
        return model, cfg

    monkeypatch.setattr("tracknet.predict.command.load_run", load_run)


# --------------------------------------------------------------------------- live
def test_a_live_stream_without_drops_gives_the_rows_of_the_file(
    tmp_path, tiny_run, stub_model, clip, capsys
):
    assert _predict(clip, "--checkpoint", tiny_run, "--out", tmp_path / "file") == 0
    with ClipServer(clip.read_bytes()) as server:
        live = (server.url, "predict.live.drop=none", "predict.live.reconnect=0")
        assert _predict(*live, "--checkpoint", tiny_run, "--out", tmp_path / "live") == 0
    out = capsys.readouterr().out
    assert f"stream ended: {N} frames, 0 dropped" in out
    live_rows = read_rows(tmp_path / "live" / "clip_ball.csv")
    assert live_rows == read_rows(tmp_path / "file" / "clip_ball.csv")
    assert [int(r[0]) for r in live_rows[1]] == list(range(N))


def test_frames_arriving_while_the_model_is_busy_are_dropped_and_counted(
    tmp_path, tiny_run, monkeypatch, clip, capsys
):
    _slow_stub(monkeypatch, 0.03)
    with ClipServer(clip.read_bytes(), plan=[0.5, "all"]) as server:
        args = (server.url, "predict.live.reconnect=1", "predict.live.reconnect_delay=0.05")
        assert _predict(*args, "--checkpoint", tiny_run, "--out", tmp_path, "--details") == 0
    out = capsys.readouterr().out
    header, rows = read_rows(tmp_path / "clip_details.csv")
    col = {name: header.index(name) for name in header}
    assert N < len(rows) < 2 * N  # half the clip, cut, then all of it again
    assert [int(r[0]) for r in rows] == list(range(len(rows)))
    dropped = [r for r in rows if r[col["Dropped"]] == "1"]
    assert dropped and f"{len(rows)} frames, {len(dropped)} dropped" in out
    assert "2 reconnection(s)" in out  # the cut, the end of the second pass
    assert all(r[col["Visibility"]] == "0" and r[col["LatencyMs"]] == "" for r in dropped)
    kept = [r for r in rows if r[col["Dropped"]] == "0"]
    assert all(float(r[col["LatencyMs"]]) >= 0 for r in kept)
    assert sum(r[col["Visibility"]] == "1" for r in kept) > len(kept) // 2
    _, ball = read_rows(tmp_path / "clip_ball.csv")
    assert [r[:2] for r in ball] == [r[:2] for r in rows]


def _feed(pipe, data: bytes, feeding: threading.Event) -> None:
    """Write ``data`` to ``pipe`` over and over while ``feeding`` is set."""
    with contextlib.suppress(BrokenPipeError, ValueError, OSError):
        while feeding.is_set():
            pipe.write(data)
            pipe.flush()
            time.sleep(0.2)


def _wait_for_rows(csv_path: Path, rows: int, child: subprocess.Popen, timeout: float = 120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if csv_path.exists() and len(csv_path.read_text().splitlines()) > rows:
            return
        assert child.poll() is None, child.communicate()[0]
        time.sleep(0.2)
    raise AssertionError(f"{csv_path}: fewer than {rows} rows after {timeout} s")


@pytest.mark.parametrize("stop", ["ctrl-c", "end of stream"])
def test_standard_input_stops_cleanly(tmp_path, tiny_run, clip, stop):
    child = tracknet_popen(
        *("predict", "-", "--checkpoint", str(tiny_run), "--out", str(tmp_path)),
        *("--details", "--no-progress"),
        env=ENV,
        cwd=REPO,
        stdin=subprocess.PIPE,
    )
    pipe = child.stdin.buffer  # MPEG-TS bytes (the pipe is in text mode)
    if stop == "ctrl-c":  # an endless stream: the clip again and again, until Ctrl-C
        feeding = threading.Event()
        feeding.set()
        feeder = threading.Thread(target=_feed, args=(pipe, clip.read_bytes(), feeding))
        feeder.start()
        try:
            _wait_for_rows(tmp_path / "stdin_ball.csv", 2 * N, child)
            child.send_signal(signal.SIGINT)
            out = child.stdout.read()
        finally:
            feeding.clear()
            feeder.join()
        child.wait(timeout=60)
    else:
        pipe.write(clip.read_bytes())
        out, _ = child.communicate(timeout=120)
    assert child.returncode == 0, out
    assert ("stopped (Ctrl-C)" if stop == "ctrl-c" else "stream ended") in out
    text = (tmp_path / "stdin_ball.csv").read_text()
    assert text.endswith("\n")
    header, rows = read_rows(tmp_path / "stdin_ball.csv")
    assert header == ["Frame", "Visibility", "X", "Y"] and all(len(r) == 4 for r in rows)
    assert [int(r[0]) for r in rows] == list(range(len(rows)))
    assert len(read_rows(tmp_path / "stdin_details.csv")[1]) == len(rows)
    if stop == "end of stream":
        assert len(rows) == N and f"{N} frames" in out


# --------------------------------------------------------------------------- many inputs
def test_shares_are_balanced_largest_first_and_every_process_agrees():
    items, sizes = list("abcdefg"), [5, 100, 7, 60, 40, 1, 0]
    shares = [shard_largest_first(items, sizes, rank, 3) for rank in range(3)]
    assert sorted(sum(shares, [])) == items  # each item exactly once
    assert [s[0] for s in shares] == ["b", "d", "e"]  # the largest first, one per process
    loads = [sum(sizes[items.index(i)] for i in s) for s in shares]
    assert max(loads) == 100 and min(loads) >= 40
    assert shard_largest_first(items, sizes, 0, 1) == ["b", "d", "e", "c", "a", "f", "g"]


def test_patterns_outputs_and_done(tmp_path):
    for name in ("b.mp4", "a.mp4", "sub/c.mp4", "x.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"0")
    assert expand_inputs([f"{tmp_path}/*.mp4"]) == [
        str(tmp_path / "a.mp4"),
        str(tmp_path / "b.mp4"),
    ]
    assert len(expand_inputs([f"{tmp_path}/**/*.mp4"])) == 3
    assert expand_inputs([f"{tmp_path}/none*.mp4"]) == [f"{tmp_path}/none*.mp4"]
    paths = output_paths(tmp_path, "a", overlay=True, details=True, extra=["a_events.csv"])
    assert [p.name for p in paths] == [
        "a_ball.csv",
        "a_details.csv",
        "a_overlay.mp4",
        "a_events.csv",
    ]
    assert not is_done(paths)
    for path in paths:
        path.write_text("")
    assert is_done(paths) and input_bytes(str(tmp_path / "a.mp4")) == 1


def test_a_failed_video_is_recorded_and_the_others_go_on(tmp_path, tiny_run, stub_model, capsys):
    good = write_spot_video(tmp_path / "good.mp4", line_positions(6))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    out = tmp_path / "out"
    assert _predict(bad, good, "--checkpoint", tiny_run, "--out", out, "--details") == 2
    assert "bad.mp4" in capsys.readouterr().err
    records = {r["name"]: r for r in json.loads((out / "manifest.json").read_text())["videos"]}
    assert records["bad"]["status"] == "failed" and "bad.mp4" in records["bad"]["error"]
    assert records["good"]["status"] == "done" and records["good"]["rows"] == 6
    assert records["good"]["outputs"] == ["good_ball.csv", "good_details.csv"]
    (out / "good_details.csv").unlink()  # an output missing: not done
    assert (
        _predict(bad, good, "--checkpoint", tiny_run, "--out", out, "--details", "--skip-done") == 2
    )
    records = {r["name"]: r for r in json.loads((out / "manifest.json").read_text())["videos"]}
    assert records["good"]["status"] == "done" and (out / "good_details.csv").is_file()
    assert _predict(bad, good, "--checkpoint", tiny_run, "--out", out, "--skip-done") == 2
    records = {r["name"]: r for r in json.loads((out / "manifest.json").read_text())["videos"]}
    assert records["good"]["status"] == "skipped" and records["good"]["frames"] == 6


# --------------------------------------------------------------------------- many processes
LENGTHS = (40, 12, 32, 20, 26)  # 5 videos of different sizes


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("season")
    return [
        write_spot_video(folder / f"m{i}.mp4", line_positions(n)) for i, n in enumerate(LENGTHS)
    ]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, videos, tiny_run) -> Path:
    """The CSVs of one process, one torch thread (as each launched process has)."""
    out = tmp_path_factory.mktemp("one")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert _predict(*videos, "--checkpoint", tiny_run, "--out", out, "--batch-size", "2") == 0
    finally:
        torch.set_num_threads(threads)
    return out


def _torchrun(videos, run, out, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
        + ["-m", "tracknet", "predict", *map(str, videos), "--checkpoint", str(run)]
        + ["--out", str(out), "--no-progress", "--batch-size", "2"]
        + list(extra),
        env=ENV,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        todo += children
    return found


def _csvs(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("*_ball.csv"))}


def test_two_processes_do_each_video_once_and_a_rerun_does_nothing(
    tmp_path, videos, tiny_run, one_process
):
    child = _torchrun(videos, tiny_run, tmp_path)
    out, _ = child.communicate(timeout=600)
    assert child.returncode == 0, out
    assert _csvs(tmp_path) == _csvs(one_process)  # the same CSVs as one process
    for video in videos:  # each video predicted once, by one of the two ranks
        assert sum(f"{video}: " in line for line in out.splitlines()) == 1, out
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    records = manifest["videos"]
    assert sorted(r["name"] for r in records) == [f"m{i}" for i in range(5)]
    assert {r["status"] for r in records} == {"done"} and {r["rank"] for r in records} == {0, 1}
    assert {r["name"]: r["frames"] for r in records} == {f"m{i}": n for i, n in enumerate(LENGTHS)}
    assert all(r["rows"] == r["frames"] and r["fps"] > 0 for r in records)
    assert manifest["processes"] == 2 and manifest["done"] == 5
    # the largest video goes first, to the first rank
    assert next(r for r in records if r["name"] == "m0")["rank"] == 0

    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*_ball.csv")}
    code = _predict(*videos, "--checkpoint", tiny_run, "--out", tmp_path, "--skip-done")
    assert code == 0
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*_ball.csv")} == before
    rerun = json.loads((tmp_path / "manifest.json").read_text())["videos"]
    assert {r["status"] for r in rerun} == {"skipped"}
    assert {r["name"]: r["frames"] for r in rerun} == {r["name"]: r["frames"] for r in records}


def test_a_killed_run_resumes(tmp_path, videos, tiny_run, one_process):
    child = _torchrun(videos, tiny_run, tmp_path)
    try:
        end = time.monotonic() + 300
        while not list(tmp_path.glob("*_ball.csv")):
            assert child.poll() is None and time.monotonic() < end, child.communicate()[0]
            time.sleep(0.05)
    finally:  # the launcher and its workers (each in a session of its own)
        for pid in [child.pid, *_descendants(child.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        child.communicate()
    first = set(_csvs(tmp_path))
    assert 1 <= len(first) < 5, first
    assert not (tmp_path / "manifest.json").exists()
    child = _torchrun(videos, tiny_run, tmp_path, "--skip-done")
    out, _ = child.communicate(timeout=600)
    assert child.returncode == 0, out
    assert _csvs(tmp_path) == _csvs(one_process)
    records = json.loads((tmp_path / "manifest.json").read_text())["videos"]
    status = {f"{r['name']}_ball.csv": r["status"] for r in records}
    assert {n for n, s in status.items() if s == "skipped"} == first
    assert {n for n, s in status.items() if s == "done"} == set(_csvs(one_process)) - first
