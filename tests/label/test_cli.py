"""``tracknet label`` on the command line: options, errors, the token of a non-local host."""

from __future__ import annotations

import json
import signal
import socket
import urllib.error
import urllib.request

import pytest

from tests.label.conftest import CLIP_SIZE, Server
from tracknet.cli import main
from tracknet.label.confirmed import make_label
from tracknet.label.server import is_loopback, page_url
from tracknet.label.source import open_source
from tracknet.label.store import LabelStore


def get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["label", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--labels", "--checkpoint", "--host", "--port", "--open", "--device"):
        assert option in out


def test_errors_are_one_line(tmp_path, video, capsys):
    assert main(["label", str(tmp_path / "missing.mp4")]) == 2
    assert "no such video or image folder" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x")
    assert main(["label", str(tmp_path / "notes.txt")]) == 2
    assert "not a video" in capsys.readouterr().err
    assert main(["label", str(video), "--labels", str(tmp_path / "Label.csv")]) == 2
    assert "names image files" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        assert main(["label", str(video), "--port", str(busy.getsockname()[1])]) == 2
    assert "--port 0" in capsys.readouterr().err


def test_loopback_and_urls():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert page_url("127.0.0.1", 8765, None) == "http://127.0.0.1:8765/"
    assert page_url("::1", 80, "t") == "http://[::1]:80/?token=t"


def test_a_local_server_answers_only_to_local_host_names(video):
    with Server(str(video), "--port", "0") as server:
        assert server.url.startswith("http://127.0.0.1:") and "token" not in server.url
        status, body = get(server.url + "api/info")
        assert status == 200 and json.loads(body)["frames"] == 20
        assert get(server.url + "api/info", {"Host": "evil.example"})[0] == 400


def test_a_non_local_host_needs_the_printed_token(video):
    with Server(str(video), "--host", "0.0.0.0", "--port", "0") as server:
        assert "?token=" in server.url and "keep it private" in server.output
        port = server.url.split(":")[2].split("/")[0]
        token = server.url.split("?token=")[1]
        base = f"http://127.0.0.1:{port}/"
        assert get(base + "api/info")[0] == 401
        assert get(base + "api/info?token=nope")[0] == 401
        assert get(base + f"api/info?token={token}")[0] == 200


def test_ctrl_c_stops_the_server_and_releases_the_labels(video):
    server = Server(str(video), "--port", "0")
    assert get(server.url + "api/info")[0] == 200  # uvicorn is serving
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=20) in (0, 130), server.output  # 130: the shell's Ctrl-C
    assert "Traceback" not in server.output
    with Server(str(video), "--port", "0"):  # the journal's lock went with the process
        pass


def test_a_restart_after_a_kill_says_each_thing_once(video, monkeypatch, capsys):
    """The tool's own file (with its Status column) is read without a note, the replay is
    reported once, and a second server names the label file it cannot have."""
    src = open_source(video)
    store = LabelStore(src.labels_path, src.layout, src.frame_count, src.frame_size)
    store.apply([(2, make_label("visible", 5, 6, 2, "ball", CLIP_SIZE))], base=0)  # a bounce

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies between the journal and the label file

    monkeypatch.setattr(store, "_write", killed)
    with pytest.raises(KeyboardInterrupt):
        store.apply([(3, make_label("visible", 7, 8, 0, "ball", CLIP_SIZE))], base=1)
    store.close()
    monkeypatch.undo()
    assert src.labels_path.read_text() == "Frame,Visibility,X,Y,Status\n2,1,5,6,2\n"

    with Server(str(video), "--port", "0") as server:
        assert server.output.count("replayed") == 1, server.output
        assert "replayed 1 edit(s) from the journal: nothing was lost" in server.output
        assert "matched by meaning" not in server.output
        monkeypatch.chdir(video.parent)  # a second server, SOURCE given by its bare name
        assert main(["label", video.name, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "error: clip_0000_ball.csv: another `tracknet label` is editing" in err, err
