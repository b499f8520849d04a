"""Where a clip's true hits and bounces are, in each dataset layout (for event scoring).

- tennis (and any image folder labelled by a tennis ``Label.csv``): the ``status`` column
  (1 hit, 2 bounce: :func:`tracknet.io.events.events_from_labels`);
- a video or image folder labelled by a ball CSV (generic, shuttlecock): a ``<stem>_events.csv``
  (:mod:`tracknet.io.events`) beside its ball CSV or beside the video (``tracknet synth`` writes
  one beside the ball CSV).

A clip with neither carries no events (None): it is left out of event scoring, never counted as
a clip without events. :func:`events_of_label_file` does the same for one label file given by
hand (``tracknet eval --gt``).
"""

from __future__ import annotations

from pathlib import Path

from tracknet.constants import BALL_CSV_SUFFIX
from tracknet.data.formats import Clip
from tracknet.errors import UserError
from tracknet.io.events import (
    EVENTS_CSV_SUFFIX,
    Event,
    events_csv_name,
    events_from_labels,
    read_events_csv,
)
from tracknet.io.labels import read_any_labels


def _candidates(clip: Clip) -> list[Path]:
    """The places a clip's ``<stem>_events.csv`` may lie."""
    if isinstance(clip.source, Path):  # a video: beside it, or in the shuttlecock csv/ folder
        video = clip.source
        name = events_csv_name(video.stem)
        return [video.with_name(name), video.parent.parent / "csv" / name]
    if not clip.source:
        return []
    folder = clip.source[0].parent  # an image folder <stem>/ with <stem>_ball.csv beside it
    return [folder.parent / events_csv_name(folder.name)]


def clip_events(clip: Clip) -> list[Event] | None:
    """The clip's true events, or None when its labels carry none.

    Raises:
        DataError: an events file that cannot be read.
    """
    if clip.labels.status is not None:
        return events_from_labels(clip.labels)
    for path in _candidates(clip):
        if path.is_file():
            return read_events_csv(path)
    return None


def _is_events_csv(path: Path) -> bool:
    if path.name.endswith(EVENTS_CSV_SUFFIX):
        return True
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline().lower()
    return "event" in header.replace(" ", "").split(",")


def events_of_label_file(path: str | Path) -> list[Event]:
    """True events of a label file: an events CSV itself, a tennis ``Label.csv`` with a
    ``status`` column, or a ball CSV with ``<stem>_events.csv`` beside it.

    Raises:
        UserError: a file that carries no events (the message says what to give instead).
        DataError: a file that cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: labels not found")
    if _is_events_csv(path):
        return read_events_csv(path)
    labels = read_any_labels(path)
    if labels.status is not None:
        return events_from_labels(labels)
    stem = path.stem.removesuffix(Path(BALL_CSV_SUFFIX).stem)  # X_ball.csv -> X
    beside = path.with_name(events_csv_name(stem))
    if beside.is_file():
        return read_events_csv(beside)
    raise UserError(
        f"{path} carries no events (no status column, no {beside.name} beside it); give the "
        f"events as an {EVENTS_CSV_SUFFIX} file (Frame,Event,X,Y,Score) or a tennis Label.csv"
    )
