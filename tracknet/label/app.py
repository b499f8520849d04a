"""The ASGI app of ``tracknet label``: the page, the frames, and a small JSON API over the store.

Routes (JSON unless said otherwise; errors are ``{"error": "..."}`` with a 4xx status):

* ``GET /``: the page (``static/index.html``); ``GET /static/NAME``: its scripts (``app.js``,
  ``draw.js``, ``sync.js``) and style sheet (``style.css``); nothing else is served from disk.
* ``GET /api/info``: source, frame count and size, layout, label file, version, whether a
  model runs and whether a restarted server comes back at the same address (``reconnects``).
* ``GET /api/frames/{i}.jpg``: frame ``i`` as JPEG.
* ``GET /api/labels[?since=V]``: the confirmed labels (or the changes after version V).
* ``POST /api/labels`` ``{"base", "edits": [{"frame", "label" or null, "expect"?}]}``: edits
  as one; ``expect`` (a label or null), when given, is what the frame must hold now (an undo or
  redo: what this tab wrote there), else the edit is refused with 409.
* ``PUT /api/labels/{i}`` ``{"base", "visibility", "x", "y", "status"}``;
  ``DELETE /api/labels/{i}?base=V``: one frame.
* ``POST /api/accept`` ``{"base", "frames": [...]}``: confirm the model's suggestions.
* ``POST /api/interpolate`` ``{"base", "frame"}``: fill the gap around a frame.
* ``GET /api/suggestions?since=N``: the model's progress and the predictions after the first N.
* ``GET /api/review``: the review queue (:mod:`tracknet.label.doubt`).

Writes answer ``{"version", "changes"}``: the new version and every change after ``base`` (the
client's own and other tabs'), so the page stays in step. A write based on a version older than
the last change of one of its frames, or whose ``expect`` does not hold, is refused with 409,
the same changes and the refused frames' saved labels.

Safety: only SOURCE's frames (by number) and the static files listed are served; any other path
is a 404. Write requests must be ``application/json`` (415 otherwise), at most 1 MiB (413), and,
when the browser says where they come from (``Origin``), come from this server's own page (403).
With a ``token``, every request must carry it (``?token=`` once, then a cookie) or gets 401;
``allowed_hosts`` (the loopback names when bound to 127.0.0.1) refuses other ``Host`` headers,
which stops DNS-rebinding pages. The parsing and the guard are :mod:`tracknet.label.web`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracknet.errors import DataError, StorageError
from tracknet.label.confirmed import Label, make_label
from tracknet.label.frames import FrameServer
from tracknet.label.source import LabelSource
from tracknet.label.store import LabelStore, StaleEditError
from tracknet.label.suggest import Suggestions, interpolation, review_queue
from tracknet.label.web import (
    Guard,
    HTTPError,
    check_fields,
    error_response,
    integer_field,
    json_body,
    number_field,
    query_integer,
    shown,
)

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "draw.js": "text/javascript; charset=utf-8",
    "sync.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}


@dataclass
class LabelSession:
    """Everything one ``tracknet label`` serves: the source, its store, frames and model."""

    source: LabelSource
    store: LabelStore
    frames: FrameServer
    suggestions: Suggestions | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        if self.suggestions is not None:
            self.suggestions.stop()
        self.frames.close()
        self.store.close()


class _Api:
    """The endpoints, bound to one :class:`LabelSession`."""

    def __init__(self, session: LabelSession) -> None:
        self.s = session
        self._review: tuple[tuple, list[dict]] | None = None  # (what it was computed from, queue)

    # ------------------------------------------------------------------ helpers
    def _frame(self, frame: int, where: str) -> int:
        n = self.s.source.frame_count
        if not 0 <= frame < n:
            raise HTTPError(422, f"{where}: frame {frame} out of range (0-{n - 1})")
        return frame

    def _label(self, data: dict, where: str) -> Label:
        kind = data.get("visibility", "visible")
        if not isinstance(kind, str):
            raise HTTPError(422, f"{where}: 'visibility' must be a string, got {shown(kind)}")
        x = number_field(data, "x", where) if kind != "none" or "x" in data else 0.0
        y = number_field(data, "y", where) if kind != "none" or "y" in data else 0.0
        status = data.get("status", 0)
        if isinstance(status, bool) or not isinstance(status, int):
            raise HTTPError(422, f"{where}: 'status' must be 0, 1 or 2, got {shown(status)}")
        code = data.get("code")  # given when a label is restored (undo): keep its code
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            raise HTTPError(
                422, f"{where}: 'code' must be a visibility code 0-3, got {shown(code)}"
            )
        try:
            return make_label(
                kind, x, y, status, self.s.store.layout, self.s.source.frame_size, code
            )
        except ValueError as exc:
            raise HTTPError(422, f"{where}: {exc}") from None

    def _changes(self, base: int, also: Sequence[int] = ()) -> dict:
        """The changes after ``base``, and the saved labels of the frames ``also`` (a refused
        edit's frames, which may have changed before ``base``)."""
        store = self.s.store
        current = store.changes_of(also)
        version, changes = store.changes_since(base)
        seen = {frame for frame, _, _ in changes}
        changes += [change for change in current if change[0] not in seen]
        return {"version": version, "changes": [_change(*change) for change in changes]}

    async def _apply(
        self,
        edits: list[tuple[int, Label | None]],
        base: int,
        expected: dict[int, Label | None] | None = None,
    ) -> JSONResponse:
        try:
            await run_in_threadpool(self.s.store.apply, edits, base, expected)
        except StaleEditError as exc:
            return error_response(
                409, str(exc), frames=exc.frames, **self._changes(base, exc.frames)
            )
        except ValueError as exc:
            return error_response(422, str(exc))
        except StorageError as exc:
            return error_response(507, f"the label file could not be written: {exc}")
        return JSONResponse(self._changes(base))

    # ------------------------------------------------------------------ read
    async def info(self, request: Request) -> JSONResponse:
        src, store = self.s.source, self.s.store
        return JSONResponse(
            {
                "name": src.name,
                "source": str(src.path),
                "frames": src.frame_count,
                "width": src.frame_size[0],
                "height": src.frame_size[1],
                "fps": src.fps,
                "layout": store.layout,
                "labels_path": str(store.path),
                "version": store.version,
                "replayed": store.replayed,
                "model": self.s.suggestions is not None,
                # a restart of this server listens at the same address (not with --port 0)
                "reconnects": bool(self.s.extra.get("reconnects", True)),
            }
        )

    async def frame(self, request: Request) -> Response:
        index = request.path_params["index"]
        if not 0 <= index < self.s.source.frame_count:
            n = self.s.source.frame_count
            return error_response(404, f"frame {index} out of range (0-{n - 1})")
        try:
            data = await run_in_threadpool(self.s.frames.jpeg, index)
        except DataError as exc:
            return error_response(404, f"frame {index} cannot be read: {exc}")
        # not cached by the browser: another SOURCE may be served on this port next time (the
        # page keeps its own few frames, the server its cache)
        headers = {"Cache-Control": "no-store"}
        return Response(data, media_type="image/jpeg", headers=headers)

    async def labels(self, request: Request) -> JSONResponse:
        raw = request.query_params.get("since")
        if raw is not None:
            since = query_integer(raw, signed=True)
            if since is None:
                return error_response(422, f"'since' must be an integer version, got {shown(raw)}")
            return JSONResponse(self._changes(since))
        store = self.s.store
        version = store.version
        labels = [{"frame": f, **label.to_json()} for f, label in sorted(store.labels().items())]
        return JSONResponse({"version": version, "labels": labels})

    async def suggestions(self, request: Request) -> JSONResponse:
        raw = request.query_params.get("since", "0")
        since = query_integer(raw)
        if since is None:
            return error_response(422, f"'since' must be a non-negative integer, got {shown(raw)}")
        if self.s.suggestions is None:
            return JSONResponse({"state": "off", "done": 0, "total": 0, "next": 0, "items": []})
        return JSONResponse(self.s.suggestions.since(since))

    async def review(self, request: Request) -> JSONResponse:
        if self.s.suggestions is None:
            return JSONResponse({"frames": []})
        suggestions, store = self.s.suggestions, self.s.store
        # the queue changes only with new predictions or edits: computed once for each
        key = (id(suggestions), suggestions.done, suggestions.state, store.version)
        if self._review is None or self._review[0] != key:
            queue = await run_in_threadpool(review_queue, suggestions, store.labels())
            self._review = (key, queue)
        return JSONResponse({"frames": self._review[1]})

    # ------------------------------------------------------------------ write
    async def edit_batch(self, request: Request) -> JSONResponse:
        data = await json_body(request)
        check_fields(data, {"base", "edits"})
        base = integer_field(data, "base")
        raw = data.get("edits")
        if not isinstance(raw, list) or not raw:
            raise HTTPError(422, "'edits' must be a non-empty list of {frame, label}")
        edits: list[tuple[int, Label | None]] = []
        expected: dict[int, Label | None] = {}
        for i, item in enumerate(raw):
            where = f"edits[{i}]"
            if not isinstance(item, dict):
                raise HTTPError(422, f"{where} must be an object {{frame, label}}")
            check_fields(item, {"frame", "label", "expect"}, where)
            frame = self._frame(integer_field(item, "frame", where), where)
            edits.append((frame, self._optional_label(item.get("label"), f"{where}.label")))
            if "expect" in item:
                expected[frame] = self._optional_label(item["expect"], f"{where}.expect")
        return await self._apply(edits, base, expected)

    def _optional_label(self, data: Any, where: str) -> Label | None:
        """A label object of a request, or None for ``null``."""
        if data is None:
            return None
        if not isinstance(data, dict):
            raise HTTPError(422, f"{where} must be an object or null")
        check_fields(data, {"visibility", "x", "y", "status", "code"}, where)
        return self._label(data, where)

    async def put_label(self, request: Request) -> JSONResponse:
        data = await json_body(request)
        check_fields(data, {"base", "visibility", "x", "y", "status", "code"})
        base = integer_field(data, "base")
        frame = self._frame(request.path_params["frame"], "path")
        label = self._label({k: v for k, v in data.items() if k != "base"}, "body")
        return await self._apply([(frame, label)], base)

    async def delete_label(self, request: Request) -> JSONResponse:
        raw = request.query_params.get("base", "")
        base = query_integer(raw)
        if base is None:
            return error_response(
                422,
                f"'base' (the version the page shows, ASCII digits) is required, got {shown(raw)}",
            )
        frame = self._frame(request.path_params["frame"], "path")
        return await self._apply([(frame, None)], base)

    async def accept(self, request: Request) -> JSONResponse:
        data = await json_body(request)
        check_fields(data, {"base", "frames"})
        base = integer_field(data, "base")
        frames = data.get("frames")
        if not isinstance(frames, list) or not frames:
            raise HTTPError(422, "'frames' must be a non-empty list of frame numbers")
        if self.s.suggestions is None:
            raise HTTPError(422, "no model is running: start with --checkpoint RUN_DIR")
        confirmed = self.s.store.labels()
        edits: list[tuple[int, Label | None]] = []
        for i, frame in enumerate(frames):
            frame = self._frame(integer_field({"frame": frame}, "frame", f"frames[{i}]"), "frames")
            suggestion = self.s.suggestions.get(frame)
            if suggestion is None:
                raise HTTPError(422, f"frame {frame} has no suggestion yet")
            if frame in confirmed:
                continue  # a confirmed label is never overwritten by a suggestion
            kind = "visible" if suggestion.visible else "none"
            label = make_label(
                kind, suggestion.x, suggestion.y, 0, self.s.store.layout, self.s.source.frame_size
            )
            edits.append((frame, label))
        if not edits:
            raise HTTPError(422, "nothing to accept: the frames are labelled already")
        return await self._apply(edits, base)

    async def interpolate(self, request: Request) -> JSONResponse:
        data = await json_body(request)
        check_fields(data, {"base", "frame"})
        base = integer_field(data, "base")
        frame = self._frame(integer_field(data, "frame"), "body")
        filled = interpolation(self.s.store.labels(), frame)
        if not filled:
            raise HTTPError(
                422,
                f"frame {frame} is not in a gap between two confirmed ball positions "
                "(or the gap is labelled already)",
            )
        layout, size = self.s.store.layout, self.s.source.frame_size
        edits: list[tuple[int, Label | None]] = [
            (f, make_label("visible", x, y, 0, layout, size)) for f, x, y in filled
        ]
        return await self._apply(edits, base)


def _change(frame: int, label: Label | None, version: int) -> dict:
    return {"frame": frame, "label": None if label is None else label.to_json(), "version": version}


# --------------------------------------------------------------------------- static files
def _static_response(name: str) -> Response:
    media = "text/html; charset=utf-8" if name == "index.html" else STATIC_FILES[name]
    data = (STATIC_DIR / name).read_bytes()
    return Response(data, media_type=media, headers={"Cache-Control": "no-cache"})


async def _index(request: Request) -> Response:
    return _static_response("index.html")


async def _static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:  # a fixed list: no path from the URL ever reaches the disk
        return error_response(404, "not found")
    return _static_response(name)


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, f"not found: {request.url.path}")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return error_response(exc.status, exc.message)


def create_app(
    session: LabelSession, token: str | None = None, allowed_hosts: list[str] | None = None
) -> Starlette:
    """The Starlette app serving ``session``.

    Args:
        session: source, store, frames and (optionally) suggestions.
        token: required on every request when given (a non-loopback ``--host``).
        allowed_hosts: accepted ``Host`` header names (None: any).
    """
    api = _Api(session)
    routes = [
        Route("/", _index),
        Route("/static/{name}", _static),
        Route("/api/info", api.info),
        Route("/api/frames/{index:int}.jpg", api.frame),
        Route("/api/labels", api.labels, methods=["GET"]),
        Route("/api/labels", api.edit_batch, methods=["POST"]),
        Route("/api/labels/{frame:int}", api.put_label, methods=["PUT"]),
        Route("/api/labels/{frame:int}", api.delete_label, methods=["DELETE"]),
        Route("/api/accept", api.accept, methods=["POST"]),
        Route("/api/interpolate", api.interpolate, methods=["POST"]),
        Route("/api/suggestions", api.suggestions),
        Route("/api/review", api.review),
    ]
    middleware = [Middleware(Guard, token=token)]
    if allowed_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: _not_found, HTTPError: _http_error},
    )
    app.state.session = session
    return app
