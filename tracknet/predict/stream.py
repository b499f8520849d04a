"""Results frame by frame, as the frames arrive: live streams and ``Tracker.stream``.

:class:`ResultStream` runs frames through the predictor and the online tracker and yields one
:class:`StreamPoint` per frame, in frame order, as soon as it is known (for a ``T``-frame model,
once the frame after it has arrived). Frames come in chunks: a live source hands over everything
that waited while the model was busy (:meth:`tracknet.io.live.LiveSource.take`), and the chunk
is encoded as one batch, so the batch grows when the model falls behind and shrinks to one frame
when it keeps up. A frame the source dropped does not go through the model: it comes out in its
place, not visible, ``dropped=True``, and the tracker counts it as a frame without the ball (its
motion model stays in step with time). Nothing is kept per frame, so an endless stream runs in
constant memory; there is no offline smoothing.

:class:`RowWriter` writes a stream's ``<stem>_ball.csv`` (and with ``details`` a
``<stem>_details.csv`` with the columns of :mod:`tracknet.predict.details` plus ``Dropped`` and
``LatencyMs``: arrival of the frame to its result) row by row, flushed as it goes, so the files
are readable while the stream runs and complete up to the last row after Ctrl-C.
"""

from __future__ import annotations

import contextlib
import csv
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tracknet.constants import DETAILS_CSV_SUFFIX, ball_csv_name
from tracknet.infer.predictor import Predictor, WindowScheduler
from tracknet.io.label_columns import BALL_CSV_HEADER
from tracknet.io.labels import ball_csv_row
from tracknet.io.live import LiveFrame, LiveSource
from tracknet.predict.details import DETAILS_HEADER, format_candidates
from tracknet.track.builder import FramePrediction, TrackBuilder

LIVE_DETAILS_HEADER = (*DETAILS_HEADER, "Dropped", "LatencyMs")


@dataclass
class StreamPoint:
    """The result of one frame of a stream, original-frame pixels (``x = y = 0`` not visible).

    Attributes:
        frame: the frame number.
        visible, x, y, score: after the online tracker (``predict.track``).
        decoded: False for a frame that could not be decoded.
        dropped: the frame arrived while the model was busy and was dropped
            (``predict.live.drop=oldest``).
        latency: seconds from the frame's arrival to its result (None for a dropped frame).
        prediction: the raw detection and its candidates (what ``--details`` writes).
    """

    frame: int
    visible: bool
    x: float
    y: float
    score: float
    decoded: bool = True
    dropped: bool = False
    latency: float | None = None
    prediction: FramePrediction | None = field(default=None, repr=False)


def _not_predicted(index: int) -> FramePrediction:
    """The prediction standing in for a dropped frame: no ball, no candidate."""
    return FramePrediction(index, False, False, 0.0, 0.0, 0.0, np.zeros((0, 2)), np.zeros(0))


def chunks_of(
    frames: Iterable[tuple[int, np.ndarray | None]], size: int
) -> Iterator[list[LiveFrame]]:
    """``(index, frame or None)`` pairs (a file, frames in memory) as lists of ``size``
    :class:`LiveFrame` (``None``: an undecodable frame), stamped as they are read."""
    chunk: list[LiveFrame] = []
    for index, image in frames:
        chunk.append(LiveFrame(int(index), image, time.monotonic()))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class ResultStream:
    """One :class:`StreamPoint` per frame of ``chunks``, in order, as soon as it is known.

    Args:
        predictor: the model, codec and settings (``predictor.cfg``: tracking).
        chunks: lists of :class:`LiveFrame` in frame order (a list is encoded as one batch).
        frame_size: ``(W, H)`` of the original frames.
        source: the live source the chunks come from, if any: its counters
            (:attr:`dropped`, :attr:`reconnects`, :attr:`lost`) and :meth:`close`.
        background: the background for a model with ``model.detail.background``
            (:meth:`Predictor.make_background`); None: the model's stand-in (live sources, whose
            future frames are unknown, use it).
    """

    def __init__(
        self,
        predictor: Predictor,
        chunks: Iterable[Sequence[LiveFrame]],
        frame_size: tuple[int, int],
        source: LiveSource | None = None,
        background: torch.Tensor | None = None,
    ) -> None:
        self.predictor = predictor
        self.background = background
        self.chunks = chunks
        self.frame_size = frame_size
        self.source = source
        self.frames = 0  # results yielded
        self.detected = 0
        self.undecodable = 0
        self._dropped = 0

    @property
    def dropped(self) -> int:
        """Frames dropped so far (their rows were yielded)."""
        return self._dropped

    @property
    def reconnects(self) -> int:
        return self.source.reconnects if self.source is not None else 0

    @property
    def lost(self) -> list[str]:
        """Why the live stream was lost, each time (empty: never)."""
        return list(self.source.lost) if self.source is not None else []

    def __iter__(self) -> Iterator[StreamPoint]:
        scheduler = WindowScheduler(self.predictor, self.frame_size, self.background)
        builder = TrackBuilder(self.predictor.cfg)
        waiting: deque[tuple[int, float, bool]] = deque()  # (index, arrived, dropped) in order
        for chunk in self.chunks:
            for frame in chunk:
                waiting.append((frame.index, frame.arrived, frame.dropped))
                if not frame.dropped:
                    scheduler.add(frame.index, frame.image)
            yield from self._emit(scheduler.step(), waiting, builder)
        yield from self._emit(scheduler.step(final=True), waiting, builder)

    def _emit(self, preds, waiting: deque, builder: TrackBuilder) -> Iterator[StreamPoint]:
        """The points of ``preds`` (in order), each after the dropped frames before it; then
        the dropped frames that follow the last of them."""
        for pred in preds:
            while waiting[0][2]:
                yield self._point(builder, *waiting.popleft())
            index, arrived, _ = waiting.popleft()
            if index != pred.index:
                raise RuntimeError(f"stream out of order: frame {pred.index} after {index}")
            yield self._point(builder, index, arrived, False, pred)
        while waiting and waiting[0][2]:
            yield self._point(builder, *waiting.popleft())

    def _point(self, builder, index, arrived, dropped, pred=None) -> StreamPoint:
        pred = pred if pred is not None else _not_predicted(index)
        p = builder.add(pred, keep=False)
        self.frames += 1
        self.detected += p.visible
        self._dropped += dropped
        self.undecodable += not (pred.ok or dropped)
        latency = None if dropped else time.monotonic() - arrived
        return StreamPoint(
            p.frame, p.visible, p.x, p.y, p.score, pred.ok or dropped, dropped, latency, pred
        )

    def close(self) -> None:
        """Stop the live source (if any)."""
        if self.source is not None:
            self.source.close()

    def __enter__(self) -> ResultStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RowWriter:
    """A stream's ball CSV (and details CSV), written row by row and flushed after each row.

    The files are written in place (not through a temporary name): they grow with the stream.
    """

    def __init__(self, out_dir: str | Path, stem: str, details: bool = False) -> None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.csv = out_dir / ball_csv_name(stem)
        self.details = out_dir / f"{stem}{DETAILS_CSV_SUFFIX}" if details else None
        self._files: list = []
        self._stack = contextlib.ExitStack()
        self._ball = self._open(self.csv, BALL_CSV_HEADER)
        self._details = (
            self._open(self.details, LIVE_DETAILS_HEADER) if self.details is not None else None
        )

    def _open(self, path: Path, header: Sequence[str]):
        fh = self._stack.enter_context(path.open("w", newline=""))
        self._files.append(fh)
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        fh.flush()
        return writer

    def write(self, point: StreamPoint) -> None:
        """Append the rows of one frame and flush them."""
        self._ball.writerow(ball_csv_row(point.frame, int(point.visible), point.x, point.y))
        if self._details is not None:
            self._details.writerow(_details_row(point))
        for fh in self._files:
            fh.flush()

    def close(self) -> None:
        self._stack.close()
        self._files = []

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _details_row(point: StreamPoint) -> list:
    """A details row (:data:`LIVE_DETAILS_HEADER`) of one frame of a stream."""
    pred = point.prediction
    raw = pred is not None and pred.visible and pred.ok
    cands = np.zeros((0, 3))
    if pred is not None and pred.ok:
        xy = np.asarray(pred.candidates_xy, dtype=np.float64).reshape(-1, 2)
        score = np.asarray(pred.candidates_score, dtype=np.float64).reshape(-1, 1)
        cands = np.concatenate([xy, score], axis=1)
    return [
        point.frame,
        int(point.visible),
        f"{point.x:.2f}",
        f"{point.y:.2f}",
        f"{point.score:.4f}",
        0,
        int(point.decoded),
        int(raw),
        f"{pred.x if raw and pred is not None else 0.0:.2f}",
        f"{pred.y if raw and pred is not None else 0.0:.2f}",
        format_candidates(cands),
        int(point.dropped),
        "" if point.latency is None else f"{1000 * point.latency:.1f}",
    ]
