"""The ``tracknet synth`` command's helpers: reading a ``WIDTHxHEIGHT`` option."""

from __future__ import annotations

import pytest

from tracknet.data.synth import parse_size
from tracknet.errors import UserError


def test_parse_size():
    assert parse_size("1280x720") == (1280, 720)
    assert parse_size(" 320 X 180 ") == (320, 180)
    for text in ("1280", "axb", "1280x-720"):
        with pytest.raises(UserError, match="WIDTHxHEIGHT"):
            parse_size(text)
    for text in ("10x10", "7681x720", "1280x4321"):
        with pytest.raises(UserError, match="out of range"):
            parse_size(text)
