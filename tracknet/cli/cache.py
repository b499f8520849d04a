"""``tracknet cache DATA [overrides...]``: build a dataset's frame caches ahead of training.

Every video clip of the dataset (all splits; image folders too with ``data.cache_images=true``)
is decoded once at the model input size of the configuration (``--config`` and ``key=value``
overrides, or ``--input-size``) and stored where ``data.cache`` says
(:mod:`tracknet.data.frame_cache`); a progress bar runs per clip, and the end reports the
location and the size on disk. Training builds missing caches by itself; this
command does it ahead, e.g. while nothing else runs.
"""

from __future__ import annotations

import argparse

from tracknet.cli.options import size_arg
from tracknet.config import load_config


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="dataset root (tennis, shuttlecock or generic layout)")
    parser.add_argument("--config", help="the run's YAML config (input size, resize, data.cache)")
    parser.add_argument("--input-size", type=size_arg, help="WxH model input, e.g. 512x288")
    parser.add_argument("overrides", nargs="*", default=[], help="config overrides key=value")
    parser.epilog = (
        "Options go before DATA, overrides after it: "
        "tracknet cache --input-size 512x288 /data/badminton data.cache=/scratch/frames"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # start-up time: the dataset module loads torch, too heavy for `tracknet --help`
    from tracknet.data.dataset import cache_dataset

    overrides = [f"data.root={args.data}", *args.overrides]
    if args.input_size:
        overrides.append(f"model.input_size=[{args.input_size[0]},{args.input_size[1]}]")
    report = cache_dataset(load_config(args.config, overrides))
    if report.directory is None:
        print("data.cache is off: nothing to build")
        return 0
    print(
        f"frame cache: {report.clips} clip(s), {report.built} built in {report.seconds:.1f} s, "
        f"{report.clips - report.built - len(report.failed)} up to date"
    )
    print(f"  location: {report.directory}")
    print(
        f"  size: {report.bytes / 2**20:.1f} MiB for these clips, "
        f"{report.folder_bytes / 2**20:.1f} MiB in the folder"
    )
    if report.failed:
        print(f"  not cached (cannot be read): {', '.join(report.failed)}")
    return 1 if report.failed else 0
