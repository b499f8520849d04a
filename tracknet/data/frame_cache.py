"""Frame cache: each clip decoded once, in order, at the model input size, then memory-mapped.

Reading a training window from an H.264 video means seeking to the keyframe before it and
decoding forward; broadcast clips have a keyframe every few seconds, so every window decodes
dozens of frames. The cache decodes each clip once, sequentially, resizes every frame with the
run's :meth:`HeatmapCodec.resize_frame <tracknet.data.codec.HeatmapCodec.resize_frame>` (so the
cached pixels are exactly those the dataset would produce) and stores them as ``uint8`` in one
file per clip; windows are then slices of a read-only memory map.

One file per clip and input geometry, ``<clip>-<W>x<H>-<resize>.frames`` (in a folder shared by
several datasets the clip name is followed by a hash of the source's absolute path), in the
format of :mod:`tracknet.data.frame_file` (a checksummed JSON header, the frames, a byte per
frame saying whether it decoded).

The header records the key: the source's size and modification time in nanoseconds (for an image
folder a digest of every file's name, size and time), the original frame size and frame count,
the input size, the resize mode and :data:`CACHE_VERSION`. A file whose key differs is rebuilt;
one whose magic, header checksum or byte size is wrong is reported as damaged and rebuilt. A
build writes a temporary file and renames it when complete (:func:`tracknet.utils.atomic_path`),
so a killed build leaves no half cache, and holds a lock file meanwhile, so two DataLoader
workers (or two ranks) never build the same clip twice.

Which clips: videos; image folders too with ``data.cache_images`` (JPEGs decoded in draft mode
are fast already: the cache saves the DataLoader workers about 3 ms of CPU a frame, but costs
about 3.7x the JPEGs' disk space at 512x288).

Where: ``data.cache`` = ``auto`` (``<data.root>/.tracknet_cache/`` when it can be written, else
``$XDG_CACHE_HOME/tracknet/frames`` or ``~/.cache/tracknet/frames``), ``off``, or a folder.
Nothing here holds frames in memory: a memory map is opened by the process that reads it (each
DataLoader worker its own, up to 128 at a time), and the page cache does the rest.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm import tqdm

from tracknet.data.codec import HeatmapCodec
from tracknet.data.formats import Clip
from tracknet.data.frame_file import (
    HEADER_BYTES,
    CachedFrames,
    expected_bytes,
    read_header,
    write_frame_file,
)
from tracknet.errors import DataError, StorageError
from tracknet.io.image import open_image
from tracknet.io.video.reader import VideoReader
from tracknet.utils import atomic_path, log, make_dirs, remove_stale_temporaries, storage_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: builds are not locked against each other
    fcntl = None

if TYPE_CHECKING:
    from tracknet.config import Config

CACHE_VERSION = 1
SUFFIX = ".frames"
DIR_NAME = ".tracknet_cache"
_OFF = ("off", "false", "no", "none", "")
_AUTO = ("auto", "on", "true", "yes")
_OPEN_LIMIT = 128  # memory maps a process keeps open (least recently used closed first)
_KEEP_FREE = 2**30  # bytes left free on the disk after building


def cache_dir(setting: str, root: str | Path) -> Path | None:
    """The cache folder ``data.cache`` names for a dataset at ``root`` (None: ``off``).

    ``off`` (also ``false``, ``no``, ``none``, empty: YAML reads a bare ``off`` as false) and
    ``auto`` (also ``true``, ``on``, ``yes``) are keywords; anything else is a folder.
    ``auto``: ``<root>/.tracknet_cache`` when it (or, before it exists, ``root``) is writable, else the
    user's cache folder (``$XDG_CACHE_HOME/tracknet/frames``, default ``~/.cache/...``).
    """
    setting = str(setting).strip()
    if setting.lower() in _OFF:
        return None
    if setting.lower() not in _AUTO:
        return Path(setting).expanduser()
    beside = Path(root) / DIR_NAME
    writable = beside if beside.is_dir() else Path(root)  # made when a clip is first built
    if writable.is_dir() and os.access(writable, os.W_OK | os.X_OK):
        return beside
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tracknet" / "frames"


def is_auto(setting: str) -> bool:
    """Whether ``data.cache`` asks for the automatic cache (not off, not a named folder)."""
    return str(setting).strip().lower() in _AUTO


def source_key(clip: Clip) -> dict[str, Any]:
    """What identifies the frames of ``clip`` on disk: size and mtime_ns of its file(s).

    Not the path: a dataset moved with its ``.tracknet_cache`` (``mv``, ``cp -a``, ``rsync -a``
    keep modification times) keeps its caches.
    """
    if clip.is_video:
        st = Path(clip.source).stat()
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    digest = hashlib.sha256()
    total = 0
    for path in clip.source:
        st = path.stat()
        total += st.st_size
        digest.update(f"{path.name}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return {"files": len(clip.source), "size": total, "digest": digest.hexdigest()}


@dataclass(frozen=True)
class CacheEntry:
    """One clip's cache file as found on disk: ``status`` is ``ok``, ``missing``, ``stale`` or
    ``damaged`` (``reason`` says why)."""

    path: Path
    status: str
    reason: str = ""
    header: dict[str, Any] | None = None


class FrameCache:
    """The frame caches of one geometry (a codec) in one folder.

    Args:
        directory: the cache folder (made when a clip is first built).
        codec: the run's codec: input size and resize mode of the cached frames.
        images: cache image-folder clips too (otherwise only videos; see :meth:`covers`).
        shared: the folder may hold the caches of several datasets, so file names carry a hash
            of the source's absolute path; False for ``<data.root>/.tracknet_cache``, where the
            clip name is unique and the dataset can be moved with its cache.

    A process opens each clip's memory map on first use and keeps up to 128 open; a pickled
    copy (a spawned DataLoader worker) starts with none open.
    """

    def __init__(
        self, directory: str | Path, codec: HeatmapCodec, images: bool = False, shared: bool = True
    ) -> None:
        self.directory = Path(directory)
        self.codec = codec
        self.images = images
        self.shared = shared
        self._open: OrderedDict[str, CachedFrames] = OrderedDict()
        self._failed: dict[str, DataError] = {}
        self._unwritable = False

    @classmethod
    def from_config(cls, cfg: Config, codec: HeatmapCodec) -> FrameCache | None:
        """The cache ``data.cache`` names for ``data.root`` at ``codec``'s geometry, or None."""
        directory = cache_dir(cfg.data.cache, cfg.data.root)
        if directory is None:
            return None
        shared = directory != Path(cfg.data.root) / DIR_NAME
        return cls(directory, codec, images=cfg.data.cache_images, shared=shared)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_open"] = OrderedDict()  # memory maps are opened again by whoever reads
        return state

    def __repr__(self) -> str:
        w, h = self.codec.input_size
        return f"FrameCache({str(self.directory)!r}, {w}x{h}, {self.codec.resize})"

    # ------------------------------------------------------------------ naming and keys
    def covers(self, clip: Clip) -> bool:
        """Whether ``clip``'s frames are read from this cache (videos; images when asked)."""
        return clip.is_video or self.images

    def bytes_for(self, clip: Clip) -> int:
        """Size of ``clip``'s cache file."""
        w, h = self.codec.input_size
        return HEADER_BYTES + int(clip.num_frames) * (w * h * 3 + 1)

    def path_for(self, clip: Clip) -> Path:
        """The cache file of ``clip`` at this geometry."""
        w, h = self.codec.input_size
        name = clip.name.replace("/", "__") or "clip"
        if self.shared:
            source = clip.source if clip.is_video else Path(clip.source[0]).parent
            name += "-" + hashlib.sha1(str(Path(source).resolve()).encode()).hexdigest()[:10]
        return self.directory / f"{name}-{w}x{h}-{self.codec.resize}{SUFFIX}"

    def key_for(self, clip: Clip) -> dict[str, Any]:
        """The header fields a valid cache of ``clip`` must have."""
        w, h = self.codec.input_size
        return {
            "version": CACHE_VERSION,
            "source": source_key(clip),
            "frame_size": [int(v) for v in clip.frame_size],
            "num_frames": int(clip.num_frames),
            "input_size": [int(w), int(h)],
            "resize": self.codec.resize,
            "frame_shape": [int(h), int(w), 3],
            "data_offset": HEADER_BYTES,
        }

    def check(self, clip: Clip) -> CacheEntry:
        """Whether ``clip``'s cache file is there, complete and made from the current source."""
        path = self.path_for(clip)
        if not path.is_file():
            return CacheEntry(path, "missing")
        try:
            header = read_header(path)
            size = path.stat().st_size
            if size != expected_bytes(header):
                return CacheEntry(
                    path, "damaged", f"{size} bytes, expected {expected_bytes(header)}"
                )
        except (ValueError, KeyError, TypeError, OSError) as exc:
            return CacheEntry(path, "damaged", str(exc))
        expected = self.key_for(clip)
        changed = [k for k, v in expected.items() if header.get(k) != v]
        if changed:
            return CacheEntry(path, "stale", f"{', '.join(changed)} changed", header)
        return CacheEntry(path, "ok", header=header)

    # ------------------------------------------------------------------ building
    def ensure(self, clip: Clip, progress: bool | None = False) -> tuple[CacheEntry, bool]:
        """Build ``clip``'s cache unless a valid one exists; returns ``(entry, built)``.

        ``progress``: show a progress bar over the clip's frames (None: only on a terminal).

        Raises:
            DataError: the source cannot be opened at all.
            StorageError: the cache file cannot be written (disk full, read-only...).
        """
        entry = self.check(clip)
        if entry.status == "ok":
            return entry, False
        make_dirs(self.directory)
        with _locked(entry.path.with_name(entry.path.name + ".lock")):
            entry = self.check(clip)  # another process may have built it meanwhile
            if entry.status == "ok":
                return entry, False
            if entry.status == "damaged":
                log.warning(
                    "frame cache %s is damaged (%s); rebuilding it", entry.path, entry.reason
                )
            elif entry.status == "stale":
                log.info(
                    "frame cache %s is out of date (%s); rebuilding it", entry.path, entry.reason
                )
            remove_stale_temporaries(self.directory, [entry.path.name])
            self._build(clip, entry.path, progress)
        return self.check(clip), True

    def _build(self, clip: Clip, path: Path, progress: bool | None) -> None:
        n = int(clip.num_frames)
        bar = tqdm(
            total=n,
            desc=clip.name,
            unit="frame",
            leave=False,
            disable=None if progress is None else not progress,
        )
        with bar, _one_torch_thread(), atomic_path(path) as tmp:
            frames = self._resized_frames(clip)
            valid = write_frame_file(tmp, self.key_for(clip), frames, on_frame=bar.update)
        lost = n - int(valid.sum())
        if lost:
            log.warning(
                "%s: %d of %d frame(s) could not be decoded for the cache",
                clip.source if clip.is_video else clip.name,
                lost,
                n,
            )

    def _resized_frames(self, clip: Clip) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, uint8 [H_in, W_in, 3])`` of every frame that decodes, in order."""
        if clip.is_video:
            with VideoReader(clip.source, warn=False) as reader:
                for index, frame in reader:
                    if index >= clip.num_frames:
                        break
                    yield index, self.codec.resize_frame(frame, clip.frame_size)
            return
        target, _ = self.codec.scaled_size(clip.frame_size)
        for index, path in enumerate(clip.source):
            try:
                image = open_image(path, target_size=target)
            except DataError as exc:
                log.warning("%s", exc)
                continue
            yield index, self.codec.resize_frame(image, clip.frame_size)

    # ------------------------------------------------------------------ reading
    def frames(self, clip: Clip) -> CachedFrames | None:
        """``clip``'s cached frames, built first when missing, stale or damaged.

        Returns None when the cache cannot be written (warned once; the caller decodes instead).

        Raises:
            DataError: the source cannot be opened (raised again on later calls, not retried).
        """
        source = clip.source if clip.is_video else clip.source[0]
        key = f"{clip.name}\0{source}"  # no file system call per window
        cached = self._open.get(key)
        if cached is not None:
            self._open.move_to_end(key)
            return cached
        if key in self._failed:
            raise self._failed[key]
        if self._unwritable:
            return None
        try:
            entry, _ = self.ensure(clip)
        except DataError as exc:
            self._failed[key] = exc
            raise
        except OSError as exc:  # a StorageError (disk full, read-only...) or a lock refused
            log.warning("frame cache off: %s; decoding the clips instead", storage_error(exc))
            self._unwritable = True
            return None
        cached = CachedFrames(entry.path, entry.header or {})
        self._open[key] = cached
        while len(self._open) > _OPEN_LIMIT:
            self._open.popitem(last=False)
        return cached


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Resize with one torch thread: beside FFmpeg's decoding threads, more threads only contend
    (measured on 2 cores: 160 frames/s with one thread, 57 with two)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created when missing) for the block."""
    with open(path, "a+b") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- whole datasets
@dataclass(frozen=True)
class CacheReport:
    """What :func:`build_caches` did: clips checked, built and failed; where; bytes on disk (of
    these clips' files, and of the whole folder, which may hold other geometries)."""

    directory: Path | None
    clips: int
    built: int
    failed: list[str]
    bytes: int
    folder_bytes: int
    seconds: float
    built_frames: int = 0


def cache_size(directory: Path) -> int:
    """Bytes of the complete cache files in ``directory``."""
    if not directory.is_dir():
        return 0
    return sum(p.stat().st_size for p in directory.glob(f"*{SUFFIX}") if p.is_file())


def build_caches(
    cache: FrameCache | None,
    clips: Sequence[Clip],
    progress: bool | None = None,
    keep_free: int = _KEEP_FREE,
    max_share: float = 1.0,
) -> CacheReport:
    """Make sure every clip the cache covers has a valid cache (building missing ones in turn).

    A clip whose source cannot be opened is warned about and listed in ``failed``.

    ``max_share`` caps the missing caches at that share of the disk's free space (training's
    ``data.cache=auto`` takes at most half of it, so an unasked-for cache never fills a disk).

    Raises:
        StorageError: the missing caches would leave less than ``keep_free`` bytes free on the
            disk, or take more than ``max_share`` of its free space (nothing is built then), or
            a cache file cannot be written.
    """
    start = time.perf_counter()
    if cache is None:
        return CacheReport(None, 0, 0, [], 0, 0, 0.0)
    covered = [clip for clip in clips if cache.covers(clip)]
    needed = sum(cache.bytes_for(c) for c in covered if cache.check(c).status != "ok")
    _check_space(cache.directory, needed, keep_free, max_share)
    built, built_frames, failed, size = 0, 0, [], 0
    for clip in covered:
        try:
            entry, made = cache.ensure(clip, progress=progress)
        except DataError as exc:
            log.warning("%s; not cached", exc)
            failed.append(clip.name)
            continue
        built += made
        built_frames += clip.num_frames if made else 0
        size += entry.path.stat().st_size
    seconds = time.perf_counter() - start
    folder = cache_size(cache.directory)
    return CacheReport(
        cache.directory, len(covered), built, failed, size, folder, seconds, built_frames
    )


def _check_space(directory: Path, needed: int, keep_free: int, max_share: float = 1.0) -> None:
    """Raise StorageError when writing ``needed`` bytes would leave less than ``keep_free``
    free, or take more than ``max_share`` of the free space."""
    if needed <= 0:
        return
    existing = directory
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if needed > free - keep_free or needed > max_share * free:
        error = StorageError(
            f"the frame cache needs {needed / 2**30:.1f} GiB at {directory} and only "
            f"{free / 2**30:.1f} GiB are free; set data.cache to a folder on a bigger disk, "
            "a smaller model.input_size, or data.cache=off"
        )
        error.errno = errno.ENOSPC
        raise error
