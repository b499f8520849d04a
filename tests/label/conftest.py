"""Fixtures of the ``tracknet label`` tests: small synthetic clips in every layout, a tiny run."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import tiny_temporal_overrides, tracknet_popen
from tracknet.config import load_config, save_config
from tracknet.data.synth import synthesize
from tracknet.models import build_model
from tracknet.models.serialization import save_model

CLIP_SIZE = (320, 180)  # (W, H) of the synthetic clips
CLIP_FRAMES = 20


@pytest.fixture(autouse=True)
def frame_cache_home(tmp_path, monkeypatch) -> Path:
    """The background pass's frame folders go under the test's own folder, not ~/.cache."""
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "tracknet" / "label-frames"


@pytest.fixture(scope="session")
def datasets(tmp_path_factory) -> dict[str, Path]:
    """One small synthetic dataset per layout (written once; tests copy what they change)."""
    root = tmp_path_factory.mktemp("label-data")
    out = {}
    for fmt in ("tennis", "shuttlecock", "generic"):
        out[fmt] = root / fmt
        synthesize(out[fmt], fmt, clips=1, frames=CLIP_FRAMES, size=CLIP_SIZE, seed=7, workers=1)
    return out


@pytest.fixture
def data(datasets, tmp_path) -> dict[str, Path]:
    """A private copy of :func:`datasets` (tests write label files into it)."""
    out = {}
    for fmt, src in datasets.items():
        out[fmt] = tmp_path / fmt
        shutil.copytree(src, out[fmt])
    return out


@pytest.fixture
def video(data) -> Path:
    """A generic-layout H.264 clip whose labels file is removed (labelling starts from zero)."""
    clip = data["generic"] / "clip_0000.mp4"
    (data["generic"] / "clip_0000_ball.csv").unlink()
    return clip


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_dinov3) -> Path:
    """A run folder with an untrained tiny temporal model whose heatmaps have blobs."""
    cfg = load_config(
        overrides=tiny_temporal_overrides(tiny_dinov3, "predict.device=cpu", "predict.batch_size=4")
    )
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():  # untrained heads say "no ball" everywhere; make them say something
        model.head.out.weight.mul_(20.0)
        model.head.out.bias.fill_(0.0)
    run = tmp_path_factory.mktemp("label-run")
    save_model(model, run)
    save_config(cfg, run)
    return run


# --------------------------------------------------------------------------- a real server
class Server:
    """``tracknet label ARGS`` in a child process; :attr:`url` is the URL it printed."""

    def __init__(self, *args: str, timeout: float = 60.0) -> None:
        # the test session's private, offline Hugging Face cache; Ctrl-C reaches the child
        self.proc = tracknet_popen("label", *args, env=dict(os.environ))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        self.url = ""
        while not self.url:
            found = [re.search(r"open (http://\S+)", line) for line in self.lines]
            self.url = next((m.group(1) for m in found if m), "")
            if not self.url and (self.proc.poll() is not None or time.monotonic() > deadline):
                self.kill()
                raise AssertionError("tracknet label did not start:\n" + self.output)
            time.sleep(0.02)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        """SIGKILL: no clean-up runs (a crash, a power cut)."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc.poll() is None:
            self.kill()


class LiveApp:
    """The app of one :class:`~tracknet.label.app.LabelSession` served by uvicorn in a thread of
    the test, at ``127.0.0.1:port``: the test holds the session (its model's suggestions, say)
    in its hands. :meth:`stop` ends the server and closes the session (its lock goes)."""

    def __init__(self, session, port: int = 0, timeout: float = 20.0) -> None:
        import uvicorn

        from tracknet.label.app import create_app
        from tracknet.label.server import LOOPBACK_NAMES, bind

        self.session = session
        self.sock = bind("127.0.0.1", port)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        app = create_app(session, allowed_hosts=LOOPBACK_NAMES)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the label app did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.sock.fileno() == -1:
            return  # stopped already
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()
        self.session.close()

    def __enter__(self) -> LiveApp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
