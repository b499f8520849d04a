"""``tracknet bench label``: how long a frame of ``tracknet label`` takes to reach the page.

The real server (the ASGI app under uvicorn, on 127.0.0.1) serves SOURCE; a client on one
keep-alive connection, as a browser tab, asks for frames and times each from request to last
byte:

* ``first``: the first frame (opening the video);
* ``step``: frame after frame, each asked for as soon as the previous one arrived (a held
  arrow key: the prefetch thread has the least time to get ahead);
* ``play``: frame after frame at the video's frame rate (playback, a key pressed now and then);
* ``seek``: random frames with a pause between them (clicks on the timeline).

Medians and 90th percentiles in milliseconds, and the process's memory. Targets (issue 15): a
step at most 50 ms, a seek at most 150 ms (medians) on 1920x1080 H.264. Without SOURCE a
synthetic 1920x1080 clip is written to a temporary folder (``tracknet synth``'s H.264: a
keyframe every second); the random-seek time grows with the keyframe interval of the video.
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
from tracknet.label.app import create_app
from tracknet.label.server import bind, open_session

STEP_TARGET_MS = 50.0
SEEK_TARGET_MS = 150.0


def synthetic_video(folder: Path, frames: int = 300, size: tuple[int, int] = (1920, 1080)) -> Path:
    """A synthetic H.264 clip of ``frames`` frames at ``size`` (what ``tracknet synth`` writes)."""
    (video,) = synthesize(folder, "generic", clips=1, frames=frames, size=size, seed=0, workers=1)
    return Path(video)


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


def _summary(values: list[float]) -> dict[str, float]:
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


def measure(
    source: str | Path, steps: int = 120, seeks: int = 30, seed: int = 0, pause: float = 0.3
) -> dict[str, Any]:
    """Serve ``source`` and time frames (see the module docstring); returns the result."""
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-label-") as tmp:
        # the labels (and journal) go to a temporary file: nothing is written beside SOURCE
        session = open_session(source, labels=Path(tmp) / "bench_ball.csv")
        n, fps = session.source.frame_count, session.source.fps
        rss_before = rss_mb()
        server, thread, port = _serve(session)
        client = _Client(port)
        try:
            first = client.frame_ms(0)
            count = min(steps, n - 1)
            step = [client.frame_ms(i) for i in range(1, 1 + count)]
            play = []
            start = n // 2 if n > 2 * count else 0
            for i in range(start, min(n, start + count)):
                ms = client.frame_ms(i)
                play.append(ms)
                time.sleep(max(0.0, 1 / fps - ms / 1000))
            rng = random.Random(seed)
            seek = []
            for _ in range(seeks):
                time.sleep(pause)  # the user looks at the frame; the prefetch settles
                seek.append(client.frame_ms(rng.randrange(n)))
        finally:
            client.close()
            server.should_exit = True
            thread.join(timeout=10)
            session.close()
        size = session.source.frame_size
        return {
            "benchmark": "label",
            "source": str(source),
            "video": session.source.video is not None,
            "size": f"{size[0]}x{size[1]}",
            "frames": n,
            "fps": fps,
            "first_ms": round(first, 1),
            "step_ms": _summary(step),
            "play_ms": _summary(play),
            "seek_ms": _summary(seek),
            "rss_mb": {"before": rss_before, "after": rss_mb(), "peak": peak_rss_mb()},
            "targets_ms": {"step": STEP_TARGET_MS, "seek": SEEK_TARGET_MS},
            "machine": machine_info(),
        }


def run_label_benchmark(
    source: str | Path | None = None,
    steps: int = 120,
    seeks: int = 30,
    synth_frames: int = 300,
    json_path: str | Path | None = None,
) -> dict[str, Any]:
    """``tracknet bench label [SOURCE]``: measure, print a table, optionally write JSON.

    Args:
        source: a video or image folder; None: a synthetic 1920x1080 H.264 clip.
        steps: frames timed when stepping and when playing.
        seeks: random seeks timed.
        synth_frames: length of the synthetic clip.
        json_path: also write the result here.
    """
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-label-video-") as tmp:
        if source is None:
            print(f"writing a synthetic 1920x1080 clip of {synth_frames} frames ...")
            source = synthetic_video(Path(tmp), synth_frames)
        result = measure(source, steps=steps, seeks=seeks)

    def row(name: str, key: str, target: float | None = None) -> tuple[str, str]:
        s = result[key]
        verdict = "" if target is None else ("  ok" if s["median"] <= target else "  SLOW")
        goal = "" if target is None else f" (target {target:g})"
        return name, f"median {s['median']} ms, p90 {s['p90']} ms{goal}{verdict}"

    rss = {k: (f"{v:.0f}" if v is not None else "?") for k, v in result["rss_mb"].items()}
    print_table(
        f"tracknet label: frame arrival, {result['size']}, {result['frames']} frames",
        [
            ("first frame", f"{result['first_ms']} ms"),
            row("step (back to back)", "step_ms", STEP_TARGET_MS),
            row("play (at the frame rate)", "play_ms"),
            row("random seek", "seek_ms", SEEK_TARGET_MS),
            ("memory (RSS)", f"{rss['before']} -> {rss['after']} MiB, peak {rss['peak']}"),
        ],
    )
    write_json(json_path, result)
    return result
