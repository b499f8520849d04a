"""Which column of a label CSV holds what, and in which units: the ``data.labels`` rules.

Label files come in many spellings; the readers of :mod:`tracknet.io.labels` ask this module:

- **Columns**: each field (``frame``, ``file``, ``visibility``, ``x``, ``y``, ``status``) is the
  column ``data.labels.<field>`` names, else the column whose header is one of its usual
  spellings (case, spaces and punctuation ignored: ``Frame``/``frame_num``/``num``,
  ``Visibility``/``Ball``/``visible``, ``X``/``x-coordinate`` ...). Other columns are ignored.
  A name that matches no column is an error naming the file, the header row and the name.
- **Visibility**: the file's own codes; ``data.visible_codes`` says which mean a visible ball
  (another tool's codes, e.g. ``0`` = visible, are used by listing them there). A file without a
  visibility column (or ``data.labels.visibility=none``) gets codes from its coordinates: a row
  with finite, non-negative coordinates other than ``0,0`` is a visible ball; empty, ``NaN``,
  negative (``-1``) or ``0,0`` coordinates mean no ball.
- **Units** (``data.labels.coords``): ``pixels``, ``normalized`` (``x / W``, ``y / H`` in
  ``[0, 1]``; the frame size must be known) or ``auto``: a file is normalised when every visible
  ball lies within ``[0, 1]`` and at least one coordinate is fractional. A file whose visible
  balls lie mostly, but not all, within ``[0, 1]`` contradicts itself and is refused, naming
  the row and column. What was detected is logged once per dataset load.
- **Frames without a row** (``data.labels.missing``): ``unlabelled`` (the default: not trained
  on, not scored, reported) or ``no_ball`` (a frame without a row has no ball).

Readers called without ``data.labels`` (``labels=None``) keep the original rules: a visibility
column is required and coordinates are pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tracknet.config import LabelsConfig
from tracknet.errors import DataError
from tracknet.io.data_problems import DataProblems
from tracknet.utils import log

BALL_CSV_HEADER = ("Frame", "Visibility", "X", "Y")
TENNIS_CSV_HEADER = ("file name", "visibility", "x-coordinate", "y-coordinate", "status")
KNOWN_CODES = (0, 1, 2, 3)  # not in frame, easy, hard, occluded (TrackNet's datasets)

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "frame": (
        "frame",
        "frameid",
        "frameindex",
        "framenumber",
        "frameno",
        "framenum",
        "index",
        "num",
    ),
    "file": (
        "filename",
        "file",
        "image",
        "imagename",
        "img",
        "imagefile",
        "framename",
        "name",
        "path",
    ),
    "visibility": (
        "visibility",
        "visibilityclass",
        "visible",
        "vis",
        "visibilitycode",
        "visibilitylevel",
        "ball",
    ),
    "x": ("x", "xcoordinate", "xcoord", "ballx", "xpos", "xposition", "cx", "centerx", "xcenter"),
    "y": ("y", "ycoordinate", "ycoord", "bally", "ypos", "yposition", "cy", "centery", "ycenter"),
    "status": ("status", "trajectorypattern", "trajectory", "pattern", "event", "state"),
}
_CANONICAL = {
    "frame": "Frame",
    "file": "file name",
    "visibility": "visibility",
    "x": "x-coordinate",
    "y": "y-coordinate",
    "status": "status",
}
_USUAL_HEADERS = {BALL_CSV_HEADER, TENNIS_CSV_HEADER}


def normalise_name(name: str) -> str:
    """A header cell without case, spaces or punctuation: ``"X-Coordinate "`` -> ``xcoordinate``."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def header_has(header: Sequence[str], field_name: str) -> bool:
    """Whether one of ``header``'s columns is a usual spelling of ``field_name``."""
    return any(normalise_name(h) in _SYNONYMS[field_name] for h in header)


def _column_named(header: Sequence[str], name: str) -> int | None:
    """The column called ``name``: its exact spelling first, else ignoring case and punctuation."""
    stripped = [h.strip() for h in header]
    if name.strip() in stripped:
        return stripped.index(name.strip())
    normalised = [normalise_name(h) for h in header]
    key = normalise_name(name)
    return normalised.index(key) if key and key in normalised else None


def match_columns(
    header: Sequence[str],
    needed: Sequence[str],
    optional: Sequence[str] = (),
    where: str = "",
    problems: DataProblems | None = None,
    mapping: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Find the columns of ``needed`` (and ``optional``) fields in a CSV header.

    Fields are ``frame``, ``file``, ``visibility``, ``x``, ``y`` and ``status``. A field that
    ``mapping`` names (``data.labels``) is that column; the others are matched by meaning. A
    header that differs from the usual spelling is logged (INFO) with the mapping used: once per
    distinct header and ``problems`` collector (so once per dataset load), every time without one.

    Returns:
        ``{field: column index}``; optional fields that are absent are left out.

    Raises:
        DataError: a needed field has no column, or ``mapping`` names a column the header lacks
            (the message quotes the header and the names).
    """
    fields = (*needed, *optional)
    found: dict[str, int] = {}
    named = {f: n for f, n in (mapping or {}).items() if n and f in fields}
    for field_name, name in named.items():
        column = _column_named(header, name)
        if column is None:
            raise DataError(
                f"{where}: data.labels.{field_name}={name!r} names no column of the header "
                f"{list(header)}"
            )
        found[field_name] = column
    normalised = [normalise_name(h) for h in header]
    for field_name in fields:
        if field_name in found:
            continue
        for synonym in _SYNONYMS[field_name]:
            if synonym in normalised and normalised.index(synonym) not in found.values():
                found[field_name] = normalised.index(synonym)
                break
    missing = [f for f in needed if f not in found]
    if missing:
        raise DataError(
            f"{where}: header {list(header)} has no column for {missing} "
            f"(accepted spellings: {', '.join('/'.join(_SYNONYMS[f][:4]) for f in missing)}; "
            "or name it with data.labels.<field>)"
        )
    if tuple(h.strip() for h in header) not in _USUAL_HEADERS:
        how = {f: " (data.labels)" if f in named else "" for f in found}
        mapping_text = ", ".join(f"{header[found[f]]!r} -> {_CANONICAL[f]}{how[f]}" for f in found)
        message = f"{where}: label columns matched by meaning: {mapping_text}"
        if problems is None:
            log.info("%s", message)
        else:
            problems.note_once("|".join(header), message)
    return found


# --------------------------------------------------------------------------- the rules
@dataclass(frozen=True)
class LabelRules:
    """``data.labels`` and ``data.visible_codes`` as the readers apply them.

    Attributes:
        mapping: ``{field: column name}`` named by the configuration.
        visibility: ``required`` (legacy), ``optional`` (derived from coordinates when absent)
            or ``none`` (always derived).
        coords: ``pixels``, ``normalized`` or ``auto``.
        missing: ``unlabelled`` or ``no_ball``.
        visible_codes: the codes that mean a visible ball.
    """

    mapping: dict[str, str] = field(default_factory=dict)
    visibility: str = "required"
    coords: str = "pixels"
    missing: str = "unlabelled"
    visible_codes: tuple[int, ...] = (1, 2)

    @classmethod
    def from_config(
        cls, labels: LabelsConfig | None, visible_codes: Sequence[int] = (1, 2)
    ) -> LabelRules:
        """The rules of ``data.labels``; None: the original ones (visibility needed, pixels)."""
        codes = tuple(int(c) for c in visible_codes)
        if labels is None:
            return cls(visible_codes=codes)
        none = labels.visibility.strip().lower() == "none"
        mapping = {"frame": labels.frame, "x": labels.x, "y": labels.y}
        if not none:
            mapping["visibility"] = labels.visibility
        return cls(
            mapping={f: n for f, n in mapping.items() if n},
            visibility="none" if none else "optional",
            coords=labels.coords,
            missing=labels.missing,
            visible_codes=codes,
        )

    @property
    def no_ball_code(self) -> int:
        """The code of a frame without a ball: 0, or the first code that is not a visible one."""
        return next(c for c in range(len(self.visible_codes) + 1) if c not in self.visible_codes)

    @property
    def ball_code(self) -> int:
        """The code given to a visible ball when the file has no visibility column."""
        return 1 if 1 in self.visible_codes or not self.visible_codes else min(self.visible_codes)

    def is_code(self, code: int) -> bool:
        """Whether ``code`` is a visibility code the readers accept (0-3 or a visible code)."""
        return code in KNOWN_CODES or code in self.visible_codes

    def columns(self, key_field: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(needed, optional)`` fields of a file keyed by ``key_field`` (``frame``/``file``)."""
        needed: tuple[str, ...] = (key_field, "x", "y")
        optional: tuple[str, ...] = ("status",) if key_field == "file" else ()
        if self.visibility == "required":
            needed = (key_field, "visibility", "x", "y")
        elif self.visibility == "optional":
            optional = ("visibility", *optional)
        return needed, optional


# --------------------------------------------------------------------------- units
@dataclass(frozen=True)
class Point:
    """A visible ball as written in the file: its line and raw coordinates."""

    line: int
    x: float
    y: float


def coordinate_scale(
    points: Sequence[Point],
    rules: LabelRules,
    frame_size: tuple[int, int] | None,
    where: str,
    names: tuple[str, str],
    problems: DataProblems,
) -> tuple[int, int] | None:
    """``(W, H)`` that the file's coordinates are fractions of, or None when they are pixels.

    Args:
        points: the visible balls of the file.
        rules: ``coords`` decides (``auto``: see the module docstring).
        frame_size: ``(W, H)`` of the frames; needed for normalised files.
        where: the file, for messages.
        names: the header names of the x and y columns, for messages.
        problems: the collector that logs the detection once per dataset load.

    Raises:
        DataError: a normalised file with a coordinate outside ``[0, 1]`` (naming file, row and
            column), or a normalised file whose frame size is unknown.
    """
    if rules.coords == "pixels" or (rules.coords == "auto" and not points):
        return None
    inside = [0 <= p.x <= 1 and 0 <= p.y <= 1 for p in points]
    fractional = any(
        not (float(p.x).is_integer() and float(p.y).is_integer())
        for p, ok in zip(points, inside, strict=True)
        if ok
    )
    if rules.coords == "auto":
        if not fractional or 2 * sum(inside) < len(points):
            return None  # pixels: most balls lie outside [0, 1]
        reason = f"{sum(inside)} of {len(points)} visible balls lie within [0, 1]"
    else:
        reason = "data.labels.coords=normalized"
    outside = next((p for p, ok in zip(points, inside, strict=True) if not ok), None)
    if outside is not None:
        column, value = (names[0], outside.x) if not 0 <= outside.x <= 1 else (names[1], outside.y)
        raise DataError(
            f"{where}:{outside.line}: column {column!r} holds {value:g}, outside [0, 1] in a file "
            f"of normalised coordinates ({reason}); correct the row, or set "
            "data.labels.coords=pixels if the file holds pixels"
        )
    if frame_size is None:
        raise DataError(
            f"{where}: coordinates are normalised ({reason}) but the frame size is unknown: "
            "give it (tracknet eval --frame-size WxH, or put the video or images beside the "
            "labels), or set data.labels.coords=pixels"
        )
    if rules.coords == "auto":
        problems.note_once(
            "coords:normalized",
            f"{where}: coordinates read as fractions of the frame size ({reason}; "
            "data.labels.coords=auto). Set data.labels.coords=pixels if they are pixels. "
            "Logged once for the dataset.",
        )
    return int(frame_size[0]), int(frame_size[1])
