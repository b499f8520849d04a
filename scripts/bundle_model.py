"""Make a trained run a bundled model: ``tracknet/models/bundled/<name>/`` (maintainers' tool).

    python scripts/bundle_model.py RUN --name badminton --card card.json [--root DIR]

Writes, from the run's best weights (``RUN/best``, else what ``--checkpoint RUN`` loads):

- ``model.safetensors``, ``model.json``, ``backbone/config.json``: the model with its backbone
  (:func:`tracknet.models.serialization.save_model`), so it loads with nothing in the cache;
- ``backbone/model.safetensors`` + ``backbone/preprocessor_config.json``: the trained backbone
  in Hugging Face's layout, so ``model.pretrained_model_name=<name>`` builds the same shape for
  fine-tuning;
- ``config.yaml``: the run's configuration with the data paths emptied, the backbone named
  ``<name>`` and ``--set key=value`` applied (the post-processing chosen on validation);
- ``card.json``: ``--card`` as given (the summary, footage, licence, training and figures that
  ``tracknet models`` prints), with ``name`` and the parameter count added.

The folder is rebuilt from scratch each time (no stale files); the result is loaded back and run
on a few random windows to check that it is the run's model, output for output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf

from tracknet.config import DataConfig
from tracknet.infer.loading import load_run
from tracknet.models.serialization import resolve_checkpoint, save_model
from tracknet.models.zoo import BUNDLED_ROOT, CARD


def scrubbed_config(config_path: Path, name: str, settings: list[str] | None = None) -> str:
    """The run's ``config.yaml`` without its data paths, its backbone named ``name``, with
    ``settings`` (``key=value``: the post-processing chosen on validation) applied."""
    cfg = OmegaConf.load(config_path)
    cfg.merge_with_dotlist(list(settings or []))
    defaults = OmegaConf.structured(DataConfig())
    cfg.data.root = ""
    cfg.data.split = defaults.split
    cfg.model.pretrained_model_name = name
    cfg.train.init_from = ""
    cfg.run.dir = f"runs/{name}"
    return OmegaConf.to_yaml(cfg)


def bundle(
    run: Path, name: str, card: dict, root: Path = BUNDLED_ROOT, settings: list[str] | None = None
) -> Path:
    """Write the bundled model ``name`` from ``run`` into ``root`` and return its folder."""
    weights, config_path = resolve_checkpoint(run)
    model, _ = load_run(run)
    out = root / name
    if out.exists():
        shutil.rmtree(out)
    (out / "backbone").mkdir(parents=True)
    hf = model.backbone.model
    hf.save_pretrained(out / "backbone", safe_serialization=True)
    mean = model.image_mean.flatten().tolist()
    std = model.image_std.flatten().tolist()
    (out / "backbone" / "preprocessor_config.json").write_text(
        json.dumps({"image_mean": mean, "image_std": std}, indent=2) + "\n"
    )
    save_model(model, out, save_backbone=True)  # writes backbone/config.json and model.json last
    (out / "config.yaml").write_text(scrubbed_config(config_path, name, settings))
    params = sum(p.numel() for p in model.parameters())
    card = {"name": name, **card, "parameters": params, "source_run": str(weights)}
    (out / CARD).write_text(json.dumps(card, indent=2) + "\n")
    _check_same_outputs(run, out)
    return out


def _check_same_outputs(run: Path, out: Path) -> None:
    """The bundled model gives the run's outputs on random windows (bit for bit on the CPU)."""
    original, _ = load_run(run)
    bundled, _ = load_run(out)
    cfg = original.config
    w, h = cfg.input_size
    gen = torch.Generator().manual_seed(0)
    frames = torch.rand(2, cfg.frames, 3, h, w, generator=gen)
    kwargs = {}
    if cfg.detail.enabled and cfg.detail.background:
        kwargs["background"] = torch.rand(2, 3, h, w, generator=gen)
    with torch.no_grad():
        a, b = original(frames, **kwargs), bundled(frames, **kwargs)
    if not torch.equal(a, b):
        raise SystemExit(f"the bundled {out} does not reproduce {run}'s outputs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a trained run folder (its best/ is bundled)")
    parser.add_argument("--name", required=True)
    parser.add_argument("--card", type=Path, required=True, help="a JSON file: the model card")
    parser.add_argument("--root", type=Path, default=BUNDLED_ROOT)
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="settings of the bundled config"
    )
    args = parser.parse_args(argv)
    card = json.loads(args.card.read_text())
    out = bundle(args.run, args.name, card, args.root, args.set)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"bundled {args.name}: {out} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
