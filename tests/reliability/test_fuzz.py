"""Property-based tests: the CSV readers, the config parser and the codec's decode never crash
(only clear user errors), and never return NaN or coordinates outside the frame."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tracknet.config import Config, ConfigError, load_config
from tracknet.data.codec import HeatmapCodec
from tracknet.errors import DataError
from tracknet.io.labels import DataProblems, read_any_labels, read_ball_csv, read_tennis_csv

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TMP = Path(tempfile.mkdtemp(prefix="tracknet-fuzz-"))

CELLS = st.one_of(
    st.integers(-5, 40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e309", "abc", "0.5", "3.0", "-0", "1,2"]),
    st.sampled_from([f"{i:04d}.jpg" for i in range(6)] + ["x.png", "../0001.jpg"]),
    st.text(max_size=5),
)
HEADERS = st.sampled_from(
    [
        "Frame,Visibility,X,Y",
        "file name,visibility,x-coordinate,y-coordinate,status",
        "frame,vis,x,y",
        "File Name,Visibility,X,Y",
        "a,b,c",
        "",
    ]
)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=6), max_size=12)
FRAME_SIZES = st.one_of(st.none(), st.tuples(st.integers(1, 64), st.integers(1, 64)))


def _csv_text(header: str, rows: list[list[str]]) -> str:
    return "\n".join([header, *(",".join(r) for r in rows)]) + "\n"


def _check(labels, frame_size, frame_count=None) -> None:
    for v in (labels.x, labels.y):
        assert np.isfinite(v).all()
        assert (v >= -0.5).all()
    if frame_size is not None:
        assert (labels.x <= frame_size[0]).all() and (labels.y <= frame_size[1]).all()
    assert (labels.frame >= 0).all() and (np.diff(labels.frame) > 0).all(), "sorted, unique"
    if frame_count is not None:
        assert (labels.frame < frame_count).all()
    assert set(labels.visibility.tolist()) <= {0, 1, 2, 3}


@FUZZ
@given(
    header=HEADERS,
    rows=ROWS,
    frame_count=st.one_of(st.none(), st.integers(0, 12)),
    frame_size=FRAME_SIZES,
    strict=st.booleans(),
)
def test_ball_csv_reader(header, rows, frame_count, frame_size, strict):
    problems = DataProblems(strict=strict)
    _read_and_check(
        TMP / "ball.csv",
        _csv_text(header, rows),
        lambda path: read_ball_csv(path, frame_count, frame_size, problems),
        frame_size,
        frame_count,
    )


@FUZZ
@given(
    header=HEADERS,
    rows=ROWS,
    names=st.one_of(st.none(), st.just([f"{i:04d}.jpg" for i in range(6)])),
    frame_size=FRAME_SIZES,
    strict=st.booleans(),
)
def test_tennis_csv_reader(header, rows, names, frame_size, strict):
    problems = DataProblems(strict=strict)
    _read_and_check(
        TMP / "Label.csv",
        _csv_text(header, rows),
        lambda path: read_tennis_csv(path, names, frame_size, problems),
        frame_size,
        None if names is None else len(names),
    )


def _read_and_check(path, text, read, frame_size, frame_count):
    """Write ``text`` to ``path`` and read it: a clear DataError, or labels that make sense."""
    path.write_text(text)
    try:
        labels = read(path)
    except DataError:
        return
    _check(labels, frame_size, frame_count)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_labels_reader_on_arbitrary_bytes(data):
    path = TMP / "any.csv"
    path.write_bytes(data)
    try:
        labels = read_any_labels(path)
    except DataError:
        return
    _check(labels, None)


KEYS = [
    "train.max_steps",
    "train.lr",
    "train.loss",
    "train.crop",
    "model.input_size",
    "model.frames",
    "model.decoder.channels",
    "model.heatmap.sigma",
    "data.format",
    "data.visible_codes",
    "data.split.ratios",
    "predict.device",
    "run.dir",
    "train",
    "nope",
    "train.nope",
    "model.decoder",
]
VALUES = st.one_of(
    st.sampled_from(
        ["1", "-3", "0", "1e9", "abc", "null", "[]", "[1,2]", "[1,2,3]", "[a", "{a: 1}", "true"]
    ),
    st.sampled_from(["focal", "tennis", "[512,288]", "[0,0]", "1.5", "''", "???", "${x}"]),
    st.text(max_size=8),
)


@FUZZ
@given(
    items=st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=4), raw=st.text(max_size=6)
)
def test_config_overrides(items, raw):
    overrides = [f"{k}={v}" for k, v in items] + ([raw] if raw else [])
    try:
        cfg = load_config(overrides=overrides)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc).strip() or "config" in str(exc).lower()
        return
    assert isinstance(cfg, Config)


@FUZZ
@given(text=st.text(max_size=120))
def test_config_file(text):
    path = TMP / "cfg.yaml"
    path.write_text(text)
    try:
        cfg = load_config(path)
    except ConfigError:
        return
    assert isinstance(cfg, Config)


FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)


@FUZZ
@given(
    logits=st.integers(1, 9).flatmap(
        lambda h: st.integers(1, 9).flatmap(
            lambda w: arrays(np.float32, (2, h, w), elements=FLOATS)
        )
    ),
    frame=st.one_of(st.none(), st.tuples(st.integers(1, 3000), st.integers(1, 3000))),
    resize=st.sampled_from(["stretch", "letterbox"]),
    input_size=st.tuples(st.integers(1, 64), st.integers(1, 64)),
    top_k=st.integers(1, 4),
)
def test_codec_decode(logits, frame, resize, input_size, top_k):
    hh, wh = logits.shape[-2:]
    codec = HeatmapCodec(input_size, (wh, hh), sigma=1.0, resize=resize)
    det = codec.decode(torch.from_numpy(logits), frame, top_k=top_k)
    w, h = frame if frame is not None else input_size
    for xy in (det.xy, det.candidates_xy):
        assert torch.isfinite(xy).all()
        assert (xy[..., 0] >= -0.5).all() and (xy[..., 0] <= w - 0.5).all()
        assert (xy[..., 1] >= -0.5).all() and (xy[..., 1] <= h - 0.5).all()
    for score in (det.score, det.candidates_score):
        assert torch.isfinite(score).all() and (score >= 0).all() and (score <= 1).all()
    assert not math.isnan(float(det.candidates_mass.sum()))
