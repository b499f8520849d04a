"""``tracknet synth``: options checked, clips written, a summary printed."""

from __future__ import annotations

import pytest

from tracknet.cli import main


def test_cli_synth(tmp_path, capsys):
    out = tmp_path / "data"
    args = ["synth", str(out), "--format", "generic", "--clips", "1", "--frames", "4"]
    assert main([*args, "--size", "160x96", "--seed", "3"]) == 0
    assert (out / "clip_0000.mp4").exists() and (out / "clip_0000_ball.csv").exists()
    assert "wrote 1 generic clip" in capsys.readouterr().out


@pytest.mark.parametrize("size", ["1280", "axb", "10x10", "1280x-720"])
def test_cli_rejects_bad_sizes(tmp_path, capsys, size):
    assert main(["synth", str(tmp_path), "--size", size]) == 2
    assert "--size" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--clips", "0", "--clips must be at least 1"),
        ("--frames", "0", "--frames must be at least 1"),
        ("--fps", "0", "--fps must be positive"),
        ("--workers", "0", "--workers must be at least 1"),
    ],
)
def test_cli_rejects_bad_options(tmp_path, capsys, option, value, message):
    assert main(["synth", str(tmp_path / "data"), option, value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
