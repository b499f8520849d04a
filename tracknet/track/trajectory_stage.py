"""The trajectory stage inside ``tracknet predict``: ``predict.trajectory`` applied to a track.

:func:`trajectory_params` turns the ``predict.trajectory`` block (given for 720-pixel-high frames
at 30 fps) into :class:`~tracknet.track.trajectory.TrajectoryParams` for one video, and
:func:`run_stage` runs :func:`~tracknet.track.trajectory.fit_trajectory` on the online tracker's
gated output of a whole video (before any ``predict.smooth``) and says what the track becomes:

- ``enabled``: detections the stage rejects as outliers are written as no ball (Visibility 0),
  so the ball CSV keeps only what the model saw AND a flight explains;
- ``fill`` (``fit`` or ``linear``; it applies the stage whatever ``enabled`` says): positions
  filled inside a flight are written too, with Visibility 1, and flagged (``Filled`` column of
  the ball CSV, ``Source`` of the details CSV), never passed off as detections;
- otherwise (:func:`stage_applies` false) the track is unchanged; the stage may still run
  (``events=True``, for ``--events`` or event scoring) without touching a position.

:func:`curve_speed` is the speed along the fitted flight at each frame (px/s), for the details CSV.
:func:`trajectory_of_csv` runs the stage on any tool's ball CSV; it needs one row per frame (a
frame without a row is unknown, and the stage will not guess it as "no ball").
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from tracknet.config import ConfigError, TrajectoryConfig
from tracknet.errors import DataError
from tracknet.io.labels import read_ball_csv
from tracknet.track.trajectory import Trajectory, TrajectoryParams, fit_trajectory

_PARAM_KEYS = tuple(
    f.name for f in dataclasses.fields(TrajectoryConfig) if f.name not in ("enabled",)
)


def trajectory_params(
    cfg: TrajectoryConfig, frame_height: float | None, fps: float, fill: bool = True
) -> TrajectoryParams:
    """The stage's settings for a video ``frame_height`` pixels high at ``fps``.

    Args:
        cfg: ``predict.trajectory``.
        frame_height: height of the original frames, pixels (None: 720).
        fps: the video's frame rate (a bad or unknown rate counts as 30).
        fill: use ``cfg.fill``; False: fill nothing.

    Raises:
        ConfigError: a setting the stage cannot use (the message names the key).
    """
    values = {k: getattr(cfg, k) for k in _PARAM_KEYS}
    if not fill:
        values["fill"] = "none"
    try:
        params = TrajectoryParams(**values)
    except ValueError as exc:
        raise ConfigError(f"config key 'predict.trajectory': {exc}") from exc
    height = float(frame_height) if frame_height and frame_height > 0 else 720.0
    return params.for_video(height, _usable_fps(fps))


def stage_applies(cfg: TrajectoryConfig) -> bool:
    """Whether the stage changes the written positions: ``enabled``, or a ``fill`` asked for."""
    return bool(cfg.enabled or cfg.fill != "none")


def _usable_fps(fps: float | None) -> float:
    return float(fps) if fps is not None and np.isfinite(fps) and fps > 0 else 30.0


def run_stage(
    frames: np.ndarray,
    visible: np.ndarray,
    xy: np.ndarray,
    score: np.ndarray | None,
    cfg: TrajectoryConfig,
    fps: float,
    frame_height: float | None,
) -> tuple[Trajectory, np.ndarray, np.ndarray]:
    """Fit the flights of one video's gated track; returns the trajectory and the new track.

    Args:
        frames: ``[N]`` frame numbers, increasing.
        visible: ``[N]`` the tracker's choice (non-zero = a ball).
        xy: ``[N, 2]`` original-frame pixels (ignored where not visible).
        score: ``[N]`` detection scores, or None (1 for every row).

        cfg: ``predict.trajectory``; when :func:`stage_applies` is false the stage runs without
            filling and the returned track is the input.
        fps, frame_height: the video's rate and frame height (the settings scale with them).

    Returns:
        ``(trajectory, visible [N] bool, xy [N, 2])``: when the stage applies, visible is the
        detected inliers plus (``fill``) the filled frames, xy 0 where not visible.
    """
    vis = np.asarray(visible).reshape(-1) != 0
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    applies = stage_applies(cfg)
    params = trajectory_params(cfg, frame_height, fps, fill=applies)
    traj = fit_trajectory(
        frames, vis, np.where(vis[:, None], pts, np.nan), score, _usable_fps(fps), params
    )
    if not applies:
        return traj, vis, pts
    keep = traj.visible | traj.filled
    return traj, keep, np.where(keep[:, None], np.nan_to_num(traj.xy), 0.0)


def curve_speed(traj: Trajectory) -> np.ndarray:
    """``float [N]`` speed along the fitted flight at each frame of a segment (px/s); NaN
    outside every segment."""
    out = np.full(len(traj.frames), np.nan)
    for seg in traj.segments:
        rows = np.flatnonzero(traj.segment == seg.id)
        if len(rows):
            v = seg.velocity(traj.frames[rows])
            out[rows] = np.hypot(v[:, 0], v[:, 1]) * traj.fps
    return out


def trajectory_of_csv(
    path: str | Path,
    fps: float = 30.0,
    frame_height: float = 720.0,
    cfg: TrajectoryConfig | None = None,
) -> Trajectory:
    """The trajectory stage on a ``Frame,Visibility,X,Y`` CSV of any tool (visibility > 0 is a
    detection; ``cfg.fill`` fills gaps).

    Raises:
        DataError: an unreadable file, fewer than 2 rows, or frames without a row between the
            first and the last (the message lists them).
    """
    labels = read_ball_csv(path)
    frames = np.asarray(labels.frame, dtype=np.int64)
    if len(frames) < 2:
        raise DataError(f"{path}: {len(frames)} usable row(s); a trajectory needs 2 or more")
    missing = np.setdiff1d(np.arange(frames[0], frames[-1] + 1), frames)
    if len(missing):
        shown = ", ".join(str(f) for f in missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise DataError(
            f"{path}: {len(missing)} frame(s) between {frames[0]} and {frames[-1]} have no row "
            f"({shown}); write one row per frame (Visibility 0 where there is no ball)"
        )
    xy = np.stack([labels.x, labels.y], axis=1).astype(np.float64)
    stage = cfg or TrajectoryConfig()
    traj, _, _ = run_stage(frames, labels.visibility > 0, xy, None, stage, fps, frame_height)
    return traj
