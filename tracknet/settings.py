"""Settings given by name, made into ``key=value`` overrides of a run's configuration.

The one mapping from a named setting to its configuration key: ``tracknet predict``'s options
(declared in :mod:`tracknet.cli.options`, each an alias of a key), the Python API's keyword
arguments (:meth:`Tracker.from_pretrained <tracknet.predict.api.Tracker.from_pretrained>`) and
``tracknet label``'s ``--device`` all go through :func:`config_overrides`; the defaults they show
are the configuration's own (:func:`config_default`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from tracknet.config import Config, PredictConfig
from tracknet.errors import UserError

PREDICT_KEYS = frozenset(f.name for f in dataclasses.fields(PredictConfig))
"""The plain names of :func:`config_overrides`: the ``predict.*`` settings."""


def config_overrides(settings: Mapping[str, Any]) -> list[str]:
    """``key=value`` overrides of keyword settings.

    A plain name is a ``predict.*`` setting (``batch_size=4`` -> ``predict.batch_size=4``), a
    dotted name a full configuration key (``**{"model.frames": 3}``); a mapping value stands for
    its keys (``live={"drop": "none"}`` -> ``predict.live.drop=none``).

    Raises:
        UserError: a plain name that is not a ``predict`` setting.
    """
    out: list[str] = []
    for key, value in settings.items():
        if "." not in key:
            if key not in PREDICT_KEYS:
                known = ", ".join(sorted(PREDICT_KEYS))
                raise UserError(f"unknown predict setting {key!r} (one of: {known})")
            key = f"predict.{key}"
        if isinstance(value, Mapping):
            out += config_overrides({f"{key}.{k}": v for k, v in value.items()})
        else:
            out.append(f"{key}={json.dumps(value)}")
    return out


def config_default(key: str) -> Any:
    """The default of a full configuration key (``predict.half`` -> ``False``).

    Raises:
        KeyError: no such key.
    """
    value: Any = Config()
    for part in key.split("."):
        if not dataclasses.is_dataclass(value) or part not in {
            f.name for f in dataclasses.fields(value)
        }:
            raise KeyError(f"no configuration key {key!r}")
        value = getattr(value, part)
    return value
