"""``tracknet models [NAME] [--json]``: the models that ship with tracknet and their figures."""

from __future__ import annotations

import argparse
import json

from tracknet.errors import UserError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="one bundled model: its whole card")
    parser.add_argument("--json", action="store_true", help="the cards as JSON")
    parser.add_argument("--path", action="store_true", help="print the model's folder only")
    parser.set_defaults(run=run)


def _figure(figures: dict, key: str) -> str:
    value = figures.get(key)
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


def run(args: argparse.Namespace) -> int:
    from tracknet.models.zoo import bundled_models  # start-up time: tracknet.models loads torch

    models = bundled_models()
    if args.name is not None:
        if args.name not in models:
            raise UserError(
                f"no bundled model {args.name!r}; bundled: {', '.join(models) or 'none'}"
            )
        models = {args.name: models[args.name]}
    if args.path:
        for model in models.values():
            print(model.path)
        return 0
    if args.json:
        print(json.dumps({n: {"path": str(m.path), **m.card} for n, m in models.items()}, indent=2))
        return 0
    if args.name is not None:
        model = models[args.name]
        print(f"{model.name}: {model.summary}")
        print(f"  folder: {model.path}  ({model.size_bytes / 1e6:.1f} MB of weights)")
        for key, value in model.card.items():
            if key not in ("name", "summary"):
                print(f"  {key}: {json.dumps(value) if isinstance(value, dict | list) else value}")
        return 0
    width = max([12, *(len(name) for name in models)])
    print(f"{'name':<{width}} {'sport':<10} {'held-out acc':>12} {'F1':>6} {'MB':>5}  summary")
    for model in models.values():
        figures = model.card.get("figures", {}).get("held_out", {})
        print(
            f"{model.name:<{width}} {model.card.get('sport', '-'):<10} "
            f"{_figure(figures, 'accuracy'):>12} {_figure(figures, 'f1'):>6} "
            f"{model.size_bytes / 1e6:>5.1f}  {model.summary}"
        )
    if not models:
        print("(none bundled)")
    print("Use one with --checkpoint NAME; `tracknet models NAME` prints its card.")
    return 0
