"""The ``tracknet`` entry point, run as a user runs it: in a child process, through
``python -m tracknet`` and the installed ``tracknet`` console script.

Every subcommand (and every sub-subcommand, such as ``bench data``) must answer ``--help``; the
top level must answer ``--help`` and ``--version`` without loading torch (the subcommands are
imported lazily for that).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.conftest import tracknet_popen
from tracknet import __version__
from tracknet.cli import COMMANDS, build_parser

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def tracknet(*args: str, timeout: float = 120) -> tuple[int, str]:
    """``python -m tracknet ARGS`` in a child process: exit status and its output."""
    child = tracknet_popen(*args, env=ENV)
    try:
        out, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    return child.returncode, out


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-parsers of ``parser`` by name (none when it takes no subcommand)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _command_lines() -> list[tuple[str, ...]]:
    """Every subcommand, and below it every sub-subcommand, as the words typed before --help."""
    lines = []
    for name in COMMANDS:
        lines.append((name,))
        nested = _subcommands(_subcommands(build_parser(name))[name])
        lines += [(name, sub) for sub in nested]
    return lines


def test_help_lists_every_subcommand():
    code, out = tracknet("--help")
    assert code == 0, out
    assert out.startswith("usage: tracknet")
    for name, (_, summary) in COMMANDS.items():
        assert name in out and summary in out


def test_no_arguments_prints_the_help():
    code, out = tracknet()
    assert code == 0, out
    assert out.startswith("usage: tracknet") and all(name in out for name in COMMANDS)


def test_version():
    code, out = tracknet("--version")
    assert code == 0, out
    assert out.strip() == f"tracknet {__version__}"


@pytest.mark.parametrize("words", _command_lines(), ids=" ".join)
def test_every_subcommand_answers_help(words):
    code, out = tracknet(*words, "--help")
    assert code == 0, out
    assert out.startswith(f"usage: tracknet {' '.join(words)}"), out
    assert "Traceback" not in out


def test_unknown_subcommand_is_a_usage_error():
    code, out = tracknet("nope")
    assert code == 2
    assert "invalid choice: 'nope'" in out and "Traceback" not in out


def test_top_level_help_does_not_load_torch():
    """``tracknet --help`` stays fast: only the chosen subcommand's module is imported."""
    script = (
        "import contextlib, io, sys\n"
        "from tracknet.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "    main(['--version'])\n"
        "print(sorted(m for m in ('torch', 'transformers', 'av') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_console_script_is_the_same_entry_point():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "tracknet"]
    assert script.value == "tracknet.cli:entry"  # main, then a quick exit (cli.exit_now)
    installed = Path(sys.executable).parent / "tracknet"
    if not installed.is_file():
        pytest.skip(f"no tracknet console script beside {sys.executable} (not pip-installed)")
    out = subprocess.run(
        [str(installed), "--version"], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"tracknet {__version__}"


# Overrides anywhere after the command (#23): each line puts one override before an option and
# one after it; the parsed overrides must be both, in order.
SPLIT_OVERRIDES = [
    ("train", "--config", "c.yaml", "a.b=1", "--resume", "R", "c.d=2"),
    ("eval", "--checkpoint", "RUN", "--split", "test", "a.b=1", "--out", "D", "c.d=2"),
    ("cache", "DATA", "a.b=1", "--input-size", "64x48", "c.d=2"),
    ("demo", "a.b=1", "--out", "D", "c.d=2"),
    ("bench", "model", "a.b=1", "--batch-size", "2", "c.d=2"),
    ("bench", "predict", "a.b=1", "--frames", "8", "c.d=2"),
]


@pytest.mark.parametrize("words", SPLIT_OVERRIDES, ids=lambda w: " ".join(w[:2]))
def test_overrides_are_accepted_before_and_after_options(words):
    args = build_parser(words[0]).parse_args(list(words))
    assert args.overrides[-2:] == ["a.b=1", "c.d=2"], args


def test_predict_takes_overrides_between_its_options():
    words = ["predict", "m.mp4", "--checkpoint", "RUN", "a.b=1", "--out", "D", "c.d=2"]
    args = build_parser("predict").parse_args(words)
    assert args.inputs == ["m.mp4", "a.b=1", "c.d=2"] and args.out == "D"
