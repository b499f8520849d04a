"""The collector of problems found while reading a dataset: :class:`DataProblems`.

Readers report every row or file they cannot use (:data:`PROBLEM_KINDS`) to one collector per
dataset load. It either raises :class:`tracknet.errors.DataError` at the first problem
(``strict``) or counts them for ONE summary warning at the end; it also logs each informational
note (a header matched by meaning, coordinates detected as normalised) once per load, not once
per file.
"""

from __future__ import annotations

from tracknet.errors import DataError
from tracknet.utils import log

PROBLEM_KINDS: dict[str, str] = {
    "missing_csv": "clip without a label CSV (skipped)",
    "missing_source": "label CSV without its video or image folder (skipped)",
    "unreadable_source": "video or image that cannot be read (clip or frame skipped)",
    "bad_csv": "CSV that cannot be read or lacks a needed column (clip skipped)",
    "frame_count_mismatch": "CSV rows and frames disagree in number",
    "extra_row": "row naming a frame past the last one (skipped)",
    "malformed_row": "row that cannot be parsed (skipped)",
    "nan": "visible ball with NaN or infinite coordinates (skipped)",
    "outside_frame": "row with coordinates outside the frame (skipped)",
    "duplicate_frame": "repeated frame number or file name (later row skipped)",
    "missing_frame": "frames without a label row (unlabelled)",
    "missing_image": "row naming an image that does not exist (skipped)",
}


class DataProblems:
    """Collects problems found while reading a dataset; raises at the first one when ``strict``.

    Args:
        strict: raise :class:`DataError` at the first problem instead of counting it.
        max_examples: how many locations the summary quotes.
    """

    def __init__(self, strict: bool = False, max_examples: int = 5) -> None:
        self.strict = strict
        self.max_examples = max_examples
        self.counts: dict[str, int] = {}
        self.examples: list[str] = []
        self._noted: set[str] = set()

    def note_once(self, key: str, message: str) -> None:
        """Log ``message`` (INFO) the first time ``key`` is noted by this collector."""
        if key not in self._noted:
            self._noted.add(key)
            log.info("%s", message)

    def add(self, kind: str, where: str, detail: str, count: int = 1) -> None:
        """Record ``count`` problems of ``kind`` at ``where`` (``"file:line"`` or a path).

        Raises:
            DataError: in strict mode, always.
        """
        if kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {kind!r}")
        message = f"{where}: {detail}"
        if self.strict:
            raise DataError(f"{message} [{kind}; data.strict=false skips such input]")
        self.counts[kind] = self.counts.get(kind, 0) + count
        if len(self.examples) < self.max_examples:
            self.examples.append(message)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """One paragraph: counts by kind and the first few locations."""
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        lines = [f"{len(self)} data problem(s): {kinds}"]
        lines += [f"  {example}" for example in self.examples]
        if len(self) > len(self.examples):
            lines.append(f"  ... ({len(self) - len(self.examples)} more)")
        return "\n".join(lines)

    def warn(self, context: str) -> None:
        """Log the summary as ONE warning on the ``tracknet`` logger (nothing when clean)."""
        if self.counts:
            log.warning(
                "%s: %s (set data.strict=true to stop at the first)", context, self.summary()
            )
