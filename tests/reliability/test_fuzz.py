"""Property-based tests: the config parser accepts every valid override and answers anything
else with one clear :class:`ConfigError`; the codec's decode never returns NaN or coordinates
outside the frame. The label CSV readers have their own file, ``test_fuzz_labels.py``."""

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

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TMP = Path(tempfile.mkdtemp(prefix="tracknet-fuzz-"))


# --------------------------------------------------------------------------- config
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
    """Arbitrary overrides: a valid configuration or one clear ConfigError."""
    overrides = [f"{k}={v}" for k, v in items] + ([raw] if raw else [])
    try:
        cfg = load_config(overrides=overrides)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc).strip() or "config" in str(exc).lower()
        return
    assert isinstance(cfg, Config)


SIZES = st.lists(st.integers(1, 4096), min_size=2, max_size=2)
VALID_OVERRIDES = {
    "train.max_steps": st.integers(0, 10**6),
    "train.lr": st.floats(1e-8, 1.0),
    "train.loss": st.sampled_from(["focal", "bce", "wbce"]),
    "train.crop": st.one_of(st.just([]), SIZES),
    "model.input_size": SIZES,
    "model.frames": st.integers(1, 9),
    "model.heatmap.sigma": st.floats(0.1, 10.0),
    "data.format": st.sampled_from([None, "tennis", "shuttlecock", "generic"]),
    "data.resize": st.sampled_from(["stretch", "letterbox"]),
    "eval.tolerance_space": st.sampled_from(["original", "input"]),
}


def _yaml(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return repr(value)


@FUZZ
@given(
    items=st.lists(
        st.sampled_from(sorted(VALID_OVERRIDES)).flatmap(
            lambda k: st.tuples(st.just(k), VALID_OVERRIDES[k])
        ),
        max_size=5,
    )
)
def test_config_accepts_valid_overrides(items):
    """Valid values are accepted and read back (the last override of a key wins)."""
    cfg = load_config(overrides=[f"{k}={_yaml(v)}" for k, v in items])
    for key, value in dict(items).items():
        got = cfg
        for part in key.split("."):
            got = getattr(got, part)
        assert got == value, key


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
