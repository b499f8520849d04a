"""Run ``tracknet label``: open the session and serve the app under uvicorn until Ctrl-C.

Binds ``127.0.0.1`` by default (then only the loopback ``Host`` names are accepted). A host that
is not a loopback address exposes the labels to the network: a random token is then required in
the URL (printed once; the page keeps it in a cookie).
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn

from tracknet.errors import UserError
from tracknet.label.app import LabelSession, create_app
from tracknet.label.frames import FrameServer
from tracknet.label.source import open_source
from tracknet.label.store import LabelStore
from tracknet.label.suggest import Suggestions
from tracknet.models.zoo import resolve_model_path

LOOPBACK_NAMES = ["127.0.0.1", "localhost"]


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost`` and the rest of 127.0.0.0/8."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_session(
    source: str | Path,
    labels: str | Path | None = None,
    checkpoint: str | Path | None = None,
    overrides: Sequence[str] = (),
    disk_cache: bool = True,
) -> LabelSession:
    """Resolve SOURCE, open its label store (replaying the journal) and start the model.

    ``disk_cache``: run the background pass that stores a video's frames as JPEG files
    (:mod:`tracknet.label.jpeg_cache`); off, frames not in memory are decoded on request.

    Raises:
        UserError: SOURCE or the label file cannot be used, or another server holds it.
    """
    src = open_source(source, labels)
    store = LabelStore(
        src.labels_path, src.layout, src.frame_count, src.frame_size, src.image_names or None
    )
    suggestions = None
    if checkpoint is not None:
        try:
            checkpoint = resolve_model_path(checkpoint)  # a bundled model's name, or a path
        except UserError:
            store.close()
            raise
        suggestions = Suggestions(src, checkpoint, overrides).start()
    return LabelSession(src, store, FrameServer(src, disk_cache=disk_cache), suggestions)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one).

    Raises:
        UserError: the address cannot be bound (in use, unknown host).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = "; pass --port 0 for a free port" if port else ""
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    return sock


def page_url(host: str, port: int, token: str | None) -> str:
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(
    source: str | Path,
    labels: str | Path | None = None,
    checkpoint: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    open_browser: bool = False,
    overrides: Sequence[str] = (),
    echo: Callable[[str], None] | None = None,
) -> int:
    """Serve the labelling page for ``source`` until interrupted; returns an exit status.

    Args:
        source: a video, an image folder or a dataset clip.
        labels: the label file (default: the one the layout expects).
        checkpoint: a run folder whose model suggests labels.
        host, port: where to listen (port 0: any free port; the URL printed says which).
        open_browser: open the page in the default browser.
        overrides: ``key=value`` overrides of the run's configuration.
        echo: where the URL and notes go (default: stdout, flushed).
    """
    echo = echo or _print
    loopback = is_loopback(host)
    token = None if loopback else secrets.token_urlsafe(18)
    sock = bind(host, port)
    try:
        session = open_session(source, labels, checkpoint, overrides)
    except BaseException:
        sock.close()
        raise
    try:
        allowed = LOOPBACK_NAMES if loopback and ":" not in host else None
        # with --port 0 a restart listens elsewhere: the page must not promise to reconnect
        session.extra["reconnects"] = port != 0
        app = create_app(session, token=token, allowed_hosts=allowed)
        url = page_url(host, sock.getsockname()[1], token)
        src, store = session.source, session.store
        echo(
            f"tracknet label: {src.path} ({src.frame_count} frames, "
            f"{src.frame_size[0]}x{src.frame_size[1]}) -> {store.path} ({store.layout} layout, "
            f"{len(store.labels())} labelled)"
        )
        if store.replayed:
            echo(f"  replayed {store.replayed} edit(s) from the journal: nothing was lost")
        if token:
            echo(f"  {host} is not a loopback address: the URL carries a token; keep it private")
        if not port:
            echo("  --port 0: a restart picks another port (an open page cannot follow it)")
        echo(f"  open {url}  (Ctrl-C to stop)")
        if open_browser:
            threading.Timer(0.5, webbrowser.open, args=(url,)).start()
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        session.close()
        sock.close()
    return 0


def _print(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()
