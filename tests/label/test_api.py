"""The JSON API of ``tracknet label`` through Starlette's test client: every endpoint, bad
requests, path traversal, the token, the Host check and concurrent writes."""

from __future__ import annotations

import io
import json
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from starlette.testclient import TestClient

from tests.label.helpers import fill
from tracknet.io.video.seek import read_frames
from tracknet.label.app import STATIC_DIR, STATIC_FILES, create_app
from tracknet.label.server import open_session
from tracknet.label.suggest import Suggestions, review_queue


@pytest.fixture
def session(video):
    session = open_session(video)
    yield session
    session.close()


@pytest.fixture
def client(session):
    return TestClient(create_app(session))


def put(client, frame, base, **label):
    return client.put(f"/api/labels/{frame}", json={"base": base, **label})


def test_page_static_files_and_info(client, video):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    shipped = sorted(p.name for p in STATIC_DIR.iterdir() if p.name != "index.html")
    assert shipped == sorted(STATIC_FILES) == ["app.js", "draw.js", "style.css", "sync.js"]
    for name in shipped:
        r = client.get(f"/static/{name}")
        kind = "css" if name.endswith(".css") else "javascript"
        assert r.status_code == 200 and kind in r.headers["content-type"]
        assert "http://" not in r.text and "https://" not in r.text  # no CDN: works offline
    info = client.get("/api/info").json()
    assert info == {
        "name": "clip_0000.mp4",
        "source": str(video),
        "frames": 20,
        "width": 320,
        "height": 180,
        "fps": 30.0,
        "layout": "ball",
        "labels_path": str(video.with_name("clip_0000_ball.csv")),
        "version": 0,
        "replayed": 0,
        "model": False,
        "reconnects": True,
    }


def test_frames_are_jpegs_of_the_source(client, video):
    r = client.get("/api/frames/7.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    got = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"), dtype=np.float32)
    expected = read_frames(video, [7])[0].astype(np.float32)
    assert got.shape == expected.shape and np.abs(got - expected).mean() < 3
    for bad in ("/api/frames/20.jpg", "/api/frames/-1.jpg", "/api/frames/x.jpg"):
        assert client.get(bad).status_code == 404


def test_an_image_folder_serves_its_jpeg_files_as_they_are(data):
    folder = data["tennis"] / "game1" / "Clip1"
    session = open_session(folder)
    try:
        r = TestClient(create_app(session)).get("/api/frames/3.jpg")
        assert r.content == (folder / "0003.jpg").read_bytes()
        assert TestClient(create_app(session)).get("/api/info").json()["layout"] == "tennis"
    finally:
        session.close()


def test_label_endpoints(client, session):
    r = put(client, 3, 0, visibility="visible", x=10.25, y=20)
    assert r.status_code == 200
    label = {"visibility": "visible", "x": 10.25, "y": 20.0, "status": 0, "code": 1}
    assert r.json() == {"version": 1, "changes": [{"frame": 3, "label": label, "version": 1}]}
    r = client.post(
        "/api/labels",
        json={
            "base": 1,
            "edits": [
                {"frame": 4, "label": {"visibility": "none"}},
                {"frame": 5, "label": {"visibility": "occluded", "x": 1, "y": 2, "status": 2}},
            ],
        },
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    assert [c["frame"] for c in r.json()["changes"]] == [4, 5]
    r = client.delete("/api/labels/4?base=2")
    assert r.status_code == 200
    assert r.json()["changes"] == [{"frame": 4, "label": None, "version": 3}]
    labels = client.get("/api/labels").json()
    assert labels["version"] == 3 and [entry["frame"] for entry in labels["labels"]] == [3, 5]
    assert client.get("/api/labels?since=2").json()["changes"] == r.json()["changes"]
    text = session.store.path.read_text()
    assert text == "Frame,Visibility,X,Y,Status\n3,1,10.25,20,0\n5,1,1,2,2\n"


def test_a_stale_write_is_refused_with_the_changes(client):
    assert put(client, 3, 0, x=10, y=20).status_code == 200  # tab 1
    r = put(client, 3, 0, x=11, y=20)  # tab 2, still at version 0
    assert r.status_code == 409
    body = r.json()
    assert "changed in another tab" in body["error"] and body["frames"] == [3]
    assert body["changes"][0]["label"]["x"] == 10  # what the page shows instead


def test_an_undo_that_would_remove_another_tabs_label_is_refused(client, session):
    mine = {"visibility": "visible", "x": 100, "y": 50, "status": 0}
    assert put(client, 12, 0, **mine).status_code == 200  # tab A, version 1
    assert put(client, 12, 1, x=120, y=60).status_code == 200  # tab B saw it; version 2
    # tab A has seen B's label (base 2) and undoes its own edit: the frame no longer holds it
    undo = {"base": 2, "edits": [{"frame": 12, "label": None, "expect": mine}]}
    r = client.post("/api/labels", json=undo)
    assert r.status_code == 409, r.text
    body = r.json()
    assert "after this tab's edit" in body["error"] and body["frames"] == [12]
    saved = {c["frame"]: c["label"] for c in body["changes"]}
    assert saved[12]["x"] == 120  # the saved label comes back, though older than the base
    assert session.store.path.read_text() == "Frame,Visibility,X,Y\n12,1,120,60\n"
    # B's own undo (it expects its label) goes through; A's redo (expects none) then cannot
    b_undo = {"base": 2, "edits": [{"frame": 12, "label": mine, "expect": {"x": 120, "y": 60}}]}
    assert client.post("/api/labels", json=b_undo).status_code == 200
    redo = {"base": 3, "edits": [{"frame": 12, "label": None, "expect": None}]}
    assert client.post("/api/labels", json=redo).status_code == 409
    bad = {"base": 3, "edits": [{"frame": 12, "label": None, "expect": 5}]}
    assert client.post("/api/labels", json=bad).status_code == 422


@pytest.mark.parametrize(
    "request_kwargs, status, message",
    [
        ({"content": b'{"base": 0}', "headers": {"content-type": "text/plain"}}, 415, "json"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "JSON"),
        ({"json": [1, 2]}, 400, "JSON object"),
        ({"json": {"x": 1, "y": 1}}, 422, "'base' must be an integer"),
        ({"json": {"base": "0", "x": 1, "y": 1}}, 422, "'base' must be an integer"),
        ({"json": {"base": 0, "x": 1, "y": 1, "colour": 3}}, 422, "unknown field"),
        ({"json": {"base": 0, "x": 320, "y": 1}}, 422, "outside the 320x180 frame"),
        ({"json": {"base": 0, "x": -1, "y": 1}}, 422, "outside the 320x180 frame"),
        ({"json": {"base": 0, "x": 1}}, 422, "'y' must be a finite number"),
        ({"json": {"base": 0, "x": True, "y": 1}}, 422, "'x' must be a finite number"),
        ({"json": {"base": 0, "x": 1, "y": 1, "status": 5}}, 422, "status must be"),
        ({"json": {"base": 0, "visibility": "maybe", "x": 1, "y": 1}}, 422, "visibility"),
        ({"json": {"base": 0, "visibility": "none", "status": 1}}, 422, "needs the ball"),
        ({"json": {"base": 0, "x": 1, "y": 1, "code": 3}}, 422, "does not fit"),
        ({"content": b" " * (2 << 20), "headers": {"content-type": "application/json"}}, 413, ""),
    ],
)
def test_bad_requests_get_a_clear_4xx(client, session, request_kwargs, status, message):
    r = client.put("/api/labels/3", **request_kwargs)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    assert not session.store.path.exists()


def test_bad_frames_and_batches(client):
    assert client.put("/api/labels/20", json={"base": 0, "x": 1, "y": 1}).status_code == 422
    assert "out of range (0-19)" in client.put("/api/labels/99", json={"base": 0}).json()["error"]
    assert client.delete("/api/labels/3").status_code == 422  # no base
    cases = [
        {"base": 0, "edits": []},
        {"base": 0, "edits": [{"frame": 1}, {"frame": 1}]},
        {"base": 0, "edits": [{"frame": 25, "label": None}]},
        {"base": 0, "edits": [{"frame": 1, "label": 5}]},
        {"base": 0, "edits": ["x"]},
    ]
    for body in cases:
        r = client.post("/api/labels", json=body)
        assert r.status_code == 422, body
    assert client.get("/api/labels?since=x").status_code == 422
    assert client.patch("/api/labels/3", json={}).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fapp.py",
        "/static/index.html",
        "/static/app.py",
        "/static/",
        "/api/frames/../../store.py",
        "/api/frames/1.jpg/../../../app.py",
        "/etc/passwd",
        "/tracknet/label/app.py",
        "/clip_0000_ball.csv",
        "/api/labels/../../clip_0000.mp4",
    ],
)
def test_nothing_but_frames_and_the_page_is_served(client, path):
    r = client.get(path)
    assert r.status_code in (404, 405), (path, r.status_code)
    assert b"import" not in r.content and b"root:" not in r.content


def test_a_token_is_required_when_given(session):
    client = TestClient(create_app(session, token="s3cret"))
    assert client.get("/").status_code == 401
    assert client.get("/api/info?token=wrong").status_code == 401
    assert client.get("/api/frames/0.jpg").status_code == 401
    first = client.get("/?token=s3cret")
    assert first.status_code == 200 and "httponly" in first.headers["set-cookie"].lower()
    assert client.get("/api/info").status_code == 200  # the cookie carries it from now on
    assert put(client, 2, 0, x=5, y=5).status_code == 200
    assert TestClient(create_app(session, token="s3cret")).put("/api/labels/2").status_code == 401


def test_other_hosts_and_cross_origin_writes_are_refused(session):
    client = TestClient(create_app(session, allowed_hosts=["127.0.0.1", "localhost"]))
    assert client.get("/api/info", headers={"host": "evil.example"}).status_code == 400
    local = {"host": "127.0.0.1:8765"}
    assert client.get("/api/info", headers=local).status_code == 200
    evil = {**local, "origin": "http://evil.example"}
    assert (
        client.put("/api/labels/1", json={"base": 0, "x": 1, "y": 1}, headers=evil).status_code
        == 403
    )
    own = {**local, "origin": "http://127.0.0.1:8765"}
    assert (
        client.put("/api/labels/1", json={"base": 0, "x": 1, "y": 1}, headers=own).status_code
        == 200
    )


def test_concurrent_writes_all_land_once(client, session):
    results = []

    def tab(frames):
        for frame in frames:
            base = client.get("/api/labels").json()["version"]
            r = put(client, frame, base, x=frame, y=frame)
            results.append(r.status_code)

    threads = [threading.Thread(target=tab, args=(range(k, 20, 4),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(200) == 20  # other frames: never refused
    rows = session.store.path.read_text().splitlines()
    assert rows[0] == "Frame,Visibility,X,Y" and rows[1:] == [f"{f},1,{f},{f}" for f in range(20)]
    assert client.get("/api/labels").json()["version"] == 20


def test_suggestions_accept_review_and_interpolate(client, session):
    assert client.get("/api/suggestions").json()["state"] == "off"
    assert client.get("/api/review").json() == {"frames": []}
    r = client.post("/api/accept", json={"base": 0, "frames": [1]})
    assert r.status_code == 422 and "no model" in r.json()["error"]
    session.suggestions = Suggestions(session.source, "unused")
    line = {f: (True, 10.0 + 10 * f, 10.0, 0.99) for f in range(10)}
    line[4] = (True, 200.0, 150.0, 0.97)  # a jump away from its neighbours
    line[7] = (True, 80.0, 10.0, 0.55)  # low confidence
    line[10] = (False, 0.0, 0.0, 0.0)  # the model sees no ball
    fill(session.suggestions, line)
    s = client.get("/api/suggestions?since=9").json()
    assert s["state"] == "done" and s["done"] == 11 and s["next"] == 11
    assert s["items"] == [[9, 1, 100.0, 10.0, 0.99], [10, 0, 0.0, 0.0, 0.0]]
    assert client.get("/api/suggestions?since=x").status_code == 422
    queue = client.get("/api/review").json()["frames"]
    assert [(q["frame"], q["reason"]) for q in queue] == [(4, "off flight")]
    assert queue[0]["reasons"][0] == "off flight" and queue[0]["need"] > 0.9
    # frame 7's low score alone no longer queues it: the flight explains its position (the
    # first ranking, by the peak score, did)
    first = review_queue(session.suggestions, {}, ranking="peak")
    assert [(q["frame"], q["reason"]) for q in first] == [(4, "jump"), (7, "low confidence")]
    r = client.post("/api/accept", json={"base": 0, "frames": [0, 1, 10]})
    assert r.status_code == 200 and r.json()["version"] == 1
    text = "Frame,Visibility,X,Y\n0,1,10,10\n1,1,20,10\n10,0,0,0\n"
    assert session.store.path.read_text() == text
    r = client.post("/api/accept", json={"base": 1, "frames": [0]})
    assert r.status_code == 422 and "labelled already" in r.json()["error"]
    assert client.post("/api/accept", json={"base": 1, "frames": [12]}).status_code == 422
    assert client.post("/api/accept", json={"base": 1, "frames": [99]}).status_code == 422
    # interpolation between two confirmed positions
    assert put(client, 7, 1, x=80, y=40).status_code == 200
    r = client.post("/api/interpolate", json={"base": 2, "frame": 3})
    assert r.status_code == 200
    filled = {c["frame"]: (c["label"]["x"], c["label"]["y"]) for c in r.json()["changes"]}
    assert filled == {f: (10 + 10 * f, 10 + 5 * (f - 1)) for f in range(2, 7)}
    r = client.post("/api/interpolate", json={"base": 3, "frame": 15})
    assert r.status_code == 422 and "not in a gap" in r.json()["error"]
    queue = client.get("/api/review").json()["frames"]
    assert {q["frame"] for q in queue} <= {8, 9}  # confirmed frames leave the queue


NESTED = ("[" * 1000 + "]" * 1000).encode()  # deeper than Python's JSON parser recurses


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/api/labels"),
        ("POST", "/api/accept"),
        ("POST", "/api/interpolate"),
        ("PUT", "/api/labels/3"),
    ],
)
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(NESTED, id="1000-nested-lists"),
        pytest.param(b'{"base": 0, "edits": ' + b"[" * 990 + b"]" * 990 + b"}", id="deep-edits"),
        pytest.param(b'{"base": ' + b"[" * 990 + b"]" * 990 + b"}", id="deep-base"),
        pytest.param(b'{"base": 0, "frame": ' + b"1" * 5000 + b"}", id="5000-digits"),
        pytest.param(b'{"base": 0, "x": NaN, "y": Infinity}', id="nan"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b'{"base": 0, "visibility": ["visible"], "x": 1, "y": 1}', id="list-kind"),
        pytest.param(
            b'{"base": 0, "edits": [{"frame": 1, "label": {"visibility": {"a": 1}}}]}',
            id="object-kind",
        ),
    ],
)
def test_a_malformed_body_gets_a_4xx_never_a_500(client, session, method, path, body):
    r = client.request(method, path, content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert "error" in r.json() and len(r.text) < 2000  # a short message, no echo of the body
    assert not session.store.path.exists()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
ENDPOINTS = [("POST", "/api/labels"), ("POST", "/api/accept"), ("POST", "/api/interpolate")]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.sampled_from([*ENDPOINTS, ("PUT", "/api/labels/3")]),
    body=st.one_of(
        st.fixed_dictionaries(
            {"base": JSON_VALUES}, optional={"edits": JSON_VALUES, "x": JSON_VALUES}
        ),
        st.fixed_dictionaries(
            {
                "base": st.just(0),
                "edits": st.lists(
                    st.fixed_dictionaries({"frame": JSON_VALUES}, optional={"label": JSON_VALUES}),
                    max_size=2,
                ),
            }
        ),
        JSON_VALUES,
    ),
)
def test_any_json_body_gets_an_answer_below_500(client, endpoint, body):
    method, path = endpoint
    content = json.dumps(body).encode()  # NaN and Infinity as Python writes them
    r = client.request(method, path, content=content, headers={"content-type": "application/json"})
    assert r.status_code < 500, (body, r.text[:300])


@pytest.mark.parametrize("digits", ["٣", "３", "²", "߃", "-1", "1.0", "", " 3"])
def test_query_numbers_are_ascii_digits_only(client, digits):
    assert put(client, 3, 0, x=1, y=1).status_code == 200
    r = client.delete(f"/api/labels/3?base={digits}")
    assert r.status_code == 422 and "'base'" in r.json()["error"], r.text
    assert client.get(f"/api/suggestions?since={digits}").status_code == 422
    if digits != "-1":
        assert client.get(f"/api/labels?since={digits}").status_code == 422
    assert client.get("/api/labels").json()["labels"][0]["frame"] == 3  # nothing was deleted
    assert client.delete("/api/labels/3?base=1").status_code == 200
