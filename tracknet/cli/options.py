"""What several commands share on the command line: the ``WxH`` argument type
(:func:`size_arg`)."""

from __future__ import annotations

import argparse

from tracknet.errors import UserError
from tracknet.utils import parse_size


def size_arg(text: str) -> tuple[int, int]:
    """``"512x288"`` -> ``(512, 288)`` as an argparse type (:func:`tracknet.utils.parse_size`)."""
    try:
        return parse_size(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
