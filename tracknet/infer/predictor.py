"""Streaming inference: frames in, one ball position per frame out, in constant memory.

Frames are resized by the codec, batched through the backbone ONCE per frame, and the cached
tokens of ``T`` consecutive frames feed the temporal decoder. Each frame is decoded from the
window centred on it (at the ends of the video the edge frame is repeated), so every frame sees
its past and its future and the decoder runs once per frame. With ``predict.combine=weighted``
every window is decoded for all its T frames instead, and the T heatmaps of each frame are
averaged with weights towards the window centre. Only ``batch_size + 2T`` frames are held at any
time.

:class:`Predictor` holds the model, the codec and the settings and runs the model;
:class:`WindowScheduler` is the state of one stream through it (which frames are buffered, which
windows can be decoded, which frames are finished). Setting the model up for the device is
:mod:`tracknet.infer.device`; reading frames ahead in a thread is
:func:`tracknet.io.frames.read_ahead`.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch

from tracknet.config import Config, PredictConfig
from tracknet.data.background import median_background
from tracknet.data.codec import HeatmapCodec
from tracknet.infer.device import (
    autocast_dtype,
    keep_freed_memory,
    prepare_for_inference,
    resolve_device,
)
from tracknet.models.protocol import WindowModel
from tracknet.track.builder import FramePrediction


class Predictor:
    """Runs a trained model over a stream of frames.

    Args:
        model: a :class:`tracknet.models.TrackNet` (or any model with ``frames``, ``encode`` and
            ``decode_window``; a plain single-frame model is called directly).
        codec: the :class:`tracknet.data.codec.HeatmapCodec` the model was trained with.
        cfg: batch size, device and precision settings.
    """

    def __init__(self, model: WindowModel, codec: HeatmapCodec, cfg: PredictConfig | None = None):
        self.cfg = cfg or PredictConfig()
        self.device = resolve_device(self.cfg.device)
        self.autocast = autocast_dtype(self.device, self.cfg.half, self.cfg.precision)
        self.model = prepare_for_inference(
            model, self.device, self.autocast, self.cfg.channels_last, self.cfg.attention
        )
        self._encode_fn, self._decode_fn = self.model.encode, self.model.decode_window
        if self.cfg.compile:  # compiled on the first batch of each shape
            self._encode_fn = torch.compile(self._encode_fn, dynamic=False)
            self._decode_fn = torch.compile(self._decode_fn, dynamic=False)
        self.codec = codec
        self.frames = int(getattr(model, "frames", 1))
        detail = getattr(model, "detail", None)
        # the detail path takes the clip's median frame (model.detail.background)
        self.uses_background = bool(getattr(detail, "background", False))
        # the detail path's per-frame stems, cached like the tokens (TrackNet.detail_stem)
        self._stem_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
        if detail is not None and self.cfg.detail_stems:
            self._stem_fn = getattr(self.model, "detail_stem", None)
        self.batch_size = max(1, self.cfg.batch_size)
        if self.device.type == "cpu":
            keep_freed_memory()

    @classmethod
    def from_config(
        cls, model: WindowModel, cfg: Config, codec: HeatmapCodec | None = None
    ) -> Predictor:
        """The predictor of a run: ``cfg``'s codec (or ``codec``, when the run built one
        already) and ``cfg.predict``'s settings."""
        return cls(
            model, codec if codec is not None else HeatmapCodec.from_config(cfg), cfg.predict
        )

    def _amp(self):
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)

    # ------------------------------------------------------------------ the model
    def _prepare(self, frames: list, frame_size: tuple[int, int] | None = None) -> torch.Tensor:
        """RGB frames -> ``[N, 3, Hin, Win]`` in [0, 1] on the device.

        ``uint8 [H, W, 3]`` numpy arrays or tensors, or ``[3, H, W]`` tensors (float in [0, 1]
        or uint8); host memory goes to a GPU through pinned memory, without blocking.
        ``frame_size``: ``(W, H)`` of the original frames, which these may be a reduced-scale
        decoding of (JPEG draft mode): the geometry of the resize follows it, as in training.
        """
        if isinstance(frames[0], torch.Tensor):
            batch = torch.stack(frames)
        else:
            batch = torch.from_numpy(np.stack(frames))  # [N, H, W, 3]
        if self.device.type == "cuda" and batch.device != self.device:
            batch = batch.pin_memory().to(self.device, non_blocking=True)
        elif batch.device != self.device:
            batch = batch.to(self.device)
        return self.codec.resize_frames_torch(batch, frame_size)

    def make_background(
        self, frames: Iterable[np.ndarray] | None, frame_size: tuple[int, int] | None = None
    ) -> torch.Tensor | None:
        """The background of a stream for :meth:`run`: the median of ``frames`` (``uint8 [H, W,
        3]`` spread over the clip, :func:`tracknet.data.background.background_indices`) at
        model-input size, made as for training (:func:`~tracknet.data.background.median_background`
        of the resized frames): ``[1, 3, Hin, Win]`` in [0, 1] on the device. ``None`` when the
        model takes no background or no frame is given (the model then uses its stand-in, the
        median of each window). ``frame_size``: as for :meth:`run`'s frames.
        """
        if not self.uses_background:
            return None
        # one at a time: memory for the small frames only
        return self.background_of(
            [background_frame(self.codec, f, frame_size) for f in frames or []]
        )

    def background_of(self, resized: list[torch.Tensor]) -> torch.Tensor | None:
        """:meth:`make_background` from frames already resized (:func:`background_frame`)."""
        if not self.uses_background or not resized:
            return None
        median = median_background(torch.stack(resized).permute(0, 2, 3, 1).numpy())
        bg = torch.from_numpy(median).permute(2, 0, 1)[None].float().div_(255.0)
        return bg.to(self.device)

    @torch.inference_mode()
    def _encode(self, images: torch.Tensor) -> torch.Tensor:
        """Model inputs ``[n, 3, Hin, Win]`` -> their tokens (once per frame)."""
        with self._amp():
            return self._encode_fn(images)

    def uses_stems(self, background: torch.Tensor | None) -> bool:
        """Whether a stream with this ``background`` caches the detail path's per-frame stems
        (:meth:`tracknet.models.TrackNet.detail_stem`) instead of the model inputs: for a model
        that has them, unless it takes a background and the stream has none (the model's
        stand-in, each window's median, needs the frames)."""
        return self._stem_fn is not None and (background is not None or not self.uses_background)

    @torch.inference_mode()
    def _stems(self, images: torch.Tensor) -> torch.Tensor:
        """Model inputs ``[n, 3, Hin, Win]`` -> the detail path's stems (once per frame)."""
        assert self._stem_fn is not None  # uses_stems said so
        with self._amp():
            return self._stem_fn(images)

    @torch.inference_mode()
    def _background_stem(self, background: torch.Tensor | None) -> torch.Tensor | None:
        if background is None:
            return None
        with self._amp():
            return self.model.detail_background_stem(background)

    def _window_inputs(self, rows: torch.Tensor, background, stems: bool) -> dict:
        """The keyword arguments of ``decode_window`` for windows of cached ``rows``: the model
        inputs and the background, or (``stems``) the detail stems and the background's."""
        if stems:
            return {"stems": rows, "background_stem": background}
        return {"frames": rows, "background": _expand(background, rows)}

    @torch.inference_mode()
    def _decode_centres(
        self,
        tokens: torch.Tensor,
        images: torch.Tensor,
        background: torch.Tensor | None = None,
        stems: bool = False,
    ) -> torch.Tensor:
        """Windows ``[B, T, ...]`` -> logits of their centre frames ``[B, Hh, Wh]``.

        ``images``: the windows' model inputs, or (``stems``) their detail stems, with
        ``background`` the stream's background stem."""
        with self._amp():
            logits = self._decode_fn(
                tokens, select=self.frames // 2, **self._window_inputs(images, background, stems)
            )
        return logits[:, 0].float()

    @torch.inference_mode()
    def _decode_all(
        self,
        tokens: torch.Tensor,
        images: torch.Tensor,
        background: torch.Tensor | None = None,
        stems: bool = False,
    ) -> torch.Tensor:
        """Windows ``[B, T, ...]`` -> probabilities of all their frames ``[B, T, Hh, Wh]``."""
        with self._amp():
            logits = self._decode_fn(tokens, **self._window_inputs(images, background, stems))
        return torch.sigmoid(logits.float())

    def window_weights(self) -> list[float]:
        """Weight of each position of a window when heatmaps are combined: 1, 2, ..., 2, 1."""
        c = self.frames // 2
        return [float(min(j, self.frames - 1 - j, c) + 1) for j in range(self.frames)]

    def _predictions(self, logits: torch.Tensor, frame_size, metas) -> Iterator[FramePrediction]:
        """Decoded heatmaps ``[n, Hh, Wh]`` and their frames' ``(index, ok)`` -> predictions."""
        det = self.codec.decode(logits, frame_size=frame_size, top_k=self.cfg.top_k).numpy()
        for j, (index, ok) in enumerate(metas):
            yield FramePrediction(
                index=index,
                ok=ok,
                visible=bool(det.visible[j]) and ok,
                x=float(det.xy[j, 0]),
                y=float(det.xy[j, 1]),
                score=float(det.score[j]),
                candidates_xy=det.candidates_xy[j] if ok else det.candidates_xy[j] * 0,
                candidates_score=det.candidates_score[j] if ok else det.candidates_score[j] * 0,
            )

    # ------------------------------------------------------------------ the stream
    @torch.inference_mode()
    def run(
        self,
        frames: Iterable[tuple[int, np.ndarray | torch.Tensor | None]],
        frame_size: tuple[int, int],
        on_frame: Callable[[int], None] | None = None,
        background: torch.Tensor | None = None,
    ) -> Iterator[FramePrediction]:
        """Predict every frame of a stream.

        Args:
            frames: ``(index, rgb uint8 [H, W, 3] or None)`` in order; ``None`` marks a frame
                that could not be decoded (it gets a not-visible prediction with ``ok=False``).
                A frame may also be a ``uint8 [3, Hin, Win]`` tensor already at model-input
                size (:func:`background_frame`; frames decoded ahead).
            frame_size: ``(W, H)`` of the original frames (the frames may be a reduced-scale
                decoding of them).
            on_frame: called with the number of frames read so far (for progress bars).
            background: the stream's background (:meth:`make_background`), for a model with
                ``model.detail.background``; None: the model's stand-in.

        Yields:
            One :class:`FramePrediction` per input frame, in order.
        """
        scheduler = WindowScheduler(self, frame_size, background)
        for index, image in frames:
            batch_ready = scheduler.add(index, image)
            if on_frame is not None:
                on_frame(scheduler.read)
            if batch_ready:
                yield from scheduler.step()
        yield from scheduler.step(final=True)


class WindowScheduler:
    """One stream of frames through a :class:`Predictor`: what to encode, decode and emit when.

    Positions count the frames of the stream from 0. Frames are encoded in batches of
    ``batch_size`` as they arrive (:meth:`add`, then :meth:`step`); the window centred on
    position ``q`` covers ``q - T//2 .. q - T//2 + T - 1``, clamped to the stream (the edge frame
    repeated), and can be decoded once its last frame is read, or at the end of the stream
    (``step(final=True)``). A frame no window still to decode needs is dropped from the buffers.

    The model inputs and tokens of the buffered frames are rows of one contiguous tensor each,
    with the first frame repeated ``T//2`` times before it (and, at the end of the stream, the
    last frame after it), so the windows of a batch -- consecutive centres -- are one strided
    view of the rows (``unfold``): no window is copied together, only each frame once.

    With ``predict.combine=weighted`` each decoded window adds its T probability maps, weighted
    by :meth:`Predictor.window_weights`, to the sums of its frames; a frame is finished once the
    window centred ``T//2`` after it is decoded (at the end of the stream: every frame).
    """

    def __init__(
        self,
        predictor: Predictor,
        frame_size: tuple[int, int],
        background: torch.Tensor | None = None,
    ):
        self.predictor = predictor
        self.frame_size = frame_size
        # cache the detail path's stems, not the model inputs, where the model has them; the
        # background then enters as its stem, computed once
        self.stems = predictor.uses_stems(background)
        if self.stems:
            background = predictor._background_stem(background)
        self.background = background  # [1, 3, Hin, Win] (Predictor.make_background) or its stem
        self.t, self.centre = predictor.frames, predictor.frames // 2
        self.combine = predictor.cfg.combine == "weighted" and self.t > 1
        self.weights = predictor.window_weights()
        # the frames still needed by a window: index, decoded; model inputs and tokens as rows
        self._index: deque[int] = deque()
        self._ok: deque[bool] = deque()
        # model inputs [m, 3, Hin, Win] or detail stems (self.stems), positions _row0 ...
        self._images: torch.Tensor | None = None
        self._tokens: torch.Tensor | None = None  # [m, ...]
        self._row0 = 0  # stream position of the first row (negative: the first frame repeated)
        self._end_padded = False
        self._pending: list[tuple[int, np.ndarray | torch.Tensor | None]] = []  # not encoded yet
        self._last_good: np.ndarray | torch.Tensor | None = None  # for an undecodable frame
        self.read = 0  # frames read
        self.emitted = 0  # position of the next frame to predict
        self.next_window = 0  # centre position of the next window to decode
        # combine: position -> [sum of weighted probabilities, sum of weights, index, ok]
        self._sums: dict[int, list] = {}

    def add(self, index: int, image: np.ndarray | torch.Tensor | None) -> bool:
        """Take the next frame (``None``: undecodable); True when a batch waits to be encoded."""
        self._pending.append((index, image))
        self.read += 1
        return len(self._pending) >= self.predictor.batch_size

    def step(self, final: bool = False) -> Iterator[FramePrediction]:
        """Encode the frames waiting and decode every window that is complete now (``final``:
        the stream has ended, so every window is); yields the frames finished, in order."""
        if self._pending:
            self._encode_pending()
        if final:
            self._pad_end()
        yield from self._decode(self._ready_windows(final), final)

    # ------------------------------------------------------------------ frames
    def _encode_pending(self) -> None:
        arrays = []
        for _, img in self._pending:
            if img is not None:
                self._last_good = img
            arrays.append(img if img is not None else self._last_good)
        if any(a is None for a in arrays):  # undecodable frames before any good one
            good = next((a for a in arrays if a is not None), None)
            if good is None:
                filler = np.zeros((self.frame_size[1], self.frame_size[0], 3), np.uint8)
            elif isinstance(good, torch.Tensor):  # model inputs decoded ahead (uint8 [3, H, W])
                filler = torch.zeros_like(good)
            else:
                filler = np.zeros(good.shape, np.uint8)
            arrays = [a if a is not None else filler for a in arrays]
        images = self.predictor._prepare(arrays, self.frame_size)
        tokens = self.predictor._encode(images)  # [n, Hp, Wp, C], once per frame
        if self.stems:  # what the detail path needs of each frame, once per frame
            images = self.predictor._stems(images)
        for i, img in self._pending:
            self._index.append(i)
            self._ok.append(img is not None)
        self._pending.clear()
        if self._images is None:  # the first frame stands in for the past before it
            self._row0 = -self.centre
            images, tokens = (_repeat_first(x, self.centre) for x in (images, tokens))
        else:
            images = torch.cat([self._images, images])
            tokens = torch.cat([self._tokens, tokens])
        self._images, self._tokens = images, tokens

    def _pad_end(self) -> None:
        """The last frame stands in for the future after it (once, at the end of the stream)."""
        extra = self.t - 1 - self.centre
        if self._end_padded or self._images is None or extra == 0:
            return
        self._end_padded = True
        self._images, self._tokens = (_repeat_last(x, extra) for x in (self._images, self._tokens))

    def _forget(self) -> None:
        """Drop the frames no window still to decode will need."""
        base = self.read - len(self._index)  # position of the first buffered frame
        while self._index and base < self.next_window - self.centre:
            self._index.popleft()
            self._ok.popleft()
            base += 1
        drop = self.next_window - self.centre - self._row0
        if self._images is not None and drop > 0:
            self._images, self._tokens = self._images[drop:], self._tokens[drop:]
            self._row0 += drop

    # ------------------------------------------------------------------ windows
    def _ready_windows(self, final: bool) -> list[tuple[int, list[int]]]:
        """(centre position, buffer positions) of the windows that can be decoded now."""
        base = self.read - len(self._index)  # position of the first buffered frame
        out = []
        position = self.next_window
        while position < self.read:
            lo, hi = position - self.centre, position - self.centre + self.t - 1
            if hi >= self.read and not final:
                break
            clamped = [min(max(p, 0), self.read - 1) - base for p in range(lo, hi + 1)]
            out.append((position, clamped))
            position += 1
        return out

    def _decode(
        self, windows: list[tuple[int, list[int]]], final: bool
    ) -> Iterator[FramePrediction]:
        batch = self.predictor.batch_size
        for start in range(0, len(windows), batch):
            chunk = windows[start : start + batch]
            first = chunk[0][0] - self.centre - self._row0  # row of the first window's start
            rows = slice(first, first + len(chunk) + self.t - 1)
            # consecutive windows as views [b, T, ...] of the rows: nothing copied
            tokens = self._tokens[rows].unfold(0, self.t, 1).movedim(-1, 1)
            images = self._images[rows].unfold(0, self.t, 1).movedim(-1, 1)
            if self.combine:
                yield from self._combine(chunk, tokens, images, final)
            else:
                yield from self._centres(chunk, tokens, images)
        self._forget()

    def _centres(self, chunk, tokens: torch.Tensor, images: torch.Tensor):
        """Each window predicts its centre frame."""
        logits = self.predictor._decode_centres(tokens, images, self.background, self.stems)
        c = self.centre
        metas = [(self._index[w[c]], self._ok[w[c]]) for _, w in chunk]
        yield from self.predictor._predictions(logits, self.frame_size, metas)
        self.emitted += len(chunk)
        self.next_window += len(chunk)

    def _combine(self, chunk, tokens: torch.Tensor, images: torch.Tensor, final: bool):
        """Each window adds its weighted probabilities to its frames; finished frames go out."""
        probs = self.predictor._decode_all(tokens, images, self.background, self.stems)
        for j, (position, w) in enumerate(chunk):
            for o in range(self.t):
                frame = position - self.centre + o
                if frame < self.emitted or frame >= self.read:  # a repeated edge frame
                    continue
                entry = self._sums.get(frame)
                if entry is None:
                    entry = self._sums[frame] = [0.0, 0.0, self._index[w[o]], self._ok[w[o]]]
                entry[0] = probs[j, o] * self.weights[o] + entry[0]
                entry[1] += self.weights[o]
        self.next_window += len(chunk)
        # frame f has all its windows once the one centred at f + centre is decoded
        # (at the end of the stream, once the last window is decoded, every frame is)
        last = final and self.next_window >= self.read
        done = [f for f in sorted(self._sums) if f + self.centre < self.next_window or last]
        if done:
            mean = torch.stack([self._sums[f][0] / self._sums[f][1] for f in done])
            logits = torch.logit(mean, eps=1e-6)
            metas = [(self._sums[f][2], self._sums[f][3]) for f in done]
            for f in done:
                del self._sums[f]
            yield from self.predictor._predictions(logits, self.frame_size, metas)
            self.emitted += len(done)


def background_frame(
    codec: HeatmapCodec, frame: np.ndarray, frame_size: tuple[int, int] | None = None
) -> torch.Tensor:
    """One frame ``uint8 [H, W, 3]`` of a background at model-input size, ``uint8 [3, Hin,
    Win]`` (what :meth:`Predictor.make_background` takes the median of)."""
    return codec.resize_frames_torch(torch.from_numpy(frame)[None], frame_size, as_uint8=True)[0]


def _expand(background: torch.Tensor | None, images: torch.Tensor) -> torch.Tensor | None:
    """The background ``[1, 3, Hin, Win]`` for windows ``[B, T, 3, Hin, Win]``: ``[B, ...]``."""
    if background is None:
        return None
    if background.shape[-2:] != images.shape[-2:]:
        raise ValueError(
            f"the background is {tuple(background.shape[-2:])} but the frames are "
            f"{tuple(images.shape[-2:])}: make it from this stream's frames"
        )
    return background.to(images.dtype).expand(images.shape[0], -1, -1, -1)


def _repeat_first(x: torch.Tensor, n: int) -> torch.Tensor:
    """``x`` with its first row repeated ``n`` times before it (one contiguous copy)."""
    return torch.cat([x[:1].expand(n, *x.shape[1:]), x]) if n else x


def _repeat_last(x: torch.Tensor, n: int) -> torch.Tensor:
    """``x`` with its last row repeated ``n`` times after it (one contiguous copy)."""
    return torch.cat([x, x[-1:].expand(n, *x.shape[1:])]) if n else x
