"""The helpers every command shares: the one ``WIDTHxHEIGHT`` reader, the one reading of the
launcher's rank."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracknet.errors import UserError
from tracknet.utils import launcher_local_rank, launcher_rank, parse_size

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "tracknet"


def test_parse_size_reads_width_by_height():
    assert parse_size("512x288") == (512, 288)
    assert parse_size(" 320 X 180 ") == (320, 180)


@pytest.mark.parametrize("text", ["512", "axb", "512x", "x288", "512x288x3", "+512x288", "1.5x2"])
def test_parse_size_rejects_what_is_not_width_by_height(text):
    with pytest.raises(UserError, match=r"expected WIDTHxHEIGHT such as 512x288, got '"):
        parse_size(text)


def test_parse_size_names_the_option_and_the_range():
    with pytest.raises(UserError, match=r"^--size: expected WIDTHxHEIGHT"):
        parse_size("1280x-720", option="--size")
    with pytest.raises(UserError, match=r"^0x288 is out of range \(at least 1x1\)$"):
        parse_size("0x288")
    with pytest.raises(UserError, match=r"^--size: 7681x720 is out of range \(32x32 to 7680x4320"):
        parse_size("7681x720", low=32, high=(7680, 4320), option="--size")
    assert parse_size("7680x4320", low=32, high=(7680, 4320)) == (7680, 4320)


def test_no_command_keeps_a_width_by_height_reader_of_its_own():
    """Every ``WxH`` goes through :func:`parse_size`: no other module splits on ``x``."""
    splitting = re.compile(r"""\.split\(\s*["'][xX]["']\s*\)|\[xX\]""")
    found = [
        str(p.relative_to(PACKAGE_ROOT))
        for p in PACKAGE_ROOT.rglob("*.py")
        if p.name != "utils.py" and splitting.search(p.read_text())
    ]
    assert found == []


def test_the_launcher_s_rank_is_read_in_one_place(monkeypatch):
    """Only :mod:`tracknet.utils` reads the launcher's variables; the others ask it."""
    variable = re.compile(r"""["'](LOCAL_RANK|RANK|WORLD_SIZE|OMPI_COMM_WORLD_\w+|PMI_\w+)["']""")
    readers = [
        str(p.relative_to(PACKAGE_ROOT))
        for p in PACKAGE_ROOT.rglob("*.py")
        if variable.search(p.read_text())
    ]
    assert readers == ["utils.py"]
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert launcher_rank() == (0, 1) and launcher_local_rank() == 0
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert launcher_rank() == (3, 4) and launcher_local_rank() == 3
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert launcher_local_rank() == 1
