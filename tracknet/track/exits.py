"""The ball out of the picture through its top: detections there cannot be the ball.

In broadcast badminton (and in tennis lobs) the shuttle often flies out of the top of the
picture and comes back down through it a second or two later. While it is out, a heatmap model
still finds the most ball-like spot in the frame, a player's head, a racket, a shoe, and the
tracker takes it: on the held-out badminton clips most frames labelled "no ball" were of this
kind (docs/results.md). TrackNetV3's post-processing only refuses to *fill* a gap next to a
detection within 30 px of the top edge; :class:`TopExitGate` also refuses the candidates that
cannot be the ball while it is out, *before* the tracker sees them (so the tracker does not hold
a head and then gate out the shuttle coming back):

* when the track's last detections rise (y falls) and the last one lies within ``edge_px`` of
  the top edge, the next frame may only take a candidate within ``entry_px`` of the top edge (a
  rising ball cannot drop further than that in a frame);
* with none there, the ball has **left**: every frame is no ball (the trajectory stage may not
  fill it) and only candidates within ``entry_px`` of the top may end it (the ball comes back the
  way it left), or ``max_frames`` frames (a rally may end out of the picture; the next one
  starts anywhere).

Pixel values are for 720-pixel-high frames and scale with the video. Numpy only, used offline
(a second tracking pass over a whole video's candidates, like :mod:`tracknet.track.static`).
"""

from __future__ import annotations

import numpy as np


class TopExitGate:
    """Filters each frame's candidates before the tracker sees them; frame by frame, in order.

    Args:
        frame_height: the frames' height; the pixel values are for 720.
        edge_px: an exit's last detection lies this close to the top edge (or above it).
        entry_px: while the ball is out (or about to be), only candidates this close to the top.
        max_frames: the longest an exit lasts (frames).
        rise_span: the detections of the last ``rise_span`` frames must rise.
    """

    def __init__(
        self,
        frame_height: float = 720.0,
        edge_px: float = 30.0,
        entry_px: float = 60.0,
        max_frames: int = 90,
        rise_span: int = 6,
    ) -> None:
        if max_frames < 1:
            raise ValueError(f"max_frames must be at least 1, got {max_frames}")
        scale = float(frame_height) / 720.0
        self.edge, self.entry = edge_px * scale, entry_px * scale
        self.max_frames, self.rise_span = int(max_frames), int(rise_span)
        self._recent: list[tuple[int, float]] = []  # (frame, y) of the track's recent detections
        self._since = -1  # the frame the ball left; -1: in the picture

    def filter(self, index: int, candidates: np.ndarray) -> tuple[np.ndarray, bool]:
        """Frame ``index``'s candidates (``[K, 3]``: x, y, score; score 0 = none) with the ones
        that cannot be the ball zeroed, and whether the ball is out of the picture there."""
        cand = np.array(candidates, dtype=np.float64, copy=True).reshape(-1, 3)
        if self._since >= 0 and index - self._since >= self.max_frames:
            self._since, self._recent = -1, []
        self._recent = [(f, y) for f, y in self._recent if index - f <= self.rise_span]
        if self._since < 0 and not self._rising_at_the_top():
            return cand, False
        near = (cand[:, 1] <= self.entry) & (cand[:, 2] > 0)
        cand[~near, 2] = 0.0
        if near.any():  # still at the top, or back in
            self._since = -1
            return cand, False
        if self._since < 0:
            self._since, self._recent = index, []
        return cand, True

    def observe(self, index: int, visible: bool, y: float) -> None:
        """What the tracker made of frame ``index``."""
        if visible:
            self._recent.append((index, float(y)))

    def _rising_at_the_top(self) -> bool:
        if len(self._recent) < 2:
            return False
        ys = [y for _, y in self._recent]
        return ys[-1] <= self.edge and ys[-1] < ys[0] and ys[-1] <= ys[-2]
