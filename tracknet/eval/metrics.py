"""Frame-level detection metrics of the ball-tracking papers, on plain numpy arrays.

Every frame is one of five outcomes, comparing a prediction ``(visible, x, y)`` with the truth:

- ``TP``: both visible and the distance is within the tolerance,
- ``FP1``: both visible but the distance is beyond the tolerance,
- ``FP2``: predicted visible, truth not visible,
- ``FN``: predicted not visible, truth visible,
- ``TN``: both not visible.

From the counts: ``accuracy = (TP+TN)/all``, ``precision = TP/(TP+FP1+FP2)``,
``recall = TP/(TP+FN)`` (FP1 does *not* count against recall, as in the papers) and
``F1 = 2PR/(P+R)``. A ratio whose denominator is 0 is defined as 0 (so a run with no visible
prediction has precision 0, and F1 is 0 when P+R = 0). ``rmse`` is the root mean squared distance
over TP pairs in ORIGINAL-frame pixels; it is ``None`` when there is no TP.

Two tolerance conventions coexist and their numbers are not comparable:

- ``tolerance_space="original"`` (WASB): distance in original-frame pixels, TP iff ``d < tol``.
- ``tolerance_space="input"`` (TrackNetV2/V3/V4): both points are first mapped to the model-input
  grid, TP iff ``d <= tol``. The map is the caller's ``to_input(xy, frame_size)``: whoever knows
  the geometry passes the codec's map, ``HeatmapCodec.frame_to_input`` (stretch or letterbox),
  as training validation and checkpoint evaluation do, so both measure the same distances.
  Without it, ``input_size`` gives a plain per-axis scale (a stretch resize),
  ``x * W_in / W_frame`` and ``y * H_in / H_frame``: for scoring another tool's CSV, where no
  codec is known (``tracknet eval --pred ... --input-size WxH``).

Still or slow balls (the hardest frames: frame differences show nothing) are scored apart:
:func:`evaluate_clips` counts (``slow_*``, ``"slow"`` in its JSON) the frames whose true ball
moved less than ``SLOW_MOTION_PX`` original-frame pixels since the previous frame of the sequence
(both visible), and their recall ``TP / (TP + FN)``.

Results are dataclasses (:class:`Scores`, :class:`ClipScores`) whose ``as_dict()`` gives the keys
of the metrics JSON. Coordinates are pixels of the original frame; sizes are ``(W, H)``.
Coordinates of frames that are not visible are ignored (they may be 0 or NaN). Counts are python
ints and scores python floats, so every ``as_dict()`` is JSON-serialisable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

COUNT_KEYS = ("tp", "tn", "fp1", "fp2", "fn")
TOLERANCE_SPACES = ("original", "input")

ToInput = Callable[[np.ndarray, np.ndarray], ArrayLike]

# A true ball that moved less than this (original-frame pixels) since the previous frame is "slow".
SLOW_MOTION_PX = 2.0


class Outcome(IntEnum):
    """The outcome of one frame (values are stable: they may be stored)."""

    TP = 0
    TN = 1
    FP1 = 2
    FP2 = 3
    FN = 4


# --------------------------------------------------------------------------- per frame
def classify_frames(
    pred_visible: np.ndarray,
    pred_xy: np.ndarray,
    gt_visible: np.ndarray,
    gt_xy: np.ndarray,
    tolerance_px: float = 4.0,
    tolerance_space: str = "original",
    frame_size: Sequence[float] | np.ndarray | None = None,
    input_size: Sequence[float] | None = None,
    to_input: ToInput | None = None,
) -> np.ndarray:
    """Classify every frame as TP, TN, FP1, FP2 or FN.

    Args:
        pred_visible: ``[N]`` predicted visibility (non-zero = visible).
        pred_xy: ``[N, 2]`` predicted ``(x, y)`` in original-frame pixels.
        gt_visible: ``[N]`` true visibility (non-zero = visible).
        gt_xy: ``[N, 2]`` true ``(x, y)`` in original-frame pixels.
        tolerance_px: the distance tolerance, in the pixels of ``tolerance_space``.
        tolerance_space: ``"original"`` (``d < tol`` in frame pixels, WASB) or ``"input"``
            (``d <= tol`` in model-input pixels, TrackNetV2/V3).
        frame_size: ``(W, H)`` of the original frames, or ``[N, 2]`` per frame; needed for
            ``"input"``.
        input_size: ``(W, H)`` of the model input; needed for ``"input"`` unless ``to_input``
            is given.
        to_input: optional ``to_input(xy [M, 2], frame_size [M, 2]) -> [M, 2]`` mapping frame
            pixels to model-input pixels; replaces the default per-axis scale.

    Returns:
        ``[N]`` int array of :class:`Outcome` values.

    Raises:
        ValueError: mismatched shapes, an unknown ``tolerance_space``, missing sizes, or a
            visible point without finite coordinates.
    """
    pv, pxy = _visible_and_xy(pred_visible, pred_xy, "pred")
    gv, gxy = _visible_and_xy(gt_visible, gt_xy, "gt")
    if len(pv) != len(gv):
        raise ValueError(f"{len(pv)} predicted frames but {len(gv)} ground-truth frames")
    if tolerance_space not in TOLERANCE_SPACES:
        raise ValueError(
            f"tolerance_space must be one of {TOLERANCE_SPACES}, got {tolerance_space!r}"
        )

    outcomes = np.full(len(pv), Outcome.TN, dtype=np.int64)
    outcomes[pv & ~gv] = Outcome.FP2
    outcomes[~pv & gv] = Outcome.FN
    both = pv & gv
    if both.any():
        if tolerance_space == "original":
            within = _distance(pxy[both], gxy[both]) < tolerance_px
        else:
            sizes = _per_frame_sizes(frame_size, len(pv))[both]
            mapped_pred = _map_to_input(pxy[both], sizes, input_size, to_input)
            mapped_gt = _map_to_input(gxy[both], sizes, input_size, to_input)
            within = _distance(mapped_pred, mapped_gt) <= tolerance_px
        outcomes[both] = np.where(within, Outcome.TP, Outcome.FP1)
    elif tolerance_space == "input":
        _per_frame_sizes(frame_size, len(pv))  # report a missing size even when unused
    return outcomes


def _visible_and_xy(
    visible: np.ndarray, xy: np.ndarray, what: str
) -> tuple[np.ndarray, np.ndarray]:
    vis = np.asarray(visible).reshape(-1) != 0
    pts = np.asarray(xy, dtype=np.float64)
    if pts.shape != (len(vis), 2):
        raise ValueError(f"{what}_xy must have shape ({len(vis)}, 2), got {pts.shape}")
    bad = vis & ~np.isfinite(pts).all(axis=1)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} {what} frames are visible without finite coordinates")
    return vis, pts


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d: np.ndarray = np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1])
    return d


def _per_frame_sizes(frame_size: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray:
    if frame_size is None:
        raise ValueError("tolerance_space='input' needs frame_size (W, H)")
    sizes = np.asarray(frame_size, dtype=np.float64)
    if sizes.shape == (2,):
        sizes = np.broadcast_to(sizes, (n, 2))
    if sizes.shape != (n, 2):
        raise ValueError(f"frame_size must be (W, H) or shape ({n}, 2), got {sizes.shape}")
    if (sizes <= 0).any():
        raise ValueError("frame_size must be positive")
    return sizes


def _map_to_input(
    xy: np.ndarray, sizes: np.ndarray, input_size: Sequence[float] | None, to_input: ToInput | None
) -> np.ndarray:
    """Frame -> input pixels by ``to_input``, else by the plain stretch to ``input_size``."""
    if to_input is not None:
        return np.asarray(to_input(xy, sizes), dtype=np.float64).reshape(-1, 2)
    if input_size is None:
        raise ValueError("tolerance_space='input' needs input_size (W, H) or to_input")
    target = np.asarray(input_size, dtype=np.float64).reshape(2)
    # Multiply before dividing: 10 * 512 / 1280 is exactly 4, 10 * (512 / 1280) is not.
    mapped: np.ndarray = xy * target / sizes
    return mapped


# --------------------------------------------------------------------------- scores
@dataclass(frozen=True)
class Scores:
    """The scores of one sequence, or of several pooled: the outcome counts, ``frames``, the
    ratios (0.0 over a zero denominator) and ``rmse`` (original-frame pixels; None without TP).
    The fields are in the order of the keys of :meth:`as_dict` (the metrics JSON)."""

    tp: int
    tn: int
    fp1: int
    fp2: int
    fn: int
    frames: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    rmse: float | None

    @classmethod
    def from_counts(
        cls, tp: int, tn: int, fp1: int, fp2: int, fn: int, sq_err_sum: float = 0.0
    ) -> Scores:
        """The scores of outcome counts and the sum of squared TP distances."""
        tp, tn, fp1, fp2, fn = (int(v) for v in (tp, tn, fp1, fp2, fn))
        frames = tp + tn + fp1 + fp2 + fn
        precision = _ratio(tp, tp + fp1 + fp2)
        recall = _ratio(tp, tp + fn)
        return cls(
            tp=tp,
            tn=tn,
            fp1=fp1,
            fp2=fp2,
            fn=fn,
            frames=frames,
            accuracy=_ratio(tp + tn, frames),
            precision=precision,
            recall=recall,
            f1=_ratio(2 * precision * recall, precision + recall),
            rmse=math.sqrt(float(sq_err_sum) / tp) if tp else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """``{tp, tn, fp1, fp2, fn, frames, accuracy, precision, recall, f1, rmse}``."""
        return asdict(self)


def scores_from_counts(
    tp: int, tn: int, fp1: int, fp2: int, fn: int, sq_err_sum: float = 0.0
) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 and RMSE from outcome counts.

    Args:
        tp, tn, fp1, fp2, fn: the outcome counts.
        sq_err_sum: the sum of squared TP distances in original-frame pixels.

    Returns:
        ``{tp, tn, fp1, fp2, fn, frames, accuracy, precision, recall, f1, rmse}``; ratios with a
        zero denominator are 0.0, ``rmse`` is ``None`` without TP (:class:`Scores` as a dict).
    """
    return Scores.from_counts(tp, tn, fp1, fp2, fn, sq_err_sum).as_dict()


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def _counts_and_sq_err(
    outcomes: np.ndarray, pred_xy: np.ndarray, gt_xy: np.ndarray
) -> tuple[dict[str, int], float]:
    codes = np.asarray(outcomes).reshape(-1)
    counts = {key: int((codes == Outcome[key.upper()]).sum()) for key in COUNT_KEYS}
    tp = codes == Outcome.TP
    diff = np.asarray(pred_xy, dtype=np.float64)[tp] - np.asarray(gt_xy, dtype=np.float64)[tp]
    return counts, float((diff**2).sum())


def summarize(outcomes: np.ndarray, pred_xy: np.ndarray, gt_xy: np.ndarray) -> dict[str, Any]:
    """Scores of one sequence from :func:`classify_frames` outcomes.

    Args:
        outcomes: ``[N]`` :class:`Outcome` codes.
        pred_xy: ``[N, 2]`` predicted positions (original pixels), used for the RMSE.
        gt_xy: ``[N, 2]`` true positions (original pixels).

    Returns:
        See :func:`scores_from_counts`.
    """
    counts, sq_err = _counts_and_sq_err(outcomes, pred_xy, gt_xy)
    return scores_from_counts(**counts, sq_err_sum=sq_err)


def slow_frames(gt_visible: np.ndarray, gt_xy: np.ndarray, max_motion_px: float) -> np.ndarray:
    """``bool [N]``: the ball is visible here and in the previous frame of the sequence and moved
    less than ``max_motion_px`` (original-frame pixels) between them (frame 0 is never slow)."""
    vis = np.asarray(gt_visible, dtype=bool).reshape(-1)
    xy = np.asarray(gt_xy, dtype=np.float64).reshape(-1, 2)
    slow = np.zeros(len(vis), dtype=bool)
    if len(vis) > 1:
        moved = _distance(xy[1:], xy[:-1])
        slow[1:] = vis[1:] & vis[:-1] & (moved < max_motion_px)
    return slow


@dataclass(frozen=True)
class SlowScores:
    """The still or slow ball frames of a sequence (:func:`slow_frames`), with their outcomes."""

    frames: int
    tp: int
    fp1: int
    fn: int
    recall: float  # tp / (tp + fn), 0.0 without

    @classmethod
    def from_counts(cls, frames: int, tp: int, fp1: int, fn: int) -> SlowScores:
        return cls(frames=frames, tp=tp, fp1=fp1, fn=fn, recall=_ratio(tp, tp + fn))

    def as_dict(self) -> dict[str, Any]:
        """``{frames, tp, fp1, fn, recall}``."""
        return asdict(self)


def _slow_counts(outcomes: np.ndarray, slow: np.ndarray) -> SlowScores:
    codes = np.asarray(outcomes).reshape(-1)[slow]
    return SlowScores.from_counts(
        frames=int(slow.sum()),
        tp=int((codes == Outcome.TP).sum()),
        fp1=int((codes == Outcome.FP1).sum()),
        fn=int((codes == Outcome.FN).sum()),
    )


# --------------------------------------------------------------------------- many clips
@dataclass
class ScoreSettings:
    """How positions were scored; ``scored`` adds what was scored (the caller's keys, e.g. the
    split, or the CSV files), after the others in :meth:`as_dict`."""

    tolerance_px: float
    tolerance_space: str
    comparison: str  # "<" (original) or "<=" (input)
    input_size: tuple[int, int] | None  # (W, H) of the model input, as given
    input_map: str  # "custom" (the caller's to_input) or "stretch"
    scored: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """``{tolerance_px, tolerance_space, comparison, input_size: [W, H] | None, input_map}``
        followed by ``scored``."""
        size = list(self.input_size) if self.input_size is not None else None
        return {
            "tolerance_px": self.tolerance_px,
            "tolerance_space": self.tolerance_space,
            "comparison": self.comparison,
            "input_size": size,
            "input_map": self.input_map,
            **self.scored,
        }


@dataclass
class ClipScores:
    """Scores of several clips (:func:`evaluate_clips`): pooled and per clip, the settings,
    and the still or slow ball frames pooled (``slow_overall``) and per clip."""

    overall: Scores
    clips: dict[str, Scores]
    settings: ScoreSettings
    slow_overall: SlowScores
    slow_clips: dict[str, SlowScores]
    slow_max_motion_px: float = SLOW_MOTION_PX

    def as_dict(self) -> dict[str, Any]:
        """``{"overall": scores, "clips": {name: scores}, "settings": {...}, "slow":
        {"max_motion_px", "overall", "clips"}}`` (JSON-serialisable)."""
        return {
            "overall": self.overall.as_dict(),
            "clips": {name: s.as_dict() for name, s in self.clips.items()},
            "settings": self.settings.as_dict(),
            "slow": {
                "max_motion_px": self.slow_max_motion_px,
                "overall": self.slow_overall.as_dict(),
                "clips": {name: s.as_dict() for name, s in self.slow_clips.items()},
            },
        }


def evaluate_clips(
    per_clip: Mapping[str, tuple[Any, ...]],
    tolerance_px: float = 4.0,
    tolerance_space: str = "original",
    input_size: Sequence[float] | None = None,
    to_input: ToInput | None = None,
) -> ClipScores:
    """Score several clips and pool them.

    Args:
        per_clip: ``{name: (pred_visible, pred_xy, gt_visible, gt_xy, frame_size)}``; the
            ``frame_size`` ``(W, H)`` may be ``None`` (or left out) under ``"original"``.
        tolerance_px, tolerance_space, input_size, to_input: as in :func:`classify_frames`.

    Returns:
        The scores; ``overall`` comes from the pooled counts (and pooled squared errors), not
        the mean over clips; the slow ones count, pooled and per clip, the frames whose true
        ball moved less than ``SLOW_MOTION_PX`` since the previous frame (:func:`slow_frames`)
        with their ``tp``, ``fp1``, ``fn`` and ``recall``.
    """
    clips: dict[str, Scores] = {}
    slow_clips: dict[str, SlowScores] = {}
    pooled_slow = {"frames": 0, "tp": 0, "fp1": 0, "fn": 0}
    pooled = dict.fromkeys(COUNT_KEYS, 0)
    pooled_sq_err = 0.0
    for name, item in per_clip.items():
        pred_visible, pred_xy, gt_visible, gt_xy, *rest = item
        frame_size = rest[0] if rest else None
        outcomes = classify_frames(
            pred_visible,
            pred_xy,
            gt_visible,
            gt_xy,
            tolerance_px=tolerance_px,
            tolerance_space=tolerance_space,
            frame_size=frame_size,
            input_size=input_size,
            to_input=to_input,
        )
        counts, sq_err = _counts_and_sq_err(outcomes, pred_xy, gt_xy)
        clips[str(name)] = Scores.from_counts(**counts, sq_err_sum=sq_err)
        slow = _slow_counts(outcomes, slow_frames(gt_visible, gt_xy, SLOW_MOTION_PX))
        slow_clips[str(name)] = slow
        for key in pooled_slow:
            pooled_slow[key] += getattr(slow, key)
        for key in COUNT_KEYS:
            pooled[key] += counts[key]
        pooled_sq_err += sq_err
    settings = ScoreSettings(
        tolerance_px=float(tolerance_px),
        tolerance_space=tolerance_space,
        comparison="<" if tolerance_space == "original" else "<=",
        input_size=(int(input_size[0]), int(input_size[1])) if input_size is not None else None,
        input_map="custom" if to_input is not None else "stretch",
    )
    return ClipScores(
        overall=Scores.from_counts(**pooled, sq_err_sum=pooled_sq_err),
        clips=clips,
        settings=settings,
        slow_overall=SlowScores.from_counts(**pooled_slow),
        slow_clips=slow_clips,
    )


# --------------------------------------------------------------------------- report
_COLUMNS = (  # (key, header, width)
    ("frames", "frames", 8),
    ("tp", "TP", 7),
    ("tn", "TN", 7),
    ("fp1", "FP1", 6),
    ("fp2", "FP2", 6),
    ("fn", "FN", 6),
    ("accuracy", "acc%", 8),
    ("precision", "prec%", 8),
    ("recall", "rec%", 8),
    ("f1", "F1%", 8),
    ("rmse", "RMSE", 7),
)
_PERCENT = {"accuracy", "precision", "recall", "f1"}


def format_table(scores: ClipScores) -> str:
    """A fixed-width text table: one row per clip, then the pooled ``overall`` row.

    Args:
        scores: the output of :func:`evaluate_clips`.

    Returns:
        The table, percentages with two decimals, RMSE in original pixels ("-" without TP).
    """
    names = [*scores.clips, "overall"]
    name_width = max(len("clip"), *(len(n) for n in names))
    header = "clip".ljust(name_width) + "".join(title.rjust(width) for _, title, width in _COLUMNS)
    rule = "-" * len(header)
    lines = [_settings_line(scores.settings), header, rule]
    lines += [_row(name, clip, name_width) for name, clip in scores.clips.items()]
    if scores.clips:
        lines.append(rule)
    lines.append(_row("overall", scores.overall, name_width))
    slow = scores.slow_overall
    if slow.frames:
        lines.append(
            f"still or slow ball (moved < {scores.slow_max_motion_px:g} px since the "
            f"previous frame): {slow.frames} frames, recall {100.0 * slow.recall:.2f}% "
            f"(TP {slow.tp}, FP1 {slow.fp1}, FN {slow.fn})"
        )
    return "\n".join(lines)


def _row(name: str, scores: Scores, name_width: int) -> str:
    cells = []
    for key, _, width in _COLUMNS:
        value = getattr(scores, key)
        if value is None:
            text = "-"
        elif key in _PERCENT:
            text = f"{100.0 * value:.2f}"
        elif key == "rmse":
            text = f"{value:.2f}"
        else:
            text = str(int(value))
        cells.append(text.rjust(width))
    return name.ljust(name_width) + "".join(cells)


def _settings_line(settings: ScoreSettings) -> str:
    space = settings.tolerance_space
    text = f"tolerance: d {settings.comparison} {settings.tolerance_px:g} px ({space} pixels"
    if space == "input" and settings.input_size:
        w, h = settings.input_size
        text += f", {w}x{h} grid, {settings.input_map} map"
    return text + ")"
