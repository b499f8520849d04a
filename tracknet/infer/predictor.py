"""Streaming inference: frames in, one ball position per frame out, in constant memory.

Frames are read by a background thread (decoding overlaps the model), resized by the codec,
batched through the backbone ONCE per frame, and the cached tokens of ``T`` consecutive frames
feed the temporal decoder. Each frame is decoded from the window centred on it (at the ends of the
video the edge frame is repeated), so every frame sees its past and its future and the decoder
runs once per frame. With ``predict.combine=weighted`` every window is decoded for all its T
frames instead, and the T heatmaps of each frame are averaged with weights towards the window
centre. Only ``batch_size + 2T`` frames are held at any time.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from tracknet.config import PredictConfig


@dataclass
class FramePrediction:
    """The raw (untracked) detection of one frame, in original-frame pixels."""

    index: int
    ok: bool  # False: the frame could not be decoded
    visible: bool
    x: float
    y: float
    score: float
    candidates_xy: np.ndarray = field(repr=False)  # [K, 2]
    candidates_score: np.ndarray = field(repr=False)  # [K]


def resolve_device(name: str) -> torch.device:
    """``auto`` (the GPU when there is one, else the CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps`` ...

    Raises:
        UserError: an unknown device name, or a device this machine does not have.
    """
    from tracknet.errors import UserError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise UserError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)") from exc
    if device.type == "cuda":
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= available:
            raise UserError(
                f"device {name!r} is not available: this machine has {available} CUDA GPU(s); "
                "use --device cpu"
            )
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise UserError(f"device {name!r} is not available on this machine; use --device cpu")
    return device


def _threaded(iterable: Iterable, depth: int) -> Iterator:
    """Iterate ``iterable`` in a background thread through a bounded queue."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    error: list[BaseException] = []
    stop = threading.Event()

    def produce():
        try:
            for item in iterable:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer
            error.append(exc)
        finally:
            with contextlib.suppress(queue.Full):
                q.put(done, timeout=1.0)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            yield item
        if error:
            raise error[0]
    finally:
        stop.set()


def keep_freed_memory() -> bool:
    """Have glibc's malloc serve tensors up to 32 MiB from the heap and keep freed memory.

    By default large blocks are ``mmap``-ed and unmapped when freed, and the heap is trimmed, so
    every tensor of every layer lands on fresh pages: the page faults (expensive in a VM) cost
    more than the arithmetic of the ViT's many element-wise operations. Process-wide; a no-op
    (``False``) where the C library is not glibc.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 32 << 20) and libc.mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError):
        return False
    return bool(ok)


def cast_backbone_weights(model, dtype: torch.dtype | None) -> None:
    """Hold the ViT's weights in ``dtype`` (half-precision inference).

    Under autocast alone every linear layer re-casts its fp32 weights on every call, which costs
    more than the bf16 matmul saves on a CPU; the backbone casts its input to its weights' dtype.
    """
    hf = getattr(getattr(model, "backbone", None), "model", None)
    if dtype is not None and isinstance(hf, torch.nn.Module):
        hf.to(dtype)


# Above this many patches ``predict.attention=auto`` leaves eager attention for SDPA on a CPU in
# bf16: between the 576 patches where eager won and the 3600 where SDPA did (crossover not
# measured).
CPU_EAGER_MAX_TOKENS = 1024


def use_inference_attention(
    model, device: torch.device, choice: str = "auto", dtype: torch.dtype | None = None
) -> str | None:
    """Pick the ViT backbone's attention kernel for inference on ``device``; returns the choice.

    ``auto``: on the CPU in bf16 (``dtype``), ``eager`` (matmul + softmax) for inputs of at most
    :data:`CPU_EAGER_MAX_TOKENS` patches and PyTorch's fused kernel (``sdpa``) above, decided at
    each call; ``sdpa`` everywhere else. Measured on ViT-S/16 at batch 8 (docs/benchmarks.md):
    in bf16 eager is 1.1x faster at 576 patches (288x512) and SDPA 1.5x faster at 3600
    (720x1280); in fp32 SDPA is 1.5x faster at 576. ``None`` when the model has no ViT backbone.
    """
    backbone = getattr(model, "backbone", None)
    if not hasattr(backbone, "set_attention"):
        return None
    if choice == "auto" and device.type == "cpu" and dtype == torch.bfloat16:
        backbone.set_attention("eager", eager_max_tokens=CPU_EAGER_MAX_TOKENS)
        return "eager"
    impl = choice if choice != "auto" else "sdpa"
    backbone.set_attention(impl)
    return impl


def prepare_for_inference(
    model,
    device: torch.device,
    dtype: torch.dtype | None = None,
    channels_last: bool = True,
    attention: str = "auto",
):
    """Set ``model`` up for inference on ``device`` the way ``tracknet predict`` runs it.

    Evaluation mode on ``device``; the ViT's weights held in ``dtype`` (``None`` or fp32: as
    they are; the rest then runs under autocast); the attention kernel for the device
    (:func:`use_inference_attention`); 4-D (convolution) weights in channels-last memory.
    Returns the model (changed in place).
    """
    model = model.to(device).eval()
    cast_backbone_weights(model, dtype if dtype != torch.float32 else None)
    use_inference_attention(model, device, attention, dtype)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model


class Predictor:
    """Runs a trained model over a stream of frames.

    Args:
        model: a :class:`tracknet.models.TrackNet` (or any model with ``frames``, ``encode`` and
            ``decode_window``; a plain single-frame model is called directly).
        codec: the :class:`tracknet.data.codec.HeatmapCodec` the model was trained with.
        cfg: batch size, device and precision settings.
    """

    def __init__(self, model, codec, cfg: PredictConfig | None = None):
        self.cfg = cfg or PredictConfig()
        self.device = resolve_device(self.cfg.device)
        self.autocast = self._autocast_dtype()
        self.model = prepare_for_inference(
            model, self.device, self.autocast, self.cfg.channels_last, self.cfg.attention
        )
        self.codec = codec
        self.frames = int(getattr(model, "frames", 1))
        self.batch_size = max(1, self.cfg.batch_size)
        if self.device.type == "cpu":
            keep_freed_memory()

    def _autocast_dtype(self) -> torch.dtype | None:
        if not self.cfg.half:
            return None
        if self.device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16

    def _amp(self):
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)

    # ------------------------------------------------------------------ batches
    def _prepare(self, frames: list[np.ndarray]) -> torch.Tensor:
        """RGB uint8 frames -> ``[N, 3, Hin, Win]`` in [0, 1] on the device."""
        batch = torch.from_numpy(np.stack(frames))  # [N, H, W, 3]
        if self.device.type == "cuda":
            batch = batch.pin_memory().to(self.device, non_blocking=True)
        return self.codec.resize_frames_torch(batch)

    @torch.inference_mode()
    def _decode_centres(self, tokens: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Windows ``[B, T, ...]`` -> logits of their centre frames ``[B, Hh, Wh]``."""
        with self._amp():
            logits = self.model.decode_window(tokens, images, select=self.frames // 2)
        return logits[:, 0].float()

    @torch.inference_mode()
    def _decode_all(self, tokens: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Windows ``[B, T, ...]`` -> probabilities of all their frames ``[B, T, Hh, Wh]``."""
        with self._amp():
            logits = self.model.decode_window(tokens, images)
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

    # ------------------------------------------------------------------ stream
    @torch.inference_mode()
    def run(
        self,
        frames: Iterable[tuple[int, np.ndarray | None]],
        frame_size: tuple[int, int],
        on_frame: Callable[[int], None] | None = None,
    ) -> Iterator[FramePrediction]:
        """Predict every frame of a stream.

        Args:
            frames: ``(index, rgb uint8 [H, W, 3] or None)`` in order; ``None`` marks a frame
                that could not be decoded (it gets a not-visible prediction with ``ok=False``).
            frame_size: ``(W, H)`` of the original frames.
            on_frame: called with the number of frames read so far (for progress bars).

        Yields:
            One :class:`FramePrediction` per input frame, in order.
        """
        t, centre = self.frames, self.frames // 2
        # Buffers of the frames whose window is not complete yet: index, ok, image, tokens.
        idx_buf: deque[int] = deque()
        ok_buf: deque[bool] = deque()
        img_buf: deque[torch.Tensor] = deque()
        tok_buf: deque[torch.Tensor] = deque()
        pending: list[tuple[int, np.ndarray | None]] = []
        last_good: np.ndarray | None = None
        emitted = 0  # position (in the stream) of the next frame to predict
        read = 0

        def flush_reads():
            nonlocal last_good
            arrays = []
            for _, img in pending:
                if img is not None:
                    last_good = img
                arrays.append(img if img is not None else last_good)
            if any(a is None for a in arrays):  # undecodable frames before any good one
                shape = next((a.shape for a in arrays if a is not None), None)
                if shape is None:
                    shape = (frame_size[1], frame_size[0], 3)
                arrays = [a if a is not None else np.zeros(shape, np.uint8) for a in arrays]
            images = self._prepare(arrays)
            with self._amp():
                tokens = self.model.encode(images)  # [n, Hp, Wp, C], once per frame
            for (i, img), im, tok in zip(pending, images, tokens, strict=True):
                idx_buf.append(i)
                ok_buf.append(img is not None)
                img_buf.append(im)
                tok_buf.append(tok)
            pending.clear()

        combine = self.cfg.combine == "weighted" and t > 1
        weights = self.window_weights()
        next_window = 0  # stream position of the centre of the next window to decode
        # combine: frame position -> [sum of weighted probabilities, sum of weights, index, ok]
        acc: dict[int, list] = {}

        def ready_windows(final: bool) -> list[tuple[int, list[int]]]:
            """(centre position, buffer positions) of the windows that can be decoded now."""
            base = read - len(idx_buf)  # stream position of idx_buf[0]
            out = []
            position = next_window
            while position < read:
                lo, hi = position - centre, position - centre + t - 1
                if hi >= read and not final:
                    break
                out.append((position, [min(max(p, 0), read - 1) - base for p in range(lo, hi + 1)]))
                position += 1
            return out

        def forget() -> None:
            """Drop the frames no window still to decode will need."""
            base = read - len(idx_buf)
            while idx_buf and base < next_window - centre:
                for buf in (idx_buf, ok_buf, img_buf, tok_buf):
                    buf.popleft()
                base += 1

        def decode(windows: list[tuple[int, list[int]]], final: bool) -> Iterator[FramePrediction]:
            nonlocal emitted, next_window
            for start in range(0, len(windows), self.batch_size):
                chunk = windows[start : start + self.batch_size]
                tokens = torch.stack([torch.stack([tok_buf[p] for p in w]) for _, w in chunk])
                images = torch.stack([torch.stack([img_buf[p] for p in w]) for _, w in chunk])
                if not combine:
                    logits = self._decode_centres(tokens, images)  # [b, Hh, Wh]
                    metas = [(idx_buf[w[centre]], ok_buf[w[centre]]) for _, w in chunk]
                    yield from self._predictions(logits, frame_size, metas)
                    emitted += len(chunk)
                    next_window += len(chunk)
                    continue
                probs = self._decode_all(tokens, images)  # [b, T, Hh, Wh]
                for j, (position, w) in enumerate(chunk):
                    for o in range(t):
                        frame = position - centre + o
                        if frame < emitted or frame >= read:  # a repeated edge frame
                            continue
                        entry = acc.get(frame)
                        if entry is None:
                            entry = acc[frame] = [0.0, 0.0, idx_buf[w[o]], ok_buf[w[o]]]
                        entry[0] = probs[j, o] * weights[o] + entry[0]
                        entry[1] += weights[o]
                next_window += len(chunk)
                # frame f has all its windows once the one centred at f + centre is decoded
                # (at the end of the stream, once the last window is decoded, every frame is)
                last = final and next_window >= read
                done = [f for f in sorted(acc) if f + centre < next_window or last]
                if done:
                    mean = torch.stack([acc[f][0] / acc[f][1] for f in done])
                    logits = torch.logit(mean, eps=1e-6)
                    metas = [(acc[f][2], acc[f][3]) for f in done]
                    for f in done:
                        del acc[f]
                    yield from self._predictions(logits, frame_size, metas)
                    emitted += len(done)
            forget()

        for index, image in frames:
            pending.append((index, image))
            read += 1
            if on_frame is not None:
                on_frame(read)
            if len(pending) >= self.batch_size:
                flush_reads()
                yield from decode(ready_windows(final=False), final=False)
        if pending:
            flush_reads()
        yield from decode(ready_windows(final=True), final=True)
