"""The Python API: :class:`Tracker`, a trained run ready to find the ball (``from tracknet import
Tracker``).

::

    tracker = Tracker.from_pretrained("runs/demo/run", device="auto")
    track = tracker.track("match.mp4")            # a Track: len, [i], .xy, .to_csv, .to_pandas
    for point in tracker.stream("rtsp://camera/live"):  # one StreamPoint per frame, as it comes
        ...
    track = tracker.predict(frames)               # frames already in memory (numpy or torch)

``tracknet predict`` is a thin layer over the same calls (:mod:`tracknet.predict.command`). The parts
are those of the command: the predictor (:mod:`tracknet.infer.predictor`), the tracker
(:mod:`tracknet.track.tracker`), the file pipeline (:mod:`tracknet.predict.pipeline`) and the
stream pipeline (:mod:`tracknet.predict.stream`, :mod:`tracknet.io.live`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tracknet.config import Config
from tracknet.data.background import background_indices
from tracknet.errors import UserError
from tracknet.infer.export import onnx_for_run
from tracknet.infer.loading import load_run
from tracknet.infer.onnx_backend import OnnxModel
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import clip_background, open_source, track_source
from tracknet.io.frames import read_ahead
from tracknet.io.live import LiveSource, is_live
from tracknet.models.protocol import WindowModel
from tracknet.predict.pipeline import PredictResult, predict_source
from tracknet.predict.stream import ResultStream, chunks_of
from tracknet.settings import config_overrides
from tracknet.track.builder import TrackBuilder
from tracknet.track.result import Track


def _frame_size(frame) -> tuple[int, int]:
    """``(W, H)`` of one frame: ``[H, W, 3]`` or ``[3, H, W]``."""
    shape = tuple(frame.shape)
    if len(shape) != 3 or 3 not in (shape[0], shape[-1]):
        raise UserError(f"a frame must be [H, W, 3] or [3, H, W], got shape {list(shape)}")
    return (shape[2], shape[1]) if shape[-1] != 3 else (shape[1], shape[0])


class Tracker:
    """A trained model, its codec and its ``predict`` settings, ready to find the ball.

    Args:
        model: a loaded model (:func:`tracknet.infer.loading.load_run`).
        cfg: the run's configuration, with any overrides applied.

    Most callers use :meth:`from_pretrained`. ``tracker.cfg.predict`` holds the settings in use;
    ``tracker.predictor`` the model on its device.
    """

    def __init__(self, model: WindowModel, cfg: Config) -> None:

        self.cfg = cfg
        self.predictor = Predictor.from_config(model, cfg)

    @classmethod
    def from_pretrained(
        cls,
        run_or_folder: str | Path,
        device: str = "auto",
        half: bool | None = None,
        backend: str = "torch",
        **overrides: Any,
    ) -> Tracker:
        """Load a run folder written by ``tracknet train`` (or its ``best/`` / ``last/``).

        Args:
            run_or_folder: the run folder, or one of its checkpoints.
            device: ``auto`` (the GPU when there is one), ``cpu``, ``cuda``, ``cuda:1`` ...
            half: bf16 (fp16 on GPUs without bf16); None: the run's ``predict.half`` and
                ``predict.precision`` (``auto``: half on CUDA, full precision elsewhere); False:
                full precision everywhere.
            backend: ``torch`` or ``onnx`` (the run's ``model.onnx``, exported on first use).
            **overrides: ``predict`` settings (``batch_size=4``, ``smooth=True``,
                ``live={"drop": "none"}``) or dotted configuration keys
                (:func:`tracknet.settings.config_overrides`).

        Raises:
            UserError: no such run, an unknown or invalid setting, an unavailable device.
        """
        settings: dict[str, Any] = {"device": device, **overrides}
        if half is not None:
            settings["half"] = bool(half)
            if not half:
                settings.setdefault("precision", "fp32")
        model, cfg = load_run(run_or_folder, config_overrides(settings))
        if backend == "onnx":
            model = OnnxModel.for_model(onnx_for_run(run_or_folder, model), model)
        elif backend != "torch":
            raise UserError(f"unknown backend {backend!r} (torch or onnx)")
        return cls(model, cfg)

    # ------------------------------------------------------------------ what it is
    @property
    def device(self) -> torch.device:
        return self.predictor.device

    @property
    def frames_per_window(self) -> int:
        """``T``: the frames the model sees at once."""
        return self.predictor.frames

    def __repr__(self) -> str:
        w, h = self.cfg.model.input_size
        dtype = self.predictor.autocast or torch.float32
        return (
            f"Tracker({self.cfg.model.type}, T={self.predictor.frames}, input {w}x{h}, "
            f"{self.device}, {str(dtype).replace('torch.', '')})"
        )

    # ------------------------------------------------------------------ files
    def track(self, video: str | Path | list[Path]) -> Track:
        """Every frame of a video, image folder or list of image files -> its :class:`Track`.

        Raises:
            DataError: the input cannot be opened.
        """
        if isinstance(video, str) and is_live(video):
            raise UserError(f"{video} is a live source: use Tracker.stream for it")
        return track_source(self.predictor, open_source(self.predictor, video))

    def write(
        self,
        video: str | Path | list[Path],
        out_dir: str | Path,
        *,
        progress: bool = False,
        **outputs: Any,
    ) -> PredictResult:
        """What ``tracknet predict`` writes for one input: ``<name>_ball.csv`` in ``out_dir``.

        ``outputs`` are those :func:`tracknet.predict.pipeline.predict_source` declares, the one
        place they are: ``overlay``, ``details``, ``events`` (True: write the overlay video, the
        details and events CSVs), ``court`` (a :class:`~tracknet.track.court.Court`: the court
        CSV) and ``name`` (the stem of the files); here the progress bar is off unless asked
        for."""
        return predict_source(self.predictor, video, out_dir, progress=progress, **outputs)

    # ------------------------------------------------------------------ streams
    def stream(
        self, source: str | Path | Iterable, frame_size: tuple[int, int] | None = None
    ) -> ResultStream:
        """One :class:`~tracknet.predict.stream.StreamPoint` per frame, as soon as it is known.

        Args:
            source: a live source (a URL, ``/dev/videoN``, ``-``: ``predict.live`` settings
                apply: drops, reconnection), a video or image folder (every frame, none
                dropped), or an iterable of frames (``uint8 [H, W, 3]`` arrays or tensors).
            frame_size: ``(W, H)`` of frames given in memory; default the first frame's.

        The result iterates once; ``with`` (or :meth:`ResultStream.close`) stops a live source.

        Raises:
            DataError: a live source that cannot be opened, a file that cannot be read.
        """
        batch = self.predictor.batch_size
        if isinstance(source, str | Path) and is_live(str(source)):
            live = self.cfg.predict.live
            queue = live.queue if live.drop == "oldest" else max(live.queue, batch)
            src = LiveSource(
                str(source),
                drop=live.drop,
                queue=queue,
                reconnect=live.reconnect,
                reconnect_delay=live.reconnect_delay,
                timeout=live.timeout,
                format=live.format,
                options=live.options,
            ).start()
            chunks = iter(lambda: src.take(batch), [])
            assert src.size is not None  # start() returns once the first frame is in

            return ResultStream(self.predictor, chunks, src.size, source=src)
        if isinstance(source, str | Path):
            frames = open_source(self.predictor, source)
            background = clip_background(self.predictor, frames)
            ahead = read_ahead(frames, depth=2 * batch + self.predictor.frames)
            return ResultStream(
                self.predictor, chunks_of(ahead, batch), frames.size, background=background
            )
        items, size = self._numbered(source, frame_size)
        return ResultStream(self.predictor, chunks_of(items, batch), size)

    # ------------------------------------------------------------------ frames in memory
    def predict(self, frames: Iterable, frame_size: tuple[int, int] | None = None) -> Track:
        """Frames already in memory -> their :class:`Track` (frame numbers 0, 1, 2 ...).

        Args:
            frames: ``uint8 [N, H, W, 3]`` (RGB) or a list of such frames; or torch tensors
                ``[N, 3, H, W]`` (float in [0, 1] or uint8) or ``uint8 [N, H, W, 3]``, on any
                device (they are moved to the model's).
            frame_size: ``(W, H)`` the positions refer to; default the frames' own size.
        """
        if isinstance(frames, np.ndarray) and frames.ndim == 4 and frames.dtype == np.uint8:
            # all frames at hand: the clip's background for a model that takes one
            picked = frames[background_indices(len(frames))]
            background = self.predictor.make_background(list(picked), frame_size)
        else:
            background = None
        items, size = self._numbered(frames, frame_size)
        builder = TrackBuilder(self.cfg.predict)
        for pred in self.predictor.run(items, size, background=background):
            builder.add(pred)
        return builder.finish()

    @staticmethod
    def _numbered(frames: Iterable, frame_size: tuple[int, int] | None):
        """``((index, frame) ..., (W, H))``; raises UserError on no frame or a bad shape."""
        if isinstance(frames, np.ndarray | torch.Tensor) and frames.ndim == 3:
            frames = frames[None]  # one frame
        it = iter(frames)
        first = next(it, None)
        if first is None:
            raise UserError("no frames given")
        size = frame_size or _frame_size(first)
        return enumerate(itertools.chain([first], it)), (int(size[0]), int(size[1]))
