"""The background frame of a clip: the per-pixel median of frames spread over the whole clip.

TrackNetV3 gives its network such a median frame beside the frames: where the camera holds
still, the median shows the court and the players' usual places but not a ball that moves, so
``frame - background`` finds the ball even when it hardly moved between two frames (a shuttle
held for the serve, lying on the floor), where frame differences show nothing. The detail path
takes it with ``model.detail.background=true``
(:class:`tracknet.models.temporal.DetailPath`).

The same function makes it for training (:class:`tracknet.data.dataset.ClipWindowDataset`, from
the frames at model-input size) and for prediction (:func:`tracknet.infer.source.track_source`),
so both see the same picture.
"""

from __future__ import annotations

import numpy as np

BACKGROUND_SAMPLES = 48  # frames whose median makes a clip's background


def background_indices(count: int, samples: int = BACKGROUND_SAMPLES) -> np.ndarray:
    """``int64 [<= samples]``: frame indices spread evenly over ``count`` frames, in order.

    Every frame when the clip has ``samples`` frames or fewer; none for an empty clip.
    """
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if count <= samples:
        return np.arange(count, dtype=np.int64)
    # the centres of ``samples`` equal parts of the clip
    return ((np.arange(samples) + 0.5) * count / samples).astype(np.int64)


def median_background(frames: np.ndarray) -> np.ndarray:
    """``uint8 [N, H, W, C]`` frames -> their per-pixel median, ``uint8 [H, W, C]``.

    With an even ``N`` the lower of the two middle values is taken, so the result is always
    one of the frames' values (no rounding).
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) == 0:
        raise ValueError(f"expected frames [N, H, W, C] with N >= 1, got shape {frames.shape}")
    k = (len(frames) - 1) // 2
    return np.partition(frames, k, axis=0)[k].astype(np.uint8)
