"""Writing a dataset: the files do not depend on the number of worker processes."""

from __future__ import annotations

from tracknet.data.synth import synthesize

SIZE = (320, 180)


def test_files_do_not_depend_on_workers(tmp_path):
    one = synthesize(tmp_path / "a", "tennis", clips=2, frames=3, size=SIZE, seed=9, workers=1)
    two = synthesize(tmp_path / "b", "tennis", clips=2, frames=3, size=SIZE, seed=9, workers=2)
    for left, right in zip(one, two, strict=True):
        for name in ("0000.jpg", "0002.jpg", "Label.csv"):
            assert (left / name).read_bytes() == (right / name).read_bytes()
