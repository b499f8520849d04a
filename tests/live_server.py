"""Live-stream fixtures without a network: an MPEG-TS clip served on 127.0.0.1 by a tiny HTTP
server, with a script of what each connection gets (the whole clip, part of it then a cut, or a
404), so the tests can lose a stream and watch it come back."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Sequence
from pathlib import Path

from tests.infer.conftest import FRAME_SIZE, spot_frame
from tracknet.io.video.writer import VideoWriter


def write_ts_clip(path: Path, positions: Sequence, size=FRAME_SIZE, fps: float = 25.0) -> Path:
    """An H.264 MPEG-TS clip of bright-spot frames (``tests.infer.conftest.spot_frame``)."""
    with VideoWriter(path, fps=fps, size=size, codec="libx264") as writer:
        for xy in positions:
            writer.write(spot_frame(xy, size))
    return path


class ClipServer:
    """Serve ``data`` at ``http://127.0.0.1:PORT/clip.ts``.

    Args:
        data: the bytes of the clip.
        plan: what each successive connection gets: ``"all"``, a fraction (``0.5``: the first
            half of the bytes, then the connection is cut) or ``404``; after the plan, 404.
    """

    def __init__(self, data: bytes, plan: Sequence = ("all",)) -> None:
        self.data = data
        self.plan = list(plan)
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (http.server's name)
                step = server.plan[server.requests] if server.requests < len(server.plan) else 404
                server.requests += 1
                if step == 404:
                    self.send_error(404)
                    return
                body = server.data if step == "all" else server.data[: int(len(server.data) * step)]
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                if step == "all":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True  # a cut: the client sees the stream end early

            def log_message(self, *args):  # quiet
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/clip.ts"

    def __enter__(self) -> ClipServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
