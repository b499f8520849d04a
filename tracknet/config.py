"""The typed configuration tree of tracknet.

One dataclass per section, mirroring the package: ``model``, ``data``, ``train``, ``eval``,
``predict`` and ``run``. A configuration is built from three layers, later ones winning:

1. the dataclass defaults below,
2. a YAML file (``configs/*.yaml`` or a run folder's ``config.yaml``),
3. dotted command-line overrides such as ``model.heatmap.size=[256,144]``.

Conventions: sizes are written ``[W, H]`` (width first) in the configuration and ``(H, W)`` in
tensors; :func:`wh_to_hw` is the one place that converts. Unknown keys and values of the wrong type
raise :class:`ConfigError` naming the full dotted key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from tracknet.errors import UserError
from tracknet.utils import atomic_write_text

DEFAULT_MODEL_ID = "facebook/dinov3-vits16-pretrain-lvd1689m"


class ConfigError(UserError, ValueError):
    """A configuration that cannot be used: unknown key, wrong type or invalid value."""


# --------------------------------------------------------------------------- model
@dataclass
class BackboneConfig:
    freeze: bool = False
    device_map: str | None = "auto"
    local_files_only: bool = True
    patch_size: int = 16


@dataclass
class DecoderConfig:
    channels: list[int] = field(default_factory=lambda: [384, 256, 128, 64])
    upsample: list[int] = field(default_factory=lambda: [2, 2, 2])
    blocks_per_stage: int = 1
    norm: str = "gn"
    activation: str = "gelu"
    use_depthwise: bool = True
    use_se: bool = False
    se_reduction: int = 8
    dropout: float = 0.0


@dataclass
class HeatmapConfig:
    size: list[int] = field(default_factory=lambda: [256, 144])  # [W, H]
    sigma: float = 2.5  # in heatmap pixels
    # gaussian (peak 1, std sigma) | disk (1 within radius sigma, else 0: TrackNetV2's target)
    target: str = "gaussian"


@dataclass
class TemporalConfig:
    """How the T patch grids of a window are mixed (used when ``model.frames > 1``)."""

    fusion: str = "attention"  # attention | concat | none
    layers: int = 1
    heads: int = 4


@dataclass
class DetailConfig:
    """A light convolutional path on the raw frames (frame differences, sub-patch detail)."""

    enabled: bool = False
    channels: int = 32
    scale: int = 2  # works at 1/scale of the input resolution
    use_diff: bool = True
    # the clip's median frame as extra input (tracknet.data.background; TrackNetV3's idea):
    # finds the still or slow ball that frame differences miss
    background: bool = False


@dataclass
class UNetConfig:
    """The TrackNetV2-style baseline (``model.type=unet``)."""

    base_channels: int = 64  # TrackNetV2's width; 16-32 for quick CPU comparisons
    # conv_bn_relu | conv_relu_bn (TrackNetV2's Keras and PyTorch code: biased conv, ReLU, then BN)
    order: str = "conv_bn_relu"


@dataclass
class ModelConfig:
    type: str = "vit"  # vit | unet (the TrackNetV2-style baseline)
    pretrained_model_name: str = DEFAULT_MODEL_ID
    input_size: list[int] = field(default_factory=lambda: [1280, 720])  # [W, H]
    frames: int = 1
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    heatmap: HeatmapConfig = field(default_factory=HeatmapConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    detail: DetailConfig = field(default_factory=DetailConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)


# --------------------------------------------------------------------------- data
@dataclass
class SplitConfig:
    """Clip paths or globs relative to ``data.root``; empty lists fall back to ``ratios``."""

    train: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    ratios: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    seed: int = 0


@dataclass
class AugmentConfig:
    enabled: bool = True
    hflip: float = 0.5  # probability
    scale: list[float] = field(default_factory=lambda: [0.85, 1.15])
    translate: float = 0.08  # fraction of the frame size
    color_jitter: float = 0.2  # brightness / contrast / saturation strength
    blur: float = 0.1  # probability of a light Gaussian blur


@dataclass
class LabelsConfig:
    """How label CSVs are read (``data.labels``): by every dataset reader and by ``eval --gt``.

    A column name picks that column of the header (case, spaces and punctuation ignored); ""
    finds it by its usual spellings (``Frame``/``frame_num``, ``Visibility``/``Ball``/``visible``,
    ``X``/``x-coordinate`` ...). Which visibility values mean "visible" is ``data.visible_codes``.
    """

    frame: str = ""  # the frame-number column of ball CSVs
    visibility: str = ""  # "none": the file has none (a row with coordinates is a visible ball)
    x: str = ""
    y: str = ""
    coords: str = "auto"  # auto | pixels | normalized (fractions of the frame width / height)
    missing: str = "unlabelled"  # frames without a row: unlabelled (not used) | no_ball


@dataclass
class DataConfig:
    root: str = ""
    format: str | None = None  # tennis | shuttlecock | generic; detected when None
    split: SplitConfig = field(default_factory=SplitConfig)
    frames_per_clip: int | None = None  # defaults to model.frames
    stride: int = 1
    resize: str = "stretch"  # stretch | letterbox
    visible_codes: list[int] = field(default_factory=lambda: [1, 2])
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    strict: bool = False
    num_workers: int = 2
    # frames decoded once, resized, memory-mapped (tracknet.data.frame_cache): auto | off | DIR
    cache: str = "auto"
    cache_images: bool = False  # cache image folders too (videos only by default)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


# --------------------------------------------------------------------------- train
@dataclass
class TrainConfig:
    max_steps: int = 2000  # optimizer steps
    batch_size: int = 8  # per process
    grad_accum: int = 1
    lr: float = 1e-3
    backbone_lr_scale: float = 0.1
    weight_decay: float = 0.05
    warmup_steps: int = 100
    min_lr_ratio: float = 0.01
    grad_clip: float = 1.0
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (auto: bf16 on GPUs, fp32 on CPU)
    loss: str = "focal"  # focal | bce | wbce | wbce_sum (TrackNetV2's: summed, not averaged)
    optimizer: str = "adamw"  # adamw | adadelta (TrackNetV2's, lr 1.0)
    pos_weight: float = 1.0  # for bce
    focal_alpha: float = 2.0
    focal_beta: float = 4.0
    eval_every: int = 200
    log_every: int = 10
    save_every: int = 200
    max_nonfinite: int = 10  # consecutive non-finite losses before the run stops
    crop: list[int] = field(default_factory=list)  # [W, H] random training crops; [] = whole frames
    crop_ball_prob: float = 0.8  # how often a crop is placed to contain the ball
    save_backbone: bool = False
    seed: int = 0
    init_from: str = ""  # a run folder (or its best/ or last/) whose weights start this run
    init_strict: bool = True  # refuse weights that do not fit; false: keep those at their init


# --------------------------------------------------------------------------- eval / predict
@dataclass
class EvalConfig:
    tolerance_px: float = 4.0
    tolerance_space: str = "original"  # original (WASB, d < tol) | input (TrackNetV2/V3, d <= tol)
    threshold: float = 0.5
    split: str = "test"
    event_tolerance: int = 2  # frames: a predicted hit/bounce matches a label this close


@dataclass
class TrajectoryConfig:
    """The trajectory stage of ``tracknet predict`` (``predict.trajectory``).

    Runs on the tracker's gated output, before ``predict.smooth``: flight segments, outliers
    rejected (written as no ball), hits and bounces, gaps filled from the fitted flight
    (:mod:`tracknet.track.trajectory`). Pixel and frame values are for 720-pixel-high frames at
    30 fps and scale with the video.
    """

    # write the detections no flight explains as no ball (precision up, F1 within about a point
    # either way: docs/results.md, "Trajectory stage"); --fill and --events run the stage anyway
    enabled: bool = False
    # gap positions written to the ball CSV (flagged Filled=1; applies the stage, enabled or
    # not): none | fit (the flight's curve) | linear (between the two neighbouring detections)
    fill: str = "none"
    window: int = 8  # detections per side in the local fits
    max_gap: int = 8  # missing frames that end a flight
    outlier_px: float = 12.0  # how far a detection may lie from its flight's prediction
    outlier_speed: float = 0.5  # extra room per px/frame of ball speed
    break_threshold: float = 15.0  # change-point statistic of a hit or bounce
    min_turn_px: float = 2.0  # smallest velocity change (px/frame) at a hit or bounce
    alternation: float = 1.0  # bonus for hits and bounces taking turns (0: badminton)
    max_fill_gap: int | None = None  # longest gap filled (frames); null: max_gap
    max_degree: int = 3  # highest degree of a flight's curve (1-3)


@dataclass
class LiveConfig:
    """Live sources of ``tracknet predict`` (``predict.live``): a URL, ``/dev/videoN`` or ``-``."""

    # frames that arrive while the model is busy: oldest = the oldest waiting frame is dropped
    # (a Visibility 0 row, counted); none = every frame waits its turn (latency grows)
    drop: str = "oldest"
    queue: int = 1  # frames that may wait while the model is busy (drop=oldest)
    reconnect: int = 3  # attempts to reopen a lost stream; 0 = none, -1 = forever
    reconnect_delay: float = 1.0  # seconds before each attempt
    timeout: float = 10.0  # seconds without data after which the stream counts as lost
    format: str = ""  # container format when it cannot be probed (e.g. mpegts, h264); "" = probe
    # FFmpeg options of the input, e.g. predict.live.options.rtsp_transport=tcp
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class StaticConfig:
    """Static distractors (``predict.static``, :mod:`tracknet.track.static`): candidates at a
    place where the detector fires in at least ``min_share`` of a video's frames (within
    ``radius_px`` of one point, for 720-pixel-high frames, scaled to the video) are dropped and
    the video is tracked again, offline. Live streams are tracked without it."""

    enabled: bool = False
    radius_px: float = 3.0
    min_share: float = 0.2


@dataclass
class ExitConfig:
    """The ball out through the top of the picture (``predict.exits``,
    :mod:`tracknet.track.exits`): after the track rises to within ``edge_px`` of the top edge and
    is lost, every frame is no ball (detections dropped, nothing filled) until a detection within
    ``entry_px`` of the top edge or ``max_frames`` frames. Pixels for 720-pixel-high frames,
    scaled to the video; offline (live streams are tracked without it)."""

    enabled: bool = False
    edge_px: float = 30.0
    entry_px: float = 60.0
    max_frames: int = 90


@dataclass
class PredictConfig:
    batch_size: int = 8
    device: str = "auto"
    half: bool = False
    # autocast without predict.half: auto = bf16 on CUDA (fp16 without bf16), fp32 elsewhere;
    # native = the same, and bf16 on a CPU that computes it natively (AVX512-BF16 or AMX)
    precision: str = "auto"
    compile: bool = False  # torch.compile the model's encode and decode (slow first batches)
    track: bool = True
    gate_px: float = 300.0  # reject a detection this far (original pixels) from the predicted one
    smooth: bool = False
    max_gap: int = 5  # frames filled by interpolation when smoothing
    trail: int = 10  # frames of fading trail in the overlay
    top_k: int = 5  # candidate blobs handed to the tracker
    # the ViT's attention kernel at inference: auto = eager (matmul + softmax) on a CPU in bf16
    # for inputs up to 1024 patches, where it beat PyTorch's fused CPU kernel, else sdpa
    attention: str = "auto"
    # how a T-frame model's overlapping windows make one frame's heatmap: centre = decode each
    # frame once, from the window centred on it (cheapest); weighted = decode all T frames of
    # every window and average each frame's T heatmaps (probabilities), weighted towards the
    # window centre (T=3: 1, 2, 1)
    combine: str = "centre"
    # convolution weights (decoder, head, detail path, U-Net) in channels-last memory: oneDNN's
    # fast layout on CPUs, tensor cores' on GPUs (docs/benchmarks.md has the A/B)
    channels_last: bool = True
    # streaming: cache the detail path's first convolution once per frame (split by the frame's
    # role in a window, exact up to float rounding) instead of building its inputs per window
    detail_stems: bool = True
    live: LiveConfig = field(default_factory=LiveConfig)
    trajectory: TrajectoryConfig = field(default_factory=TrajectoryConfig)
    static: StaticConfig = field(default_factory=StaticConfig)
    exits: ExitConfig = field(default_factory=ExitConfig)


@dataclass
class RunConfig:
    dir: str = "runs/default"


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    run: RunConfig = field(default_factory=RunConfig)


_CHOICES = {
    "model.type": ("vit", "unet"),
    "model.decoder.norm": ("gn", "bn"),
    "model.decoder.activation": ("gelu", "relu", "silu"),
    "model.temporal.fusion": ("attention", "concat", "none"),
    "data.format": (None, "tennis", "shuttlecock", "generic"),
    "data.resize": ("stretch", "letterbox"),
    "data.labels.coords": ("auto", "pixels", "normalized"),
    "data.labels.missing": ("unlabelled", "no_ball"),
    "train.precision": ("auto", "fp32", "bf16", "fp16"),
    "train.loss": ("focal", "bce", "wbce", "wbce_sum"),
    "train.optimizer": ("adamw", "adadelta"),
    "model.heatmap.target": ("gaussian", "disk"),
    "model.unet.order": ("conv_bn_relu", "conv_relu_bn"),
    "eval.tolerance_space": ("original", "input"),
    "predict.attention": ("auto", "sdpa", "eager"),
    "predict.combine": ("centre", "weighted"),
    "predict.precision": ("auto", "native", "fp32", "bf16", "fp16"),
    "predict.live.drop": ("oldest", "none"),
    "predict.trajectory.fill": ("none", "fit", "linear"),
}


# --------------------------------------------------------------------------- helpers
def as_wh(size_wh: Sequence[int]) -> tuple[int, int]:
    """A configuration size ``[W, H]`` as a ``(W, H)`` tuple of ints."""
    if len(size_wh) != 2:
        raise ConfigError(f"a size must be [W, H], got {list(size_wh)}")
    w, h = (int(v) for v in size_wh)
    return w, h


def wh_to_hw(size_wh: Sequence[int]) -> tuple[int, int]:
    """Convert a configuration size ``[W, H]`` to a tensor size ``(H, W)``.

    This is the only place where the two orders meet.
    """
    w, h = as_wh(size_wh)
    return h, w


def _explain(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", None) or "?"
    msg = str(exc).split("\n")[0]
    return f"config key '{key}': {msg}"


def _validate(cfg: Config) -> None:
    for key, choices in _CHOICES.items():
        value: Any = cfg
        for part in key.split("."):
            value = getattr(value, part)
        if value not in choices:
            valid = ", ".join(str(c) for c in choices if c is not None)
            raise ConfigError(f"config key '{key}': {value!r} is not one of: {valid}")
    for key, size in (
        ("model.input_size", cfg.model.input_size),
        ("model.heatmap.size", cfg.model.heatmap.size),
    ):
        if len(size) != 2 or min(size) <= 0:
            raise ConfigError(f"config key '{key}': expected [W, H] of positive ints, got {size}")
    if cfg.train.crop and (len(cfg.train.crop) != 2 or min(cfg.train.crop) <= 0):
        raise ConfigError(f"config key 'train.crop': expected [W, H] or [], got {cfg.train.crop}")
    if cfg.model.frames < 1:
        raise ConfigError(f"config key 'model.frames': must be >= 1, got {cfg.model.frames}")
    dec = cfg.model.decoder
    if len(dec.channels) != len(dec.upsample) + 1:
        raise ConfigError(
            "config key 'model.decoder.channels': needs len(upsample) + 1 entries "
            f"(got {len(dec.channels)} channels for {len(dec.upsample)} upsample stages)"
        )


def _load_yaml(path: Path) -> DictConfig:
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        loaded = OmegaConf.load(path)
    except Exception as exc:  # yaml.YAMLError and friends
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"config file {path} must hold a mapping at its top level")
    return loaded


def load_config(
    path: str | Path | None = None, overrides: Iterable[str] = (), base: Config | None = None
) -> Config:
    """Build the typed configuration.

    Args:
        path: a YAML file (or a run folder holding ``config.yaml``); ``None`` for the defaults.
        overrides: dotted ``key=value`` strings, e.g. ``["train.max_steps=10"]``.
        base: start from this configuration instead of the defaults.

    Returns:
        The merged, validated :class:`Config`.

    Raises:
        ConfigError: unknown key, wrong type or invalid value; the message names the key.
    """
    schema = OmegaConf.structured(base if base is not None else Config())
    layers: list[Any] = [schema]
    sources: list[str] = ["the defaults"]  # what each layer came from, for error messages
    if path is not None:
        p = Path(path)
        if p.is_dir():
            p = p / "config.yaml"
        layers.append(_load_yaml(p))
        sources.append(f"config file {p}")
    overrides = list(overrides)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value")
    for item in overrides:
        try:
            layers.append(OmegaConf.from_dotlist([item]))
            sources.append(f"override {item!r}")
        except OmegaConfBaseException as exc:
            raise ConfigError(_explain(exc)) from exc
        except Exception as exc:  # yaml / parser errors of a malformed value or key
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"override {item!r} cannot be parsed ({first})") from exc
    try:
        merged = OmegaConf.merge(*layers)
        cfg = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        raise ConfigError(_explain(exc)) from exc
    except (TypeError, ValueError) as exc:  # e.g. a mapping given where a list is expected
        culprit = next(
            (
                src
                for src, layer in zip(sources[1:], layers[1:], strict=True)
                if _breaks(schema, layer)
            ),
            "the configuration",
        )
        raise ConfigError(f"{culprit}: a value of the wrong kind ({exc})") from exc
    assert isinstance(cfg, Config)
    _validate(cfg)
    return cfg


def _breaks(schema: DictConfig, layer: Any) -> bool:
    """Whether merging ``layer`` alone onto ``schema`` fails."""
    try:
        OmegaConf.merge(schema, layer)
    except Exception:  # what fails is reported by the caller
        return True
    return False


def to_yaml(cfg: Config) -> str:
    """The configuration as YAML text (what every run writes as ``config.yaml``)."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def save_config(cfg: Config, directory: str | Path) -> Path:
    """Write ``config.yaml`` (resolved) into ``directory`` and return its path."""
    out = Path(directory) / "config.yaml"
    atomic_write_text(out, to_yaml(cfg))
    return out
