"""Options that several commands share: the flags that are aliases of configuration keys, and
the ``WxH`` argument type (:func:`size_arg`).

An :class:`Option` is declared once, here, by its flag and its configuration key (``--half`` is
``predict.half=true``); its default is the key's in :class:`tracknet.config.Config`. From the
declaration come the flag's argument (:func:`add_options`: its help ends with the key and the
default, e.g. ``(predict.half=true, default false)``) and what a parsed command line sets
(:func:`settings_of`): a ``{key: value}`` mapping that :func:`tracknet.settings.config_overrides`
makes into overrides, as it does with the Python API's keyword arguments. Not given, an option
leaves the run's own value.

:data:`PREDICT_OPTIONS` are ``tracknet predict``'s; ``tracknet label`` takes :data:`DEVICE`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tracknet.errors import UserError
from tracknet.settings import config_default
from tracknet.utils import parse_size


def size_arg(text: str) -> tuple[int, int]:
    """``"512x288"`` -> ``(512, 288)`` as an argparse type (:func:`tracknet.utils.parse_size`)."""
    try:
        return parse_size(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def size_list(text: str) -> list[int]:
    """``"512x288"`` -> ``[512, 288]``, a ``[W, H]`` configuration value (argparse type)."""
    return list(size_arg(text))


def positive_int(text: str) -> int:
    """An integer of at least 1 (argparse type)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def show(value: Any) -> str:
    """A value as a configuration file writes it (``true``, ``none``, ``300.0``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Option:
    """A flag that is an alias of a configuration key.

    Attributes:
        flag: the flag, e.g. ``--batch-size``.
        key: the full configuration key it sets, e.g. ``predict.batch_size``.
        help: what it does; the key and the default are added.
        sets: a switch: the value it sets (``--half``: True; ``--no-track``: False); None: the
            flag takes a value.
        type: reads the value (default: the type of the key's default).
        choices: the values it takes.
        const: the value when the flag is given alone (``--fill``: ``fit``).
        metavar: the value's name in the help.
    """

    flag: str
    key: str
    help: str
    sets: Any = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    const: str | None = None
    metavar: str | None = None
    default_text: str | None = None  # the help's default where the key's says nothing useful

    @property
    def dest(self) -> str:
        """The attribute of the parsed arguments (``--no-track`` -> ``no_track``)."""
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def default(self) -> Any:
        """The key's default in the configuration."""
        return config_default(self.key)

    def help_text(self) -> str:
        """The help with the key (and the value a switch sets) and the default."""
        key = self.key if self.sets is None else f"{self.key}={show(self.sets)}"
        default = self.default_text or show(self.default)
        return f"{self.help} ({key}, default {default})"

    def add_to(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        """Add the flag; not given, it is None (the run's value holds)."""
        common: dict[str, Any] = {"dest": self.dest, "default": None, "help": self.help_text()}
        if self.sets is not None:
            parser.add_argument(self.flag, action="store_const", const=self.sets, **common)
            return
        parser.add_argument(
            self.flag,
            type=self.type or type(self.default),
            choices=self.choices,
            nargs="?" if self.const is not None else None,
            const=self.const,
            metavar=self.metavar,
            **common,
        )


DEVICE = Option("--device", "predict.device", "the model's device: auto, cpu, cuda, cuda:1 ...")

PREDICT_OPTIONS: tuple[Option, ...] = (
    Option("--smooth", "predict.smooth", "drop isolated outliers, fill gaps <= --max-gap", True),
    Option("--max-gap", "predict.max_gap", "longest gap --smooth fills", metavar="K"),
    Option("--no-track", "predict.track", "raw detections: no gate, no trajectory stage", False),
    Option(
        "--gate-px",
        "predict.gate_px",
        "reject a jump farther than this from the predicted position",
    ),
    DEVICE,
    Option("--batch-size", "predict.batch_size", "windows per forward pass", type=positive_int),
    Option("--half", "predict.half", "bf16/fp16 autocast", True),
    Option(
        "--precision",
        "predict.precision",
        "autocast without --half: auto = bf16 on CUDA, fp32 elsewhere; native = bf16 on CUDA "
        "and on a CPU with native bf16 (AVX512-BF16 or AMX), fp32 elsewhere",
        choices=("auto", "native", "fp32", "bf16", "fp16"),
    ),
    Option(
        "--input-size",
        "model.input_size",
        "run the model at this input size: smaller is faster and less accurate (the trade-off "
        "table of docs/benchmarks.md); the heatmap follows",
        type=size_list,
        metavar="WxH",
        default_text="the run's own",
    ),
    Option("--compile", "predict.compile", "torch.compile the model (slow first batches)", True),
    Option(
        "--fill",
        "predict.trajectory.fill",
        "also write the gap positions filled in inside a flight (fit, also when given alone: "
        "from its curve; linear), flagged 1 in a fifth column Filled; without it Visibility 1 "
        "means seen",
        choices=("fit", "linear"),
        const="fit",
    ),
)
"""``tracknet predict``'s options that set ``predict.*`` keys."""


SETTINGS_GROUP = (
    "settings",
    "Each sets the configuration key named, over the run's value and any key=value item; not "
    "given, the run's value holds (the default shown is the configuration's).",
)
"""The title and description of the group :func:`add_options` puts options in."""


def add_options(
    parser: argparse.ArgumentParser, options: Iterable[Option], group: bool = False
) -> None:
    """Add ``options`` to ``parser`` (``group``: in a group of their own, :data:`SETTINGS_GROUP`)."""
    target = parser.add_argument_group(*SETTINGS_GROUP) if group else parser
    for option in options:
        option.add_to(target)


def settings_of(args: argparse.Namespace, options: Iterable[Option]) -> dict[str, Any]:
    """``{key: value}`` of the options given (for :func:`tracknet.settings.config_overrides`)."""
    values = {option.key: getattr(args, option.dest) for option in options}
    return {key: value for key, value in values.items() if value is not None}
