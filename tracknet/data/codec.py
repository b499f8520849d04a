"""HeatmapCodec: the one place that knows the geometry between frames, model input and heatmaps.

Three pixel grids meet here:

* the ORIGINAL frame, ``frame_size = (W, H)`` (e.g. 1280x720): where labels and predictions live;
* the model INPUT, ``input_size = (W_in, H_in)`` (e.g. 512x288): the frame resized by
  :meth:`HeatmapCodec.resize_frame`, either stretched or letterboxed (uniform scale, centred
  zero padding);
* the HEATMAP, ``heatmap_size = (W_h, H_h)`` (e.g. 256x144): the model output, a stretch of the
  input grid.

Pixel convention (all grids): integer coordinates are pixel CENTRES, so pixel ``i`` covers
``[i - 0.5, i + 0.5)`` and an image of width ``W`` spans ``[-0.5, W - 0.5]``. Scaling a grid by
``s`` and shifting it by ``o`` whole target pixels maps ``x -> (x + 0.5) * s - 0.5 + o``. This is
the convention of Pillow's resize and of ``torch.nn.functional.interpolate(align_corners=False)``,
so the maps below agree with the resized pixels exactly.

Sizes are ``(W, H)`` in arguments (as in the configuration) and ``(H, W)`` in array shapes.
Every map works on numpy arrays and on torch tensors of shape ``[..., 2]`` (``x, y`` last).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from tracknet.data.blobs import blob_candidates

if TYPE_CHECKING:
    from tracknet.config import Config

RESIZE_MODES = ("stretch", "letterbox")
TARGET_SHAPES = ("gaussian", "disk")

ArrayLike = np.ndarray | torch.Tensor
SizeLike = Sequence[int] | np.ndarray | torch.Tensor


def heatmap_size_for_input(
    input_hw: tuple[Any, Any], ref_input_hw: Sequence[int], ref_heatmap_hw: Sequence[int]
) -> tuple[Any, Any]:
    """Heatmap ``(H, W)`` for an input of ``input_hw`` that keeps the configured ratio.

    ``ref_input_hw`` / ``ref_heatmap_hw`` are the configured input and heatmap sizes ``(H, W)``;
    any other input (a training crop, a user's resolution) gets the same input-to-heatmap ratio.
    Integer arithmetic, rounding half up, so it also works on the symbolic sizes of an ONNX
    export (``input_hw`` may be ints or traced sizes).
    """
    (h, w), (in_h, in_w), (hm_h, hm_w) = input_hw, ref_input_hw, ref_heatmap_hw
    return (2 * h * hm_h + in_h) // (2 * in_h), (2 * w * hm_w + in_w) // (2 * in_w)


@dataclass
class Detections:
    """Decoded heatmaps: the best blob and the ``K`` strongest candidates of each heatmap.

    Leading dimensions ``[...]`` are those of the decoded logits without ``(H_h, W_h)``.

    Attributes:
        visible: ``bool [...]``: some pixel's probability exceeds the threshold.
        xy: ``float [..., 2]``: centre of the best blob (0 where not visible).
        score: ``float [...]``: the PEAK probability of the best blob (0 where not visible). The
            best blob is the one with the largest summed probability ("mass"); its peak is the
            reported confidence, a number in ``[threshold, 1]`` comparable across heatmap sizes.
        candidates_xy: ``float [..., K, 2]``: centres of the ``K`` blobs of largest mass, in
            decreasing order of mass; candidate 0 is the best blob.
        candidates_score: ``float [..., K]``: their peak probabilities; 0 for missing blobs.
        candidates_mass: ``float [..., K]``: their summed probabilities (the sort key).
    """

    visible: torch.Tensor
    xy: torch.Tensor
    score: torch.Tensor
    candidates_xy: torch.Tensor
    candidates_score: torch.Tensor
    candidates_mass: torch.Tensor

    def numpy(self) -> Detections:
        """The same detections as numpy arrays (moved to the CPU)."""
        return Detections(**{f.name: getattr(self, f.name).cpu().numpy() for f in fields(self)})


# --------------------------------------------------------------------------- geometry helpers
def _is_torch(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def _float_dtype(device: torch.device) -> torch.dtype:
    # Exact integer sizes and rounding need float64, which Apple's MPS does not offer.
    return torch.float32 if device.type == "mps" else torch.float64


def _frame_affine(
    frame_size: SizeLike, input_size: tuple[int, int], mode: str
) -> tuple[Any, Any, Any, Any]:
    """Scale and offset ``(sx, sy, ox, oy)`` of the frame -> input map.

    ``u = (x + 0.5) * s - 0.5 + o``. Each value is a float array/tensor of the frame sizes'
    leading shape (``frame_size`` is ``(W, H)`` or an array/tensor ``[..., 2]``).
    """
    if _is_torch(frame_size):
        fs = frame_size.to(_float_dtype(frame_size.device))
        floor, minimum, maximum = torch.floor, torch.minimum, torch.maximum
    else:
        fs = np.asarray(frame_size, dtype=np.float64)
        floor, minimum, maximum = np.floor, np.minimum, np.maximum
    fw, fh = fs[..., 0], fs[..., 1]
    win, hin = float(input_size[0]), float(input_size[1])
    if mode == "stretch":
        return win / fw, hin / fh, fw * 0.0, fh * 0.0
    # Letterbox: one scale for both axes, the scaled frame rounded to whole pixels (as the
    # resized image is) and centred with whole-pixel padding.
    scale = minimum(win / fw, hin / fh)
    # at least one pixel: a very thin frame must not vanish (a division by zero below)
    scaled_w = maximum(floor(fw * scale + 0.5), fw * 0.0 + 1.0)
    scaled_h = maximum(floor(fh * scale + 0.5), fh * 0.0 + 1.0)
    return scaled_w / fw, scaled_h / fh, floor((win - scaled_w) / 2), floor((hin - scaled_h) / 2)


def _stack_like(a: Any, b: Any, like: ArrayLike) -> ArrayLike:
    """Stack two per-item values into ``[..., 2]`` on the backend, dtype and device of ``like``."""
    if _is_torch(like):
        a = torch.as_tensor(a, device=like.device)
        b = torch.as_tensor(b, device=like.device)
        return torch.stack(torch.broadcast_tensors(a, b), dim=-1).to(like.dtype)
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    return np.stack([a, b], axis=-1).astype(like.dtype, copy=False)


def _as_float(xy: ArrayLike) -> ArrayLike:
    if _is_torch(xy):
        return xy if xy.is_floating_point() else xy.float()
    xy = np.asarray(xy)
    return xy if np.issubdtype(xy.dtype, np.floating) else xy.astype(np.float64)


def _forward(xy: ArrayLike, scale: ArrayLike, offset: ArrayLike) -> ArrayLike:
    return (xy + 0.5) * scale - 0.5 + offset


def _backward(uv: ArrayLike, scale: ArrayLike, offset: ArrayLike) -> ArrayLike:
    return (uv + 0.5 - offset) / scale - 0.5


class HeatmapCodec:
    """Maps coordinates between frame, input and heatmap grids; renders and decodes heatmaps.

    Args:
        input_size: ``(W, H)`` of the model input.
        heatmap_size: ``(W, H)`` of the model output.
        sigma: standard deviation of the target Gaussian, in heatmap pixels (the radius of
            the disk for ``target="disk"``).
        threshold: probability above which a heatmap pixel belongs to a blob.
        resize: ``"stretch"`` (each axis scaled on its own) or ``"letterbox"`` (uniform scale,
            centred zero padding).
        target: ``"gaussian"`` (peak 1 at the ball) or ``"disk"`` (1 within ``sigma`` heatmap
            pixels of the ball, 0 elsewhere: TrackNetV2's binary target).
    """

    def __init__(
        self,
        input_size: Sequence[int] = (512, 288),
        heatmap_size: Sequence[int] = (256, 144),
        sigma: float = 2.5,
        threshold: float = 0.5,
        resize: str = "stretch",
        target: str = "gaussian",
    ) -> None:
        if target not in TARGET_SHAPES:
            raise ValueError(f"target must be one of {TARGET_SHAPES}, got {target!r}")
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = float(sigma)
        self.threshold = float(threshold)
        self.resize = resize
        self.target = target

    @classmethod
    def from_config(cls, cfg: Config) -> HeatmapCodec:
        """The codec of a configuration (model input/heatmap sizes, sigma, threshold, resize)."""
        return cls(
            input_size=cfg.model.input_size,
            heatmap_size=cfg.model.heatmap.size,
            sigma=cfg.model.heatmap.sigma,
            threshold=cfg.eval.threshold,
            resize=cfg.data.resize,
            target=cfg.model.heatmap.target,
        )

    def __repr__(self) -> str:
        shape = "" if self.target == "gaussian" else f", target={self.target!r}"
        return (
            f"HeatmapCodec(input_size={self.input_size}, heatmap_size={self.heatmap_size}, "
            f"sigma={self.sigma}, threshold={self.threshold}, resize={self.resize!r}{shape})"
        )

    # ------------------------------------------------------------------ grid sizes
    @property
    def stride(self) -> int:
        """Input pixels per heatmap pixel along x (``W_in // W_h``), e.g. 2 for 512 -> 256.

        Training crops are cut at multiples of it, so that the heatmap crop is exact.
        """
        return self.input_size[0] // self.heatmap_size[0]

    def heatmap_size_for(self, input_size: Sequence[int]) -> tuple[int, int]:
        """``(W, H)`` of the heatmap for an input of ``input_size`` ``(W, H)`` (a training crop,
        another resolution): the configured input-to-heatmap ratio kept, as the models do (see
        :func:`heatmap_size_for_input`)."""
        (iw, ih), (w, h) = self.input_size, (int(input_size[0]), int(input_size[1]))
        hh, hw = heatmap_size_for_input(
            (h, w), (ih, iw), (self.heatmap_size[1], self.heatmap_size[0])
        )
        return int(hw), int(hh)

    # ------------------------------------------------------------------ coordinate maps
    def _frame_scale_offset(self, xy: ArrayLike, frame_size: SizeLike):
        if _is_torch(xy) and not _is_torch(frame_size):
            frame_size = torch.as_tensor(np.asarray(frame_size), device=xy.device)
        elif not _is_torch(xy) and _is_torch(frame_size):
            frame_size = frame_size.detach().cpu().numpy()
        sx, sy, ox, oy = _frame_affine(frame_size, self.input_size, self.resize)
        return _stack_like(sx, sy, xy), _stack_like(ox, oy, xy)

    def _heatmap_scale(self, xy: ArrayLike) -> ArrayLike:
        (wi, hi), (wh, hh) = self.input_size, self.heatmap_size
        return _stack_like(wh / wi, hh / hi, xy)

    def frame_to_input(self, xy: ArrayLike, frame_size: SizeLike) -> ArrayLike:
        """Original-frame pixels -> model-input pixels.

        Args:
            xy: ``[..., 2]`` coordinates.
            frame_size: ``(W, H)``, or ``[..., 2]`` per item (broadcast against ``xy[..., 0]``).
        """
        xy = _as_float(xy)
        scale, offset = self._frame_scale_offset(xy, frame_size)
        return _forward(xy, scale, offset)

    def input_to_frame(self, xy: ArrayLike, frame_size: SizeLike) -> ArrayLike:
        """Model-input pixels -> original-frame pixels (inverse of :meth:`frame_to_input`)."""
        xy = _as_float(xy)
        scale, offset = self._frame_scale_offset(xy, frame_size)
        return _backward(xy, scale, offset)

    def input_to_heatmap(self, xy: ArrayLike) -> ArrayLike:
        """Model-input pixels -> heatmap pixels."""
        xy = _as_float(xy)
        return _forward(xy, self._heatmap_scale(xy), 0.0)

    def heatmap_to_input(self, xy: ArrayLike) -> ArrayLike:
        """Heatmap pixels -> model-input pixels."""
        xy = _as_float(xy)
        return _backward(xy, self._heatmap_scale(xy), 0.0)

    def frame_to_heatmap(self, xy: ArrayLike, frame_size: SizeLike) -> ArrayLike:
        """Original-frame pixels -> heatmap pixels."""
        return self.input_to_heatmap(self.frame_to_input(xy, frame_size))

    def heatmap_to_frame(self, xy: ArrayLike, frame_size: SizeLike) -> ArrayLike:
        """Heatmap pixels -> original-frame pixels."""
        return self.input_to_frame(self.heatmap_to_input(xy), frame_size)

    # ------------------------------------------------------------------ frames
    def scaled_size(self, frame_size: Sequence[int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """Where a frame lands in the input: ``((W, H) of the scaled frame, (left, top) pad)``."""
        sx, sy, ox, oy = _frame_affine(frame_size, self.input_size, self.resize)
        w, h = int(frame_size[0]), int(frame_size[1])
        return (round(float(sx) * w), round(float(sy) * h)), (int(ox), int(oy))

    def resize_frame(
        self, frame: np.ndarray, frame_size: Sequence[int] | None = None
    ) -> np.ndarray:
        """Resize one RGB frame to the model input (bilinear, antialiased).

        The same kernel as :meth:`resize_frames_torch` (PyTorch's antialiased bilinear, which
        follows Pillow's), on its fast uint8 CPU path: training and inference see alike pixels.

        Args:
            frame: ``uint8 [H, W, 3]``.
            frame_size: ``(W, H)`` of the ORIGINAL frame when ``frame`` was decoded at a reduced
                scale (JPEG draft mode); the geometry (letterbox rounding) follows the original.

        Returns:
            ``uint8 [H_in, W_in, 3]``.
        """
        h, w = frame.shape[:2]
        size = (w, h) if frame_size is None else (int(frame_size[0]), int(frame_size[1]))
        (sw, sh), (left, top) = self.scaled_size(size)
        if (w, h) != (sw, sh):
            x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None]
            # [1, 3, H, W] with channels-last strides: the layout of the fast uint8 kernel
            x = F.interpolate(x, size=(sh, sw), mode="bilinear", antialias=True)
            frame = x[0].permute(1, 2, 0).contiguous().numpy()  # [3, H, W] -> [H, W, 3]
        if (sw, sh) == self.input_size:
            return frame
        canvas = np.zeros((self.input_size[1], self.input_size[0], 3), dtype=np.uint8)
        canvas[top : top + sh, left : left + sw] = frame
        return canvas

    def resize_frames_torch(
        self,
        frames: torch.Tensor,
        frame_size: Sequence[int] | None = None,
        as_uint8: bool = False,
    ) -> torch.Tensor:
        """Resize a batch of frames to the model input, on the frames' device.

        Args:
            frames: ``uint8 [N, H, W, 3]`` (channels last, as decoded) or ``[N, 3, H, W]``;
                float frames are taken to be in ``[0, 1]`` already.
            frame_size: ``(W, H)`` of the ORIGINAL frames when these were decoded at a reduced
                scale; None: their own size.
            as_uint8: return ``uint8`` pixels instead (needs ``uint8`` frames): 4x less memory to
                move between processes or to a GPU.

        Returns:
            ``float32 [N, 3, H_in, W_in]`` in ``[0, 1]`` (or ``uint8`` in ``[0, 255]``).
        """
        if frames.ndim != 4:
            raise ValueError(f"expected frames [N, H, W, 3] or [N, 3, H, W], got {frames.shape}")
        if as_uint8 and frames.dtype != torch.uint8:
            raise ValueError(f"as_uint8 needs uint8 frames, got {frames.dtype}")
        if frames.shape[-1] == 3 and frames.shape[1] != 3:
            frames = frames.permute(0, 3, 1, 2)  # [N, H, W, 3] -> [N, 3, H, W] (a view)
        h, w = frames.shape[-2:]
        size = (w, h) if frame_size is None else (int(frame_size[0]), int(frame_size[1]))
        (sw, sh), (left, top) = self.scaled_size(size)
        # On the CPU, antialiased bilinear has a fast uint8 path (channels-last memory).
        fast_uint8 = frames.device.type == "cpu" and frames.dtype == torch.uint8
        x = frames if fast_uint8 else frames.float()
        if (w, h) != (sw, sh):
            x = x.contiguous(memory_format=torch.channels_last) if fast_uint8 else x
            x = F.interpolate(x, size=(sh, sw), mode="bilinear", antialias=True)
        if as_uint8:
            x = x if x.dtype == torch.uint8 else x.round_().clamp_(0, 255).to(torch.uint8)
        else:
            # Reorder to [N, 3, H, W] memory while still uint8 (4x less to move than float32).
            x = x.contiguous().float()
            if frames.dtype == torch.uint8:
                x = x.div_(255.0) if x.data_ptr() != frames.data_ptr() else x / 255.0
        if (sw, sh) != self.input_size:
            right, bottom = self.input_size[0] - sw - left, self.input_size[1] - sh - top
            x = F.pad(x, (left, right, top, bottom))
        return x.contiguous()

    # ------------------------------------------------------------------ encode
    def encode(
        self, xy: np.ndarray, visible: np.ndarray, frame_size: Sequence[int] | None = None
    ) -> np.ndarray:
        """Render target heatmaps: one Gaussian per visible position.

        The Gaussian (standard deviation ``sigma`` heatmap pixels) is centred on the sub-pixel
        position and scaled so that its largest pixel is exactly 1.0 (losses such as the focal
        loss need one pixel at 1 per ball); scaling does not move its centre. A centre outside the
        heatmap is rendered unscaled (only its tail shows). Invisible positions give all zeros.

        Args:
            xy: ``[..., 2]`` positions in pixels of a frame of ``frame_size``, or in model-input
                pixels when ``frame_size`` is None. Ignored (may be NaN) where not visible.
            visible: ``bool [...]``.
            frame_size: ``(W, H)`` or ``[..., 2]``, or None.

        Returns:
            ``float32 [..., H_h, W_h]``.
        """
        xy = np.asarray(xy, dtype=np.float64)
        visible = np.asarray(visible, dtype=bool)
        xy = np.where(visible[..., None], xy, 0.0)
        if frame_size is None:
            hxy = self.input_to_heatmap(xy)
        else:
            hxy = self.frame_to_heatmap(xy, frame_size)
        wh, hh = self.heatmap_size
        if self.target == "disk":
            return self._encode_disk(hxy, visible)
        two_var = 2.0 * self.sigma**2
        # Separable: [..., W_h] and [..., H_h] profiles, their outer product is the 2-D Gaussian.
        gx = np.exp(-((np.arange(wh) - hxy[..., 0:1]) ** 2) / two_var)
        gy = np.exp(-((np.arange(hh) - hxy[..., 1:2]) ** 2) / two_var)
        peak = gx.max(axis=-1) * gy.max(axis=-1)
        inside = (
            (hxy[..., 0] >= -0.5)
            & (hxy[..., 0] <= wh - 0.5)
            & (hxy[..., 1] >= -0.5)
            & (hxy[..., 1] <= hh - 0.5)
        )
        gain = np.where(inside, 1.0 / np.maximum(peak, 1e-300), 1.0) * visible
        # Profiles in float64, their product in float32 (the big array).
        profile_x = (gx * gain[..., None]).astype(np.float32)
        heat = gy.astype(np.float32)[..., :, None] * profile_x[..., None, :]
        # The peak pixel is exactly 1 in exact arithmetic; make it so after float32 rounding too.
        np.minimum(heat, 1.0, out=heat)
        flat = heat.reshape(-1, hh, wh)
        items = np.flatnonzero((inside & visible).reshape(-1))
        peak_row = gy.argmax(axis=-1).reshape(-1)[items]
        peak_col = gx.argmax(axis=-1).reshape(-1)[items]
        flat[items, peak_row, peak_col] = 1.0
        return heat

    def _encode_disk(self, hxy: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """1.0 on heatmap pixels within ``sigma`` of a visible position (TrackNetV2's target)."""
        wh, hh = self.heatmap_size
        dx2 = ((np.arange(wh) - hxy[..., 0:1]) ** 2).astype(np.float32)  # [..., W_h]
        dy2 = ((np.arange(hh) - hxy[..., 1:2]) ** 2).astype(np.float32)  # [..., H_h]
        inside = dy2[..., :, None] + dx2[..., None, :] <= np.float32(self.sigma**2)
        return (inside & visible[..., None, None]).astype(np.float32)

    # ------------------------------------------------------------------ decode
    def decode(
        self,
        logits: torch.Tensor,
        frame_size: SizeLike | None = None,
        top_k: int = 5,
    ) -> Detections:
        """Find the ball in heatmap logits: batched, on the logits' device.

        Steps: sigmoid; pixels with probability above ``threshold``; their 8-connected blobs; the
        blob of largest summed probability is the ball, its probability-weighted centroid the
        position. A blob cut by the heatmap border has a centroid biased towards the inside; along
        an axis where the blob touches the border, the position is instead the vertex of a
        parabola through the log-probabilities of three pixels at the blob's peak (exact for a
        Gaussian blob; the centroid is kept where they are not concave, e.g. a flat plateau).

        Args:
            logits: ``[..., H_h, W_h]``.
            frame_size: ``(W, H)`` or per-item ``[..., 2]``: positions in pixels of that frame;
                None: in model-input pixels.
            top_k: number of candidate blobs returned (``K >= 1``).

        Returns:
            :class:`Detections` with leading shape ``logits.shape[:-2]``.
        """
        if logits.ndim < 2:
            raise ValueError(f"logits must be [..., H, W], got shape {tuple(logits.shape)}")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        lead = logits.shape[:-2]
        hh, wh = logits.shape[-2:]
        flat = logits.detach().reshape(-1, hh, wh).float()  # [N, Hh, Wh]
        stats = blob_candidates(flat, self.threshold, top_k)
        hxy = stats.pop("xy")  # [N, K, 2] heatmap pixels
        if frame_size is None:
            cxy = self.heatmap_to_input(hxy)
        else:
            fs = frame_size
            if _is_torch(fs) or isinstance(fs, np.ndarray) and fs.ndim > 1:
                fs = torch.as_tensor(fs, device=flat.device).reshape(-1, 1, 2)  # [N, 1, 2]
            cxy = self.heatmap_to_frame(hxy, fs)
        cxy = self._inside(cxy, frame_size)
        cxy = torch.where(stats["mass"][..., None] > 0, cxy, torch.zeros_like(cxy))
        k = cxy.shape[1]
        return Detections(
            visible=(stats["mass"][:, 0] > 0).reshape(lead),
            xy=cxy[:, 0].reshape(*lead, 2),
            score=stats["peak"][:, 0].reshape(lead),
            candidates_xy=cxy.reshape(*lead, k, 2),
            candidates_score=stats["peak"].reshape(*lead, k),
            candidates_mass=stats["mass"].reshape(*lead, k),
        )

    def _inside(self, cxy: torch.Tensor, frame_size: SizeLike | None) -> torch.Tensor:
        """Clamp decoded ``[N, K, 2]`` positions to the picture, ``[-0.5, W - 0.5]`` (frame or
        input pixels; see the pixel convention above).

        A blob in letterbox padding, or a frame smaller than the heatmap, maps a little outside
        the picture; a position is always reported inside it.
        """
        if frame_size is None:
            size = torch.tensor(self.input_size, device=cxy.device, dtype=cxy.dtype)
        else:
            size = torch.as_tensor(
                np.asarray(frame_size) if not _is_torch(frame_size) else frame_size
            )
            size = size.to(device=cxy.device, dtype=cxy.dtype).reshape(-1, 1, 2)
        return torch.minimum(cxy.clamp(min=-0.5), size - 0.5)
