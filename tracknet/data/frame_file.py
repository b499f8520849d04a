"""One frame cache file: a checksummed JSON header, ``uint8`` frames, a validity byte per frame.

The layout (all of it written by :func:`write_frame_file`, read by :func:`read_header` and
:class:`CachedFrames`):

* bytes ``0..4096``: :data:`MAGIC`, the length of a JSON header, the header's SHA-256, the
  header, zeros;
* ``num_frames`` frames of ``uint8 [H, W, 3]`` (the header's ``frame_shape``), frame ``i`` at
  ``4096 + i * H * W * 3``;
* ``num_frames`` bytes: 1 where the frame was decoded, 0 where it could not be (a damaged
  packet, a frame missing from the stream, an unreadable image).

What the header holds and when a file is stale is :mod:`tracknet.data.frame_cache`'s business;
here a file is only checked to be whole (magic, header checksum, byte size).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from tracknet.data.formats import Clip
from tracknet.errors import DataError

MAGIC = b"TNFRAMES"
HEADER_BYTES = 4096
_PREFIX = struct.Struct("<8sI32s")  # magic, JSON length, SHA-256 of the JSON


class CachedFrames:
    """A clip's cached frames: ``uint8 [N, H_in, W_in, 3]`` memory-mapped read-only."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        n = int(header["num_frames"])
        h, w = (int(v) for v in header["frame_shape"][:2])
        offset = int(header["data_offset"])
        self.frames = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(n, h, w, 3))
        valid_at = offset + n * h * w * 3
        self.valid = np.fromfile(path, dtype=np.uint8, count=n, offset=valid_at).astype(bool)

    def read(self, indices: np.ndarray, clip: Clip) -> np.ndarray:
        """``uint8 [T, H_in, W_in, 3]``: a copy of frames ``indices``.

        Raises:
            DataError: a frame could not be decoded when the cache was built (named as the
                decoding path names it).
        """
        indices = np.asarray(indices, dtype=np.int64)
        bad = indices[
            (indices >= len(self.valid)) | ~self.valid[np.minimum(indices, len(self.valid) - 1)]
        ]
        if len(bad):
            if clip.is_video:
                raise DataError(f"{clip.source}: frame(s) {bad.tolist()} could not be decoded")
            images = clip.source
            assert isinstance(images, list)  # not a video: its image files
            names = ", ".join(str(images[int(i)]) for i in bad)
            raise DataError(f"{names}: could not be decoded")
        first = int(indices[0])
        if np.array_equal(indices, np.arange(first, first + len(indices))):
            return np.array(self.frames[first : first + len(indices)])  # one contiguous copy
        return np.array(self.frames[indices])


def header_bytes(header: dict[str, Any]) -> bytes:
    text = json.dumps(header, sort_keys=True).encode("utf-8")
    prefix = _PREFIX.pack(MAGIC, len(text), hashlib.sha256(text).digest())
    if len(prefix) + len(text) > HEADER_BYTES:
        raise ValueError(f"frame cache header of {len(text)} bytes does not fit {HEADER_BYTES}")
    return (prefix + text).ljust(HEADER_BYTES, b"\0")


def read_header(path: Path) -> dict[str, Any]:
    """The JSON header of a cache file.

    Raises:
        ValueError: the file is too short, has another magic, or its header checksum is wrong.
    """
    with open(path, "rb") as fh:
        prefix = fh.read(HEADER_BYTES)
    if len(prefix) < _PREFIX.size:
        raise ValueError("shorter than its header")
    magic, length, digest = _PREFIX.unpack_from(prefix)
    if magic != MAGIC:
        raise ValueError("not a tracknet frame cache (bad magic)")
    text = prefix[_PREFIX.size : _PREFIX.size + length]
    if length > HEADER_BYTES - _PREFIX.size or hashlib.sha256(text).digest() != digest:
        raise ValueError("header checksum mismatch")
    return json.loads(text)


def expected_bytes(header: dict[str, Any]) -> int:
    """The size of a complete cache file with this header."""
    n = int(header["num_frames"])
    h, w, c = (int(v) for v in header["frame_shape"])
    return int(header["data_offset"]) + n * h * w * c + n


def write_frame_file(
    path: Path,
    header: dict[str, Any],
    frames: Iterable[tuple[int, np.ndarray]],
    on_frame: Callable[[int], Any] | None = None,
) -> np.ndarray:
    """Write a cache file of ``header["num_frames"]`` frames from ``(index, frame)`` pairs.

    Frames never given stay zero and are marked invalid. ``header`` needs ``num_frames``,
    ``frame_shape`` and ``data_offset`` (= :data:`HEADER_BYTES`). ``on_frame(1)`` is called
    after each frame (a progress bar). Returns the validity mask ``bool [num_frames]``.
    """
    n = int(header["num_frames"])
    frame_bytes = int(np.prod(header["frame_shape"]))
    valid = np.zeros(n, dtype=np.uint8)
    with open(path, "wb") as fh:
        fh.write(header_bytes(header))
        fh.truncate(HEADER_BYTES + n * frame_bytes)  # frames never written read as zeros
        for index, frame in frames:
            if frame.nbytes != frame_bytes:
                raise ValueError(f"frame {index} has {frame.nbytes} bytes, expected {frame_bytes}")
            fh.seek(HEADER_BYTES + index * frame_bytes)
            fh.write(np.ascontiguousarray(frame).data)
            valid[index] = 1
            if on_frame is not None:
                on_frame(1)
        fh.seek(HEADER_BYTES + n * frame_bytes)
        fh.write(valid.tobytes())
    return valid.astype(bool)
