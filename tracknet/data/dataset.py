"""Training windows: ``T`` consecutive labelled frames of one clip, decoded lazily.

Only an index of windows is kept in memory (clip number, first frame); frames are read from disk
in ``__getitem__``, so memory does not grow with the size of the dataset. With a
:class:`~tracknet.data.frame_cache.FrameCache` (``data.cache``, on by default through
:meth:`ClipWindowDataset.from_config`) a window is a slice of the clip's memory-mapped frames,
decoded once at the input size; without one, JPEGs are decoded at reduced scale with Pillow's
draft mode and videos by random access. Both give the same pixels (the cache stores what
:meth:`HeatmapCodec.resize_frame` makes of the decoded frames).

Conventions of an item (the default collate stacks them into a batch):

* ``frames``: ``float32 [T, 3, H_in, W_in]`` in ``[0, 1]``, resized by the codec (and augmented);
* ``heatmaps``: ``float32 [T, H_h, W_h]`` rendered from the (augmented) input-pixel labels;
* ``visible``: ``bool [T]``, ``xy_input``: ``float32 [T, 2]``: the ball in the returned frames
  (model-input pixels, after augmentation; 0 where not visible);
* ``xy``: ``float32 [T, 2]``: the un-augmented truth in ORIGINAL-frame pixels (0 where the label
  is not visible), for evaluation;
* ``frame_size``: ``int64 [2]`` ``(W, H)`` of the original frames; ``clip``: the clip name;
  ``index``: ``int64 [T]`` frame numbers.

A window only spans labelled frames: frames whose label row was missing or skipped as bad are
never inside one.

:func:`load_split` is THE way to get the clips of one split of a configuration (read, split);
the training, validation and checkpoint evaluation all go through it, and take the geometry from
one :class:`~tracknet.data.codec.HeatmapCodec` built per run and handed down.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate, get_worker_info

from tracknet.data.background import background_indices, median_background
from tracknet.data.codec import HeatmapCodec
from tracknet.data.formats import Clip, is_visible, load_clips
from tracknet.data.frame_cache import CacheReport, FrameCache, build_caches, is_auto
from tracknet.data.splits import SPLITS, split_clips
from tracknet.errors import DataError, StorageError, UserError
from tracknet.io import image  # the module: tests count the calls of image.open_image
from tracknet.io.video.seek import read_frames
from tracknet.utils import log

if TYPE_CHECKING:
    from tracknet.config import Config
    from tracknet.data.transforms import WindowAugment

_FROM_CONFIG: Any = object()  # default of from_config(stride=...): take data.stride
_MAX_FALLBACKS = 8  # windows tried after one that cannot be decoded (non-strict)


def load_split(cfg: Config, split: str) -> list[Clip]:
    """The clips of one split of ``cfg.data``: read from ``data.root``, cut by ``data.split``.

    Args:
        cfg: the configuration (``data.root``, ``data.format``, ``data.strict``,
            ``data.visible_codes``, ``data.labels``, ``data.split``).
        split: ``train``, ``val`` or ``test``.

    Returns:
        The clips of that split (possibly none).

    Raises:
        UserError: an unknown split name.
        DataError: ``data.root`` is not set, or the dataset or its split cannot be read.
    """
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if not cfg.data.root:
        raise DataError("data.root is not set: point it at a dataset folder")
    clips = load_clips(
        cfg.data.root,
        cfg.data.format,
        strict=cfg.data.strict,
        visible_codes=tuple(cfg.data.visible_codes),
        labels=cfg.data.labels,
    )
    return split_clips(clips, cfg.data.split)[split]


def cache_dataset(cfg: Config, progress: bool | None = True) -> CacheReport:
    """Build the frame caches of every clip of ``cfg``'s dataset (all splits) at its geometry.

    What ``tracknet cache`` runs; training builds missing caches by itself
    (:meth:`ClipWindowDataset.from_config`). ``progress``: a progress bar per clip.
    """
    cache = FrameCache.from_config(cfg, HeatmapCodec.from_config(cfg))
    clips = [clip for split in SPLITS for clip in load_split(cfg, split)]
    return build_caches(cache, clips, progress=progress)


def prepare_cache(
    cfg: Config, codec: HeatmapCodec, clips: Sequence[Clip], split: str = ""
) -> FrameCache | None:
    """The frame cache ``data.cache`` asks for, with the caches of ``clips`` built.

    None when the cache is off, covers none of the clips, or the disk has no room for it (a
    warning says so: the clips are then decoded from their files).
    """
    cache = FrameCache.from_config(cfg, codec)
    if cache is None or not any(cache.covers(clip) for clip in clips):
        return None
    try:
        # an automatic cache takes at most half the free space; a folder the user named, all
        report = build_caches(cache, clips, max_share=0.5 if is_auto(cfg.data.cache) else 1.0)
    except StorageError as exc:  # no room: train from the files rather than stop
        log.warning("%s; decoding the clips instead", exc)
        return None
    log.info(
        "frame cache: %d %s clip(s) at %s (%d built in %.1f s), %.1f MiB",
        report.clips,
        split,
        report.directory,
        report.built,
        report.seconds,
        report.bytes / 2**20,
    )
    return cache


def window_starts(labelled: np.ndarray, length: int, stride: int) -> np.ndarray:
    """First frames of the windows of ``length`` consecutive labelled frames.

    Windows start at the beginning of each run of labelled frames and every ``stride`` frames
    after it, as long as they fit inside the run.
    """
    padded = np.concatenate([[False], labelled.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts = [
        np.arange(a, b - length + 1, stride) for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]
    return np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64)


class ClipWindowDataset(Dataset):
    """Windows of ``frames_per_clip`` consecutive labelled frames over a list of clips.

    Args:
        clips: the clips (usually one split of :func:`tracknet.data.formats.load_clips`).
        codec: the geometry (input/heatmap sizes, resize mode, sigma).
        frames_per_clip: window length ``T``.
        stride: frames between the starts of consecutive windows; None: ``T`` (back to back).
        augment: a :class:`tracknet.data.transforms.WindowAugment`; None: no augmentation.
        seed: seeds the augmentation draws of ``__getitem__`` (each DataLoader worker made by
            :func:`make_loader` reseeds its copy).
        visible_codes: visibility codes that count as a visible ball.
        strict: raise when a frame cannot be decoded; otherwise warn and use the next window.
        cache: read the frames from this frame cache (built per clip on first use when missing);
            None: decode them from the source files.
        background: items also carry ``background``, the clip's median frame at model-input
            size (:mod:`tracknet.data.background`), augmented and cropped like the frames.

    Attributes:
        uint8_frames: when True, items carry ``uint8 [T, 3, H_in, W_in]`` frames (and ``uint8
            [3, H_in, W_in]`` backgrounds) in ``[0, 255]`` (what :func:`make_loader`'s workers
            send, see :class:`WindowCollate`).
    """

    def __init__(
        self,
        clips: Sequence[Clip],
        codec: HeatmapCodec,
        frames_per_clip: int = 1,
        stride: int | None = 1,
        augment: WindowAugment | None = None,
        seed: int = 0,
        visible_codes: Sequence[int] = (1, 2),
        strict: bool = False,
        cache: FrameCache | None = None,
        background: bool = False,
    ) -> None:
        if frames_per_clip < 1:
            raise ValueError(f"frames_per_clip must be >= 1, got {frames_per_clip}")
        stride = frames_per_clip if stride is None else int(stride)
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.clips = list(clips)
        self.codec = codec
        self.frames_per_clip = int(frames_per_clip)
        self.stride = stride
        self.augment = augment
        self.visible_codes = tuple(int(c) for c in visible_codes)
        self.strict = strict
        self.cache = cache
        self.background = background
        self._backgrounds: dict[int, np.ndarray] = {}  # clip index -> uint8 [H_in, W_in, 3]
        self.uint8_frames = False
        self.reseed(seed)
        self._rows: list[np.ndarray] = []  # per clip: label row of each frame, -1 = unlabelled
        windows = []
        for i, clip in enumerate(self.clips):
            rows = np.full(clip.num_frames, -1, dtype=np.int64)
            inside = clip.labels.frame < clip.num_frames
            rows[clip.labels.frame[inside]] = np.flatnonzero(inside)
            self._rows.append(rows)
            starts = window_starts(rows >= 0, self.frames_per_clip, stride)
            windows.append(np.stack([np.full_like(starts, i), starts], axis=1))
        self.windows = np.concatenate(windows) if windows else np.zeros((0, 2), np.int64)

    @classmethod
    def from_config(
        cls,
        cfg: Config,
        split: str = "train",
        augment: WindowAugment | None = None,
        stride: int | None = _FROM_CONFIG,
        codec: HeatmapCodec | None = None,
    ) -> ClipWindowDataset:
        """The windows of one split of ``cfg.data`` (clips from :func:`load_split`).

        With ``data.cache`` on (``auto``, the default), the frame caches of the split's clips are
        built here when missing, before any DataLoader worker starts.

        Args:
            cfg: the configuration (``data.*``, ``model.frames``, ``train.seed``).
            split: ``train``, ``val`` or ``test``.
            augment: the augmentation, or None.
            stride: window stride; default ``data.stride``; None: back to back (validation).
            codec: the run's codec; None: ``HeatmapCodec.from_config(cfg)``.
        """
        clips = load_split(cfg, split)
        codec = HeatmapCodec.from_config(cfg) if codec is None else codec
        cache = prepare_cache(cfg, codec, clips, split)
        detail = cfg.model.detail
        dataset = cls(
            clips,
            codec,
            frames_per_clip=cfg.data.frames_per_clip or cfg.model.frames,
            stride=cfg.data.stride if stride is _FROM_CONFIG else stride,
            augment=augment,
            seed=cfg.train.seed,
            visible_codes=tuple(cfg.data.visible_codes),
            strict=cfg.data.strict,
            cache=cache,
            background=cfg.model.type == "vit" and detail.enabled and detail.background,
        )
        dataset.prepare_backgrounds()  # once here, not once per DataLoader worker
        return dataset

    def prepare_backgrounds(self) -> None:
        """Make the background of every clip now (no-op unless ``background`` is on)."""
        if self.background:
            for i in range(len(self.clips)):
                self._background(i)

    def reseed(self, seed: int) -> None:
        """Restart the augmentation draws of ``__getitem__`` from ``seed``."""
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.windows)

    def __repr__(self) -> str:
        return (
            f"ClipWindowDataset({len(self.clips)} clips, {len(self)} windows of "
            f"{self.frames_per_clip} frames, stride {self.stride}, augment={self.augment is not None}, "
            f"cache={self.cache!r})"
        )

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.get(index, self._rng if self.augment is not None else None)

    def get(self, index: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Window ``index``, augmented with draws from ``rng`` (when augmentation is on).

        A window whose frames cannot be decoded raises :class:`DataError` when strict; otherwise
        a warning names the file and the next window is returned instead.
        """
        for attempt in range(_MAX_FALLBACKS + 1):
            try:
                return self._load((int(index) + attempt) % len(self), rng)
            except DataError as exc:
                if self.strict or attempt == _MAX_FALLBACKS:
                    raise
                log.warning("%s; using the next window instead", exc)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ loading
    def _decode(self, clip: Clip, frames: np.ndarray) -> np.ndarray:
        """``uint8 [T, H, W, 3]``: the frames as decoded (JPEGs possibly at reduced scale)."""
        if clip.is_video:
            return read_frames(clip.source, frames.tolist())
        # Draft mode decodes a JPEG at 1/2, 1/4 or 1/8 scale, never below the target size.
        target, _ = self.codec.scaled_size(clip.frame_size)
        return np.stack([image.open_image(clip.source[f], target_size=target) for f in frames])

    def _cached(self, clip: Clip, frames: np.ndarray) -> np.ndarray | None:
        """``uint8 [T, H_in, W_in, 3]`` from the frame cache, or None (no cache, or unwritable)."""
        if self.cache is None or not self.cache.covers(clip):
            return None
        cached = self.cache.frames(clip)
        return None if cached is None else cached.read(frames, clip)

    def _resized(self, clip: Clip, frames: np.ndarray) -> np.ndarray:
        """``uint8 [N, H_in, W_in, 3]``: frames at model-input size (frame cache or decoding)."""
        resized = self._cached(clip, frames)
        if resized is not None:
            return resized
        decoded = torch.from_numpy(self._decode(clip, frames))
        tensor = self.codec.resize_frames_torch(decoded, clip.frame_size, as_uint8=True)
        return tensor.permute(0, 2, 3, 1).contiguous().numpy()

    def _background(self, clip_index: int) -> np.ndarray:
        """``uint8 [H_in, W_in, 3]``: the clip's median frame (made on first use)."""
        bg = self._backgrounds.get(clip_index)
        if bg is None:
            clip = self.clips[clip_index]
            bg = median_background(self._resized(clip, background_indices(clip.num_frames)))
            self._backgrounds[clip_index] = bg
        return bg

    def _load(self, index: int, rng: np.random.Generator | None) -> dict[str, Any]:
        clip_index, start = (int(v) for v in self.windows[index])
        clip = self.clips[clip_index]
        frames = np.arange(start, start + self.frames_per_clip)
        rows = self._rows[clip_index][frames]
        labels = clip.labels
        visible = is_visible(labels.visibility[rows], self.visible_codes)
        xy = np.stack([labels.x[rows], labels.y[rows]], axis=1).astype(np.float64)
        xy[~visible] = 0.0
        xy_input = self.codec.frame_to_input(xy, clip.frame_size)
        resized = self._cached(clip, frames)  # uint8 [T, H_in, W_in, 3], or None: decode
        decoded = self._decode(clip, frames) if resized is None else None
        background = None
        if self.augment is not None and rng is not None:
            # The augmentation works on uint8 [T, H_in, W_in, 3] with input-pixel labels.
            if resized is None:
                resized = np.stack([self.codec.resize_frame(im, clip.frame_size) for im in decoded])
            if self.background:  # one more frame of the window: the same warp and colours
                resized = np.concatenate([resized, self._background(clip_index)[None]])
                xy_input = np.concatenate([xy_input, np.zeros((1, 2))])
                visible = np.concatenate([visible, [False]])
            images, xy_input, visible_in = self.augment(resized, xy_input, visible.copy(), rng)
            pixels = torch.from_numpy(np.ascontiguousarray(images))
            inputs = pixels.permute(0, 3, 1, 2).contiguous()  # [T(+1), 3, H_in, W_in] uint8
            if self.background:
                inputs, background = inputs[:-1], inputs[-1]
                xy_input, visible_in, visible = xy_input[:-1], visible_in[:-1], visible[:-1]
        else:
            visible_in = visible
            if resized is not None:  # the cache holds exactly what resize_frames_torch makes
                inputs = torch.from_numpy(resized).permute(0, 3, 1, 2).contiguous()
            else:
                inputs = self.codec.resize_frames_torch(
                    torch.from_numpy(decoded), clip.frame_size, as_uint8=True
                )
        if self.background and background is None:
            background = torch.from_numpy(self._background(clip_index)).permute(2, 0, 1)
        if not self.uint8_frames:
            inputs = inputs.float().div_(255.0)
            if background is not None:
                background = background.float().div_(255.0)
        visible_in = np.asarray(visible_in, dtype=bool)
        xy_input = np.where(visible_in[:, None], xy_input, 0.0)
        item = {
            "frames": inputs,
            "heatmaps": torch.from_numpy(self.codec.encode(xy_input, visible_in)),
            "visible": torch.from_numpy(visible_in.copy()),
            "xy": torch.from_numpy(xy.astype(np.float32)),
            "xy_input": torch.from_numpy(xy_input.astype(np.float32)),
            "frame_size": torch.tensor(clip.frame_size, dtype=torch.int64),
            "clip": clip.name,
            "index": torch.from_numpy(frames.astype(np.int64)),
        }
        if background is not None:
            item["background"] = background.contiguous()  # [3, H_in, W_in]
        return item


# --------------------------------------------------------------------------- loaders
def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed numpy, ``random`` and the dataset copy per worker.

    PyTorch gives each worker the seed ``base_seed + worker_id``, where ``base_seed`` comes from
    the loader's generator, so a seeded loader reproduces every worker's draws.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
    info = get_worker_info()
    if info is not None and hasattr(info.dataset, "reseed"):
        info.dataset.reseed(seed)


def _shared_float_tensor(shape: tuple[int, ...]) -> torch.Tensor:
    """An uninitialised float32 tensor, in shared memory when inside a DataLoader worker.

    Filling it in place spares the copy a worker otherwise makes to send a batch (what PyTorch's
    default collate does too).
    """
    if get_worker_info() is None:
        return torch.empty(shape, dtype=torch.float32)
    proto = torch.empty(0, dtype=torch.float32)
    storage = proto._typed_storage()._new_shared(math.prod(shape))
    return proto.new(storage).view(shape)


class WindowCollate:
    """Collate for :class:`ClipWindowDataset` items carrying ``uint8`` frames.

    Frames become ``float32 [B, T, 3, H, W]`` in ``[0, 1]`` (backgrounds ``[B, 3, H, W]``),
    converted straight into the batch's shared-memory buffer in one pass. Sending uint8 items and converting here is about 1.5x
    faster on two cores than converting each item to float32 first (4x the bytes, one more copy).
    With ``frames_as_uint8`` the frames stay ``uint8`` (for callers converting on a GPU).
    """

    def __init__(self, frames_as_uint8: bool = False) -> None:
        self.frames_as_uint8 = frames_as_uint8

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        images = [k for k in _IMAGE_KEYS if k in items[0]]
        batch = default_collate([{k: v for k, v in it.items() if k not in images} for it in items])
        for key in images:
            batch[key] = self._images([item[key] for item in items])
        return batch

    def _images(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        if self.frames_as_uint8 or tensors[0].dtype != torch.uint8:
            return default_collate(tensors)
        out = _shared_float_tensor((len(tensors), *tensors[0].shape))
        for i, window in enumerate(tensors):
            torch.div(window, 255.0, out=out[i])  # uint8 -> float32 in the same pass
        return out


_IMAGE_KEYS = ("frames", "background")  # the items' pictures: uint8 from the workers


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = True,
    num_workers: int = 2,
    seed: int = 0,
    drop_last: bool = False,
    prefetch_factor: int = 4,
    frames_as_uint8: bool = False,
) -> DataLoader:
    """A reproducible DataLoader: seeded order and per-worker seeds, persistent workers.

    Pinned memory is used when CUDA is available. For a :class:`ClipWindowDataset`, items travel
    with uint8 frames and :class:`WindowCollate` makes the float32 batch (``frames_as_uint8=True``
    keeps uint8 frames); ``dataset`` itself is not modified.
    """
    workers = max(0, int(num_workers))
    collate = None
    if isinstance(dataset, ClipWindowDataset):
        dataset = copy.copy(dataset)
        dataset.uint8_frames = True
        collate = WindowCollate(frames_as_uint8)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=workers,
        collate_fn=collate,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(int(seed)),
        worker_init_fn=seed_worker,
        drop_last=drop_last,
        prefetch_factor=prefetch_factor if workers > 0 else None,
    )
