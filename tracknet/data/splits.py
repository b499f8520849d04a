"""Train / val / test splits at CLIP level (neighbouring frames are near duplicates).

Two ways, chosen by ``data.split`` (:class:`tracknet.config.SplitConfig`):

* Explicit: lists of clip names or globs relative to the dataset root, matched with ``fnmatch``
  against :attr:`Clip.name` (``"game1/*"``, ``"game2/Clip3"``); a plain folder name (``"game1"``)
  also takes every clip below it. When ``train`` is empty but ``val`` or ``test`` is given, the
  training split is every remaining clip.
* Ratios (all three lists empty): a seeded shuffle cut by ``ratios``. Clips are grouped by their
  parent folder (the game of the tennis layout, the match of the shuttlecock layout) when there
  are enough groups, so that no game is split between training and testing.

A training clip never appears in val or test (:class:`DataError`). ``val`` and ``test`` may share
clips (validating on the test clips is common with small datasets); that is logged.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import numpy as np

from tracknet.config import SplitConfig
from tracknet.data.formats import Clip
from tracknet.errors import DataError
from tracknet.utils import log

SPLITS = ("train", "val", "test")


def _matches(name: str, pattern: str) -> bool:
    pattern = pattern.strip().strip("/")
    return fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + "/")


def _select(clips: Sequence[Clip], patterns: Sequence[str], split: str) -> list[Clip]:
    chosen = [c for c in clips if any(_matches(c.name, p) for p in patterns)]
    for pattern in patterns:
        if not any(_matches(c.name, pattern) for c in clips):
            log.warning("data.split.%s: %r matches no clip", split, pattern)
    if not chosen:
        examples = ", ".join(c.name for c in clips[:3])
        raise DataError(
            f"data.split.{split} = {list(patterns)} matches none of the {len(clips)} clips "
            f"(names look like: {examples})"
        )
    return chosen


def _explicit_split(clips: Sequence[Clip], cfg: SplitConfig) -> dict[str, list[Clip]]:
    out = {s: _select(clips, getattr(cfg, s), s) if getattr(cfg, s) else [] for s in SPLITS}
    train_names = {c.name for c in out["train"]}
    for split in ("val", "test"):
        shared = sorted(train_names & {c.name for c in out[split]})
        if shared:
            raise DataError(
                f"data.split: clip(s) {shared[:5]} are in both train and {split}; a clip must "
                "be on one side only"
            )
    if not cfg.train:
        held_out = {c.name for c in out["val"] + out["test"]}
        out["train"] = [c for c in clips if c.name not in held_out]
        log.info("data.split.train is empty: training on the %d other clips", len(out["train"]))
    shared = sorted({c.name for c in out["val"]} & {c.name for c in out["test"]})
    if shared:
        log.info("data.split: val and test share %d clip(s)", len(shared))
    return out


def _allocate(units: int, ratios: Sequence[float]) -> list[int]:
    """Split ``units`` by ``ratios`` (largest remainders); each nonzero ratio gets at least one
    unit when there are enough."""
    r = np.asarray(ratios, dtype=np.float64)
    if len(r) != len(SPLITS) or (r < 0).any() or r.sum() <= 0:
        raise DataError(f"data.split.ratios must be 3 non-negative numbers, got {list(ratios)}")
    share = r / r.sum() * units
    counts = np.floor(share).astype(int)
    for i in np.argsort(-(share - counts), kind="stable")[: units - counts.sum()]:
        counts[i] += 1
    for i in np.flatnonzero((r > 0) & (counts == 0)):
        donor = int(np.argmax(counts))
        if counts[donor] > 1:
            counts[donor] -= 1
            counts[i] += 1
    return counts.tolist()


def _parent(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _ratio_split(clips: Sequence[Clip], cfg: SplitConfig) -> dict[str, list[Clip]]:
    groups: dict[str, list[Clip]] = {}
    for clip in sorted(clips, key=lambda c: c.name):
        groups.setdefault(_parent(clip.name), []).append(clip)
    wanted = sum(1 for r in cfg.ratios if r > 0)
    # Whole games/matches when each split that wants clips can get at least one group.
    if len(groups) >= max(wanted, 3):
        units = [groups[k] for k in sorted(groups)]
        by = "folder"
    else:
        units = [[c] for c in sorted(clips, key=lambda c: c.name)]
        by = "clip"
    order = np.random.default_rng(cfg.seed).permutation(len(units))
    counts = _allocate(len(units), cfg.ratios)
    out, start = {}, 0
    for split, count in zip(SPLITS, counts, strict=True):
        out[split] = [c for i in order[start : start + count] for c in units[i]]
        start += count
    sizes = ", ".join(f"{s} {len(out[s])}" for s in SPLITS)
    log.info("data.split: seeded ratio split by %s (%d units): %s clips", by, len(units), sizes)
    for split, ratio in zip(SPLITS, cfg.ratios, strict=True):
        if ratio > 0 and not out[split]:
            log.warning("data.split: too few clips for a %s split (ratio %g)", split, ratio)
    return out


def split_clips(clips: Sequence[Clip], split_cfg: SplitConfig) -> dict[str, list[Clip]]:
    """Assign clips to ``train``, ``val`` and ``test``.

    Args:
        clips: every clip of the dataset (:func:`tracknet.data.formats.load_clips`).
        split_cfg: the ``data.split`` section.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``, each sorted by clip name.

    Raises:
        DataError: a requested split matches no clip, or a training clip is also in val/test.
    """
    explicit = any(getattr(split_cfg, s) for s in SPLITS)
    out = _explicit_split(clips, split_cfg) if explicit else _ratio_split(clips, split_cfg)
    return {s: sorted(out[s], key=lambda c: c.name) for s in SPLITS}
