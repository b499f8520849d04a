"""``tracknet label SOURCE [--labels FILE] [--checkpoint RUN_DIR] [--host H] [--port P] [--open]``."""

from __future__ import annotations

import argparse

from tracknet.cli.options import DEVICE, add_options, settings_of
from tracknet.settings import config_overrides


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", help="a video, an image folder, or a clip of a dataset (tennis, shuttlecock, ...)"
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="label file to read and write (default: the clip's own Label.csv or "
        "<rally>_ball.csv, else <stem>_ball.csv beside SOURCE)",
    )
    parser.add_argument(
        "--checkpoint", metavar="RUN_DIR", help="a trained run whose model suggests labels"
    )
    add_options(parser, [DEVICE])
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other requires the printed token)",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    parser.add_argument("--open", action="store_true", help="open the page in the browser")
    parser.epilog = (
        "Serves a labelling page until Ctrl-C. Every edit is saved at once (journal + atomic "
        "rewrite of the label file); only confirmed frames are written. Keys: press ? on the page."
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # start-up time: the web stack is imported only for this command
    from tracknet.label.server import serve

    overrides = config_overrides(settings_of(args, [DEVICE]))
    return serve(
        args.source,
        labels=args.labels,
        checkpoint=args.checkpoint,
        host=args.host,
        port=args.port,
        open_browser=args.open,
        overrides=overrides,
    )
