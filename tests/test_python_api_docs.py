"""docs/python_api.md runs: its ``python`` blocks are executed in order, in one namespace, in a
folder holding a tiny run at ``runs/demo/run`` and a video ``match.mp4`` (as a notebook would).
The run's model is the bright-spot stub (:class:`tests.infer.conftest.BrightSpotModel`), so the
examples find a ball.

A block whose first line is ``# not run ...`` is only compiled (it needs a camera); a block whose
first line is ``# needs pandas`` runs where pandas is installed.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

from tests.infer.conftest import (
    line_positions,
    make_tiny_data,
    make_tiny_run,
    stub_loader,
    write_spot_video,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "python_api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text())


def test_the_page_has_examples():
    found = blocks()
    assert len(found) >= 6
    assert any("Tracker.from_pretrained" in b for b in found)
    assert any(".stream(" in b for b in found) and any(".predict(" in b for b in found)


def test_every_example_runs(tmp_path, tiny_dinov3, monkeypatch, capsys):
    data = make_tiny_data(tmp_path / "data")
    make_tiny_run(tmp_path / "runs" / "demo" / "run", data, tiny_dinov3)
    write_spot_video(tmp_path / "match.mp4", line_positions(30))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("tracknet.predict.api.load_run", stub_loader())
    namespace: dict = {"__name__": "python_api_md"}
    ran = 0
    for i, code in enumerate(blocks()):
        first = code.lstrip().splitlines()[0]
        compiled = compile(code, f"{DOC.name} block {i + 1}", "exec")
        if first.startswith("# not run"):
            continue
        if first.startswith("# needs pandas") and importlib.util.find_spec("pandas") is None:
            continue
        exec(compiled, namespace)  # the documentation's own example
        ran += 1
    assert ran >= 6
    out = capsys.readouterr().out
    assert "Tracker(" in out and "first ball at frame" in out
    assert re.search(r"30 frames, ball seen in [1-9]", out)
    assert (tmp_path / "match_ball.csv").is_file()
    assert (tmp_path / "runs" / "pred" / "match_ball.csv").is_file()
    shutil.rmtree(tmp_path / "runs" / "pred")


@pytest.mark.parametrize("name", ["README.md"])
def test_the_readme_shows_the_api(name):
    text = (DOC.parents[1] / name).read_text()
    assert "from tracknet import Tracker" in text and "docs/python_api.md" in text
