"""``tracknet bench label``: how long a frame of ``tracknet label`` takes to reach the page.

The real server (the ASGI app under uvicorn, on 127.0.0.1) serves SOURCE; a client on one
keep-alive connection, as a browser tab, asks for frames and times each from request to last
byte. A video's frames arrive in one of two ways (:mod:`tracknet.label.frames`), measured in two
phases, each with a server of its own:

* before the background pass has reached a frame, the server decodes it on request: measured
  with the pass off, so that every frame asked for is one it has not reached (what the first
  seconds after start-up, and a long video's far frames, cost):

  - ``first``: the first frame (opening the video);
  - ``step``: frame after frame, each asked for as soon as the previous one arrived (a held
    arrow key: the prefetch thread has the least time to get ahead);
  - ``play``: frame after frame at the video's frame rate (playback);
  - ``seek``: random frames with a pause between them (clicks on the timeline): decoded from
    the nearest keyframe before the frame;

* after the pass: a fresh server, its first frame asked for (which starts the pass), the pass
  waited for (its duration, disk use and memory are recorded), then ``step`` and ``seek`` again:
  every frame a file read.

Medians and 90th percentiles in milliseconds, and the memory of the measuring process (which is
the server's). Targets (issue 15): a step at most 50 ms, a seek at most 150 ms (medians) on
1920x1080 H.264. Without SOURCE a synthetic 1920x1080 clip is written to a temporary folder
(``tracknet synth``'s H.264, a keyframe every second, or every ``synth_gop`` frames); a seek
before the pass grows with the keyframe interval of the video.
"""

from __future__ import annotations

import http.client
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from tracknet.bench.timing import machine_info, peak_rss_mb, print_table, rss_mb, write_json
from tracknet.data.synth import synthesize
from tracknet.io.video.reader import VideoReader
from tracknet.io.video.writer import VideoWriter
from tracknet.label.app import create_app
from tracknet.label.server import bind, open_session

STEP_TARGET_MS = 50.0
SEEK_TARGET_MS = 150.0


def synthetic_video(
    folder: Path, frames: int = 300, size: tuple[int, int] = (1920, 1080), gop: int | None = None
) -> Path:
    """A synthetic H.264 clip of ``frames`` frames at ``size`` (what ``tracknet synth`` writes).

    ``gop``: re-encode with a keyframe every ``gop`` frames (250: x264's default); None keeps
    ``tracknet synth``'s one a second.
    """
    (video,) = synthesize(folder, "generic", clips=1, frames=frames, size=size, seed=0, workers=1)
    video = Path(video)
    if gop is None:
        return video
    out = video.with_name(f"{video.stem}_gop{gop}.mp4")
    with VideoReader(video) as reader:
        info = reader.info
        with VideoWriter(out, info.fps, (info.width, info.height), gop=gop) as writer:
            for _, frame in reader:
                writer.write(frame)
    return out


class _Client:
    """One keep-alive HTTP connection, like a browser tab's."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def frame_ms(self, index: int) -> float:
        start = time.perf_counter()
        self.conn.request("GET", f"/api/frames/{index}.jpg")
        response = self.conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200 or not body:
            raise RuntimeError(f"frame {index}: HTTP {response.status} {body[:200]!r}")
        return elapsed

    def close(self) -> None:
        self.conn.close()


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {
        "median": round(statistics.median(ordered), 1),
        "p90": round(p90, 1),
        "max": round(ordered[-1], 1),
        "n": len(ordered),
    }


def _serve(session) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(
        create_app(session), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the label server did not start")
        time.sleep(0.01)
    return server, thread, sock.getsockname()[1]


def _process_peak_mb(pid: int | None) -> float | None:
    """Peak RSS of another process (Linux), while it runs."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


class _Run:
    """One session served on 127.0.0.1, a client, and what was timed."""

    def __init__(self, source: str | Path, labels: Path, disk_cache: bool, seed: int) -> None:
        self.session = open_session(source, labels=labels, disk_cache=disk_cache)
        self.frames = self.session.frames
        self.n = self.session.source.frame_count
        self.fps = self.session.source.fps
        self.rng = random.Random(seed)
        self.pass_peak_mb: float | None = None
        try:
            self.server, self.thread, self.port = _serve(self.session)
        except BaseException:
            self.session.close()
            raise
        self.client = _Client(self.port)

    def reconnect(self) -> None:
        """A new connection (an idle one outlives the server's keep-alive)."""
        self.client.close()
        self.client = _Client(self.port)

    def steps(self, start: int, count: int) -> list[float]:
        return [self.client.frame_ms(i) for i in range(start, min(self.n, start + count))]

    def play(self, start: int, count: int) -> list[float]:
        out = []
        for i in range(start, min(self.n, start + count)):
            ms = self.client.frame_ms(i)
            out.append(ms)
            time.sleep(max(0.0, 1 / self.fps - ms / 1000))
        return out

    def seeks(self, count: int, pause: float) -> list[float]:
        out = []
        for _ in range(count):
            time.sleep(pause)  # the user looks at the frame; the prefetch settles
            out.append(self.client.frame_ms(self.rng.randrange(self.n)))
        return out

    def wait_for_pass(self, timeout: float) -> dict[str, Any]:
        """Wait for the background pass to go through the video; what it did."""
        disk = self.frames.disk
        if disk is None:
            return {"ran": False}
        start = time.monotonic()
        while not disk.wait(timeout=0.2) and not disk.stopped:
            peak = _process_peak_mb(disk.pass_pid())
            if peak is not None:
                self.pass_peak_mb = max(peak, self.pass_peak_mb or 0.0)
            if time.monotonic() - start > timeout:
                break
        return {
            "ran": True,
            "done": disk.done,
            "stopped": disk.stopped,
            "seconds": round(time.monotonic() - start, 1),
            "frames": disk.position,
            "disk_mb": round(sum(p.stat().st_size for p in disk.folder.glob("*.jpg")) / 2**20),
            "peak_rss_mb": self.pass_peak_mb,
        }

    def close(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.session.close()


def measure(
    source: str | Path,
    steps: int = 120,
    seeks: int = 30,
    seed: int = 0,
    pause: float = 0.3,
    pass_timeout: float = 900.0,
    disk_cache: bool = True,
) -> dict[str, Any]:
    """Serve ``source`` and time frames (see the module docstring); returns the result.

    ``disk_cache`` False: the first phase only.
    """
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    passed: dict[str, Any] = {"ran": False}
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-label-") as tmp:
        # the labels (and journal) go to a temporary file: nothing is written beside SOURCE
        labels = Path(tmp) / "bench_ball.csv"
        rss_before = rss_mb()
        run = _Run(source, labels, disk_cache=False, seed=seed)
        source_info = run.session.source
        n = run.n
        count = min(steps, n - 1)
        try:
            first = run.client.frame_ms(0)
            before["step_ms"] = _summary(run.steps(1, count))
            before["play_ms"] = _summary(run.play(n // 2 if n > 2 * count else 0, count))
            before["seek_ms"] = _summary(run.seeks(seeks, pause))
        finally:
            run.close()
        if disk_cache and source_info.video is not None:
            run = _Run(source, labels, disk_cache=True, seed=seed + 1)
            try:
                run.client.frame_ms(0)  # start-up: the pass starts once a frame is out
                passed = run.wait_for_pass(pass_timeout)
                if passed["done"]:
                    run.reconnect()
                    after["step_ms"] = _summary(run.steps(1, count))
                    after["seek_ms"] = _summary(run.seeks(seeks, pause))
            finally:
                run.close()
        size = source_info.frame_size
        return {
            "benchmark": "label",
            "source": str(source),
            "video": source_info.video is not None,
            "size": f"{size[0]}x{size[1]}",
            "frames": n,
            "fps": source_info.fps,
            "first_ms": round(first, 1),
            "before_pass": before,
            "background_pass": passed,
            "after_pass": after,
            "rss_mb": {"before": rss_before, "after": rss_mb(), "peak": peak_rss_mb()},
            "targets_ms": {"step": STEP_TARGET_MS, "seek": SEEK_TARGET_MS},
            "machine": machine_info(),
        }


def _mib(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def _row(name: str, summary: dict[str, float] | None, target: float | None = None):
    if summary is None:
        return name, "not measured"
    verdict = "" if target is None else ("  ok" if summary["median"] <= target else "  SLOW")
    goal = "" if target is None else f" (target {target:g})"
    text = f"median {summary['median']} ms, p90 {summary['p90']} ms, n {summary['n']}"
    return name, text + goal + verdict


def run_label_benchmark(
    source: str | Path | None = None,
    steps: int = 120,
    seeks: int = 30,
    synth_frames: int = 300,
    synth_gop: int | None = None,
    pass_timeout: float = 900.0,
    disk_cache: bool = True,
    json_path: str | Path | None = None,
) -> dict[str, Any]:
    """``tracknet bench label [SOURCE]``: measure, print a table, optionally write JSON.

    Args:
        source: a video or image folder; None: a synthetic 1920x1080 H.264 clip.
        steps: frames timed when stepping and when playing.
        seeks: random seeks timed (in each phase).
        synth_frames: length of the synthetic clip.
        synth_gop: keyframe interval of the synthetic clip (None: one keyframe a second).
        pass_timeout: seconds to wait for the background pass before giving up on the second
            phase.
        disk_cache: False: without the background pass (what every seek costs without it).
        json_path: also write the result here.
    """
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-label-video-") as tmp:
        if source is None:
            every = f"every {synth_gop} frames" if synth_gop else "every second"
            print(
                f"writing a synthetic 1920x1080 clip of {synth_frames} frames, a keyframe {every}"
            )
            source = synthetic_video(Path(tmp), synth_frames, gop=synth_gop)
        result = measure(
            source, steps=steps, seeks=seeks, pass_timeout=pass_timeout, disk_cache=disk_cache
        )

    before, after, passed = result["before_pass"], result["after_pass"], result["background_pass"]
    rss = {k: _mib(v) for k, v in result["rss_mb"].items()}
    rows = [("first frame", f"{result['first_ms']} ms")]
    phase = "before the pass: " if passed["ran"] else ""
    rows += [
        _row(f"{phase}step (back to back)", before.get("step_ms"), STEP_TARGET_MS),
        _row(f"{phase}play (at the frame rate)", before.get("play_ms")),
        _row(f"{phase}random seek", before.get("seek_ms"), SEEK_TARGET_MS),
    ]
    if passed["ran"]:
        state = "done" if passed["done"] else passed["stopped"] or "not done in time"
        rows.append(
            (
                "background pass",
                f"{state}: {passed['frames']} frames in {passed['seconds']} s after the first, "
                f"{passed['disk_mb']} MiB on disk, peak RSS {_mib(passed['peak_rss_mb'])} MiB",
            )
        )
        rows += [
            _row("after the pass: step", after.get("step_ms"), STEP_TARGET_MS),
            _row("after the pass: random seek", after.get("seek_ms"), SEEK_TARGET_MS),
        ]
    rows.append(
        ("server memory (RSS)", f"{rss['before']} -> {rss['after']} MiB, peak {rss['peak']}")
    )
    print_table(f"tracknet label: frame arrival, {result['size']}, {result['frames']} frames", rows)
    write_json(json_path, result)
    return result
