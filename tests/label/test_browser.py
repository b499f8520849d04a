"""End to end in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

A synthetic clip is labelled by clicking where ``tracknet synth`` drew the ball, with the keys a
person would use; the server is killed (SIGKILL) mid-session and restarted; the label file must
then hold exactly what was confirmed. Screenshots of the page go to ``TRACKNET_SCREENSHOTS``
(e.g. ``docs/images``) when it is set, else to the test's temporary folder.

Under ``CI=true`` these tests never skip: a missing browser is a failure (``.ci/run`` installs it).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.label.conftest import LiveApp, Server, free_port
from tests.label.helpers import fill
from tracknet.io.labels import read_ball_csv
from tracknet.label.server import open_session
from tracknet.label.suggest import Suggestions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 720}  # the 320x180 clip fits at zoom 3: clicks are exact


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright  # optional: the dev extra
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not Path(CHROMIUM).exists():
        why = "playwright is not installed" if sync_playwright is None else f"no {CHROMIUM}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the browser tests: {why} (.ci/run installs chromium)")
        pytest.skip(f"{why}: apt-get install chromium; pip install playwright")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def screenshot(page, name: str, tmp_path: Path) -> None:
    """A small PNG of the page (three quarters size, 256 colours)."""
    folder = Path(os.environ.get("TRACKNET_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(page.page.screenshot())).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
    palette = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    palette.save(folder / f"label_{name}.png", optimize=True)


class Page:
    """The labelling page with the helpers a test needs."""

    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page(viewport=VIEWPORT)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(url)
        self.page.evaluate("window.tracknet.ready")

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    @property
    def frame(self) -> int:
        return self.js("window.tracknet.state.frame")

    def key(self, key: str, frame: int | None = None) -> None:
        self.page.keyboard.press(key)
        if frame is not None:
            self.page.wait_for_function(
                "f => window.tracknet.state.frame === f && !window.tracknet.state.loading",
                arg=frame,
            )

    def walk_to(self, frame: int) -> None:
        """With the arrow keys (Shift: ten frames)."""
        while self.frame != frame:
            step = frame - self.frame
            if abs(step) >= 10:
                self.key("Shift+ArrowRight" if step > 0 else "Shift+ArrowLeft")
            else:
                self.key("ArrowRight" if step > 0 else "ArrowLeft")
            self.page.wait_for_function("() => !window.tracknet.state.loading")

    def point(self, x: float, y: float) -> tuple[int, int]:
        return tuple(self.js("([x, y]) => window.tracknet.imageToClient(x, y)", [x, y]))

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.point(x, y))

    def saved(self) -> None:
        self.js("window.tracknet.idle()")

    def message(self) -> str:
        return self.page.inner_text("#message")


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0").rstrip(".")


def test_label_a_clip_in_the_browser_kill_the_server_and_lose_nothing(
    browser, datasets, video, tiny_run, tmp_path
):
    truth = read_ball_csv(datasets["generic"] / "clip_0000_ball.csv")
    ball = {
        int(f): (round(x), round(y))
        for f, v, x, y in zip(truth.frame, truth.visibility, truth.x, truth.y, strict=True)
        if v == 1
    }
    frames = sorted(ball)
    assert len(frames) >= 10, "the synthetic clip should show the ball in most frames"
    labels_path = video.with_name("clip_0000_ball.csv")
    port = free_port()
    args = (str(video), "--checkpoint", str(tiny_run), "--port", str(port))
    expected: dict[int, tuple[int, str, str, int]] = {}  # frame -> Visibility, X, Y, Status

    server = Server(*args)
    try:
        page = Page(browser, server.url)
        view = page.js("window.tracknet.state.view")
        assert view["scale"] == 3 and view["ox"] == int(view["ox"]), view

        # 1. click the ball in four frames (Home, then the arrow keys)
        page.key("Home", 0)
        for frame in frames[:4]:
            page.walk_to(frame)
            page.click(*ball[frame])
            expected[frame] = (1, *map(str, ball[frame]), 0)
        page.saved()
        assert page.js("window.tracknet.state.labels.size") == 4
        # 2. occluded: point at the ball and press O (kept visible in Frame,Visibility,X,Y)
        occluded = frames[4]
        page.walk_to(occluded)
        page.page.mouse.move(*page.point(*ball[occluded]))
        page.key("o")
        expected[occluded] = (1, *map(str, ball[occluded]), 0)
        # 3. no ball, then a click undone with Z
        page.key("ArrowRight", occluded + 1)
        page.key("n")
        expected[occluded + 1] = (0, "0", "0", 0)
        undone = frames[6]
        page.walk_to(undone)
        page.click(*ball[undone])
        page.saved()
        page.key("z")
        page.saved()
        assert page.js(f"window.tracknet.state.labels.has({undone})") is False
        # 4. a bounce on a labelled frame
        page.walk_to(frames[2])
        page.key("b")
        expected[frames[2]] = (*expected[frames[2]][:3], 2)
        page.saved()
        assert "hit" in page.page.inner_text("#help")  # the help overlay lists the keys
        page.key("?")
        assert page.page.is_visible("#help")
        screenshot(page, "help", tmp_path)
        page.key("Escape")

        # 5. the model's suggestions: wait for them, then accept two with A
        page.page.wait_for_function(
            "() => window.tracknet.state.sugg.state === 'done'", timeout=120_000
        )
        suggestions = {
            item[0]: item
            for item in page.js("fetch('/api/suggestions').then(r => r.json())")["items"]
        }
        assert sorted(suggestions) == list(range(20))
        page.key("Home", 0)
        accepted = []
        for _ in range(2):
            page.key("u")  # the next unlabelled frame
            page.page.wait_for_function("() => !window.tracknet.state.loading")
            accepted.append(page.frame)
            page.key("a")
            page.saved()
        for frame in accepted:
            _, vis, x, y, _ = suggestions[frame]
            expected[frame] = (1, number(x), number(y), 0) if vis else (0, "0", "0", 0)
        page.walk_to(frames[3])
        page.page.mouse.move(*page.point(*ball[frames[3]]))
        page.saved()
        screenshot(page, "page", tmp_path)
        for _ in range(4):  # zoom in at the ball: native pixels, the labels on top
            page.page.mouse.wheel(0, -300)
        page.page.mouse.move(*page.point(*ball[frames[3]]))
        assert page.js("window.tracknet.state.view.scale") > 9
        screenshot(page, "zoom", tmp_path)
        page.key("0")  # fit again
        text = labels_path.read_text()

        # 6. kill the server mid-session: the page says edits are not saved
        server.kill()
        page.walk_to(frames[7])
        page.click(*ball[frames[7]])  # made while the server is down: NOT saved
        page.page.wait_for_function(
            "() => ['NOT SAVED', 'offline'].some("
            "t => document.querySelector('#saved').textContent.includes(t))"
        )
        assert labels_path.read_text() == text  # nothing half-written by the kill

        # 7. restart: the page reconnects, shows what was saved, and labelling goes on
        server = Server(*args)
        page.page.wait_for_function(
            f"() => !window.tracknet.state.labels.has({frames[7]}) && window.tracknet.state.online",
            timeout=20_000,
        )
        page.click(*ball[frames[7]])
        expected[frames[7]] = (1, *map(str, ball[frames[7]]), 0)
        page.saved()
        assert not page.errors, page.errors
    finally:
        server.kill()

    rows = ["Frame,Visibility,X,Y,Status"] + [
        ",".join(map(str, (frame, *expected[frame]))) for frame in sorted(expected)
    ]
    assert labels_path.read_text() == "\n".join(rows) + "\n"
    # what `tracknet train` reads
    got = read_ball_csv(labels_path, frame_count=20, frame_size=(320, 180))
    assert got.frame.tolist() == sorted(expected)


def test_two_tabs_never_overwrite_each_other(browser, video):
    with Server(str(video), "--port", "0") as server:
        one, two = Page(browser, server.url), Page(browser, server.url)
        for tab in (one, two):
            tab.key("Home", 0)
        two.js("window.tracknet.pausePolling(true)")  # tab two has not heard of tab one's edit
        one.click(100, 50)
        one.saved()
        two.click(120, 60)
        two.saved()
        stored = video.with_name("clip_0000_ball.csv").read_text()
        assert stored == "Frame,Visibility,X,Y\n0,1,100,50\n"  # tab two's edit was refused
        assert "changed in another tab" in two.message()  # ... and the page says so
        assert two.js("window.tracknet.state.labels.get(0).x") == 100  # showing tab one's label
        two.click(120, 60)  # now it knows: a deliberate change is accepted
        two.saved()
        assert video.with_name("clip_0000_ball.csv").read_text().endswith("0,1,120,60\n")


def state(page: Page, expression: str):
    """``window.tracknet.state.<expression>`` in the page."""
    return page.js(f"window.tracknet.state.{expression}")


def test_a_frame_whose_picture_is_not_shown_takes_no_label(browser, video):
    labels_path = video.with_name("clip_0000_ball.csv")
    port = free_port()
    server = Server(str(video), "--port", str(port))
    try:
        page = Page(browser, server.url)
        page.walk_to(5)  # frames 6-8 are fetched ahead
        server.kill()
        for _ in range(6):  # the header says 11; the picture is an older frame's
            page.key("ArrowRight")
        page.page.wait_for_function(
            "() => window.tracknet.state.frame === 11 && !window.tracknet.state.loading"
        )
        page.click(100, 50)  # on an older frame's picture: no label for frame 11
        for key in ("n", "o", "Delete"):
            page.key(key)
        assert state(page, "labels.size") == 0 and state(page, "pending.size") == 0
        assert "not shown yet" in page.message()
        assert 5 <= state(page, "imgFrame") <= 8  # what had arrived before the kill
        assert "not loaded" in page.page.inner_text("#frame-state")  # the page says so
        assert not labels_path.exists()

        server = Server(str(video), "--port", str(port))  # back: the picture follows the header
        page.page.wait_for_function("() => window.tracknet.state.imgFrame === 11", timeout=20_000)
        assert state(page, "img.src").endswith("/api/frames/11.jpg")
        assert page.page.inner_text("#frame-state") == "unlabelled"
        page.click(100, 50)
        page.saved()
        assert labels_path.read_text() == "Frame,Visibility,X,Y\n11,1,100,50\n"
        assert not page.errors, page.errors
    finally:
        server.kill()


def _suggest(session, done: bool) -> Suggestions:
    """Suggestions the test fills by hand: a straight flight with a jump, a lost ball and a
    doubtful score (a queue of a few frames once done; "loading the model" before)."""
    suggestions = Suggestions(session.source, "unused")
    session.suggestions = suggestions
    suggestions.state = "loading"
    if done:
        fill_review(suggestions)
    return suggestions


def fill_review(suggestions: Suggestions) -> None:
    line = {f: (True, 10.0 + 10 * f, 90.0, 0.99) for f in range(20)}
    line[4] = (True, 200.0, 20.0, 0.97)  # a jump away from its neighbours
    line[9] = (False, 0.0, 0.0, 0.1)  # the ball lost between two frames that have it
    line[14] = (True, 150.0, 90.0, 0.55)  # low confidence
    fill(suggestions, line)


def test_the_review_queue_and_progress_follow_a_restarted_server(browser, video):
    port = free_port()
    first = open_session(video)
    _suggest(first, done=True)
    app = LiveApp(first, port)
    try:
        page = Page(browser, app.url)
        page.page.wait_for_function(
            "() => window.tracknet.state.sugg.state === 'done' && window.tracknet.state.review.length"
        )
        queue = [r["frame"] for r in page.js("fetch('/api/review').then(r => r.json())")["frames"]]
        assert [r["frame"] for r in state(page, "review")] == queue and queue
        assert "✓" in page.page.inner_text("#model-text")
        app.stop()
        page.page.wait_for_function("() => !window.tracknet.state.online")

        second = open_session(video)  # the restarted server: its model is still loading
        suggestions = _suggest(second, done=False)
        app = LiveApp(second, port)
        page.page.wait_for_function("() => window.tracknet.state.online", timeout=20_000)
        page.page.wait_for_function(
            "() => document.querySelector('#model-text').textContent === 'loading the model…'"
        )
        assert "✓" not in page.page.inner_text("#model-text")
        assert "none" not in page.page.inner_text("#review-count")
        page.key("r")  # nothing to review yet: the page does not pretend otherwise
        assert "Nothing needs review" in page.message()

        fill_review(suggestions)  # the new server's model is done: the page gets its queue
        page.page.wait_for_function(
            "n => window.tracknet.state.review.length === n", arg=len(queue), timeout=20_000
        )
        assert [r["frame"] for r in state(page, "review")] == queue
        assert page.page.inner_text("#model-text") == "20 / 20 ✓"
        assert page.page.inner_text("#review-count") == f"({len(queue)})"
        page.key("Home", 0)
        page.key("r", queue[0] if queue[0] != 0 else queue[1])
        assert not page.errors, page.errors
    finally:
        app.stop()


def test_undo_and_redo_never_touch_another_tabs_label(browser, video):
    labels_path = video.with_name("clip_0000_ball.csv")
    with Server(str(video), "--port", "0") as server:
        a, b = Page(browser, server.url), Page(browser, server.url)
        for tab in (a, b):
            tab.key("Home", 0)
        a.click(100, 50)  # tab A labels frame 0
        a.saved()
        b.page.wait_for_function("() => window.tracknet.state.labels.has(0)")
        b.click(120, 60)  # tab B, having seen it, relabels it
        b.saved()
        a.page.wait_for_function("() => window.tracknet.state.labels.get(0).x === 120")
        a.key("z")  # A has seen B's label: its undo must not delete it
        a.saved()
        assert labels_path.read_text() == "Frame,Visibility,X,Y\n0,1,120,60\n"
        assert "after this tab's edit" in a.message()
        assert state(a, "labels.get(0).x") == 120
        a.key("z")  # the refused entry is gone: nothing else of A's to undo
        a.saved()
        assert "nothing to undo" in a.message()
        assert labels_path.read_text() == "Frame,Visibility,X,Y\n0,1,120,60\n"

        # redo: A labels frame 1 and undoes it; B labels frame 1; A's redo must not overwrite it
        for tab in (a, b):
            tab.key("ArrowRight", 1)
        a.click(100, 50)
        a.saved()
        a.key("z")
        a.saved()
        version = state(a, "version")
        b.page.wait_for_function("v => window.tracknet.state.version >= v", arg=version)
        b.click(130, 70)
        b.saved()
        a.page.wait_for_function("() => window.tracknet.state.labels.get(1)?.x === 130")
        a.key("y")
        a.saved()
        assert labels_path.read_text().endswith("\n1,1,130,70\n")
        assert "after this tab's edit" in a.message()
        b.key("z")  # B's own undo of its own label still works
        b.saved()
        assert labels_path.read_text() == "Frame,Visibility,X,Y\n0,1,120,60\n"
        assert not a.errors and not b.errors, a.errors + b.errors


@pytest.fixture
def flickering(video):
    """A server in the test's thread whose model's ball flickers on and off: a long queue."""
    session = open_session(video)
    suggestions = Suggestions(session.source, "unused")
    session.suggestions = suggestions
    fill(suggestions, {f: (f % 2 == 0, 10.0 + 10 * f, 90.0, 0.99) for f in range(20)})
    with LiveApp(session) as app:
        yield app


def test_review_ranks_of_two_digits_show_whole_and_the_doubt_is_explained(browser, flickering):
    page = Page(browser, flickering.url)
    page.page.wait_for_function("() => window.tracknet.state.review.length >= 12")
    item = page.page.locator("#review-list li").nth(11)
    rank = item.locator(".rank")
    assert rank.inner_text() == "12."
    box, panel = rank.bounding_box(), page.page.locator("#panel").bounding_box()
    assert box["x"] >= panel["x"] and box["width"] > 0  # all of "12." is on screen
    entry = state(page, "review[11]")
    text = f"frame {entry['frame']} · {entry['reason']} ({entry['need']:.2f})"
    assert item.inner_text().endswith(text)
    title = item.get_attribute("title")
    assert "doubt" in title and "(0: none, 1: most)" in title and entry["reason"] in title
    assert "how doubtful" in page.page.inner_text("#review-legend")
    assert not page.errors, page.errors


def test_a_message_neither_covers_the_frame_nor_swallows_a_click(browser, flickering):
    page = Page(browser, flickering.url)
    page.key("Home", 0)
    page.key("z")
    assert page.page.is_visible("#message") and "nothing to undo" in page.message()
    message = page.page.locator("#message").bounding_box()
    left, top = page.point(-0.5, -0.5)
    right, bottom = page.point(319.5, 179.5)
    beside = message["x"] >= right or message["x"] + message["width"] <= left
    assert beside or message["y"] >= bottom or message["y"] + message["height"] <= top
    x, y = page.point(203, 1)  # where the message used to be: the shuttle at the top edge
    assert page.js("([x, y]) => document.elementFromPoint(x, y).id", [x, y]) == "view"
    page.click(203, 1)
    page.saved()
    assert state(page, "labels.get(0).y") == 1
    assert not page.errors, page.errors


def test_enter_after_the_help_closes_does_not_reopen_it(browser, flickering):
    page = Page(browser, flickering.url)
    page.page.click("#help-button")
    assert page.page.is_visible("#help")
    page.key("Escape")
    assert not page.page.is_visible("#help")
    page.key("Enter")
    assert not page.page.is_visible("#help")
    assert page.js("document.activeElement === document.body")
    assert not page.errors, page.errors


def test_a_server_on_port_0_does_not_promise_to_reconnect(browser, video):
    server = Server(str(video), "--port", "0")
    try:
        assert "--port 0: a restart picks another port" in server.output
        page = Page(browser, server.url)
        assert state(page, "info.reconnects") is False
    finally:
        server.kill()
    page.page.wait_for_function("() => !window.tracknet.state.online")
    text = page.message()
    assert "--port 0" in text and "open the URL it prints" in text, text
    assert "the page reconnects" not in text
    page.click(100, 50)  # an edit: NOT SAVED, with the same honest advice
    page.page.wait_for_function(
        "() => document.querySelector('#saved').textContent === 'NOT SAVED'"
    )
    assert "this page cannot reconnect" in page.message()
    assert not page.errors, page.errors
