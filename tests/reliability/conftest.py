"""Fixtures of the reliability suite: a tiny dataset, a tiny trained run, small videos."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.train.conftest import tiny_data, tiny_overrides  # noqa: F401  (fixture re-export)

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run_cli(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """``python -m tracknet ARGS`` in a fresh process (exit code, stdout and stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "tracknet", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,
    )


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """``tracknet ARGS`` in this process: ``(exit code, stdout, stderr)``."""
    from tracknet.cli import main

    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def error_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that the CLI's error handler printed."""
    # a progress bar ends its lines with \r only: the error starts after it
    return [line for line in re.split(r"[\r\n]", stderr) if line.startswith("tracknet ")]


def assert_one_clear_line(code: int, stderr: str, *needles: str) -> str:
    """Exit status 2, no traceback, exactly one ``tracknet CMD: error: ...`` line naming
    ``needles``; returns that line."""
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    line = lines[0]
    assert ": error: " in line and "\n" not in line
    for needle in needles:
        assert needle.lower() in line.lower(), f"{needle!r} not in {line!r}"
    return line


@pytest.fixture(scope="session")
def trained_run(tiny_data, tiny_dinov3, tmp_path_factory) -> Path:  # noqa: F811
    """A finished 2-step run folder (config.yaml, weights, best/, last/)."""
    from tracknet.config import load_config
    from tracknet.train.trainer import Trainer

    run = tmp_path_factory.mktemp("trained") / "run"
    extra = ("train.max_steps=2", "train.save_every=2", "train.eval_every=2")
    cfg = load_config(overrides=tiny_overrides(tiny_data, tiny_dinov3, run, *extra))
    return Trainer(cfg).fit()


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    """A private copy of :func:`trained_run` that a test may damage."""
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


def write_video(path: Path, frames: int = 24, size=(96, 64), gop: int = 4) -> Path:
    """A small H.264 MP4 of a moving bright square (short GOP: damage stays local)."""
    from tracknet.io.video.writer import VideoWriter

    w, h = size
    with VideoWriter(path, fps=25, size=size, gop=gop) as writer:
        for i in range(frames):
            image = np.full((h, w, 3), 40, np.uint8)
            x = 4 + (i * 3) % (w - 12)
            image[20:28, x : x + 8] = 250
            writer.write(image)
    return path


@pytest.fixture(scope="session")
def clean_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "rally.mp4")
