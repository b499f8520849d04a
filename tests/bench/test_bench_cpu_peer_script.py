"""scripts/bench_cpu_peer.py against a fake peer (a script that reads the clip, sleeps a little and
writes its CSV where the real one does): a tiny tracknet run end to end, then fake tracknet
commands for the paired, alternating repeats; the table and the JSON have the right rows. No
timing assertions beyond "positive"."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from tests.conftest import load_script
from tests.infer.conftest import make_tiny_run, write_spot_video

FRAMES = 12
PEER_MODEL = "models/VballNetV1_seq9_grayscale_330_h288_w512.onnx"

FAKE_PEER = """
import argparse, os, time
import av
p = argparse.ArgumentParser()
p.add_argument("--video_path")
p.add_argument("--model_path")
p.add_argument("--output_dir")
p.add_argument("--only_csv", action="store_true")
a = p.parse_args()
assert a.only_csv and os.path.isfile(a.model_path), "run as the README says, in the checkout"
with av.open(a.video_path) as c:
    n = sum(1 for _ in c.decode(video=0))
time.sleep(0.05)
stem = os.path.splitext(os.path.basename(a.video_path))[0]
os.makedirs(os.path.join(a.output_dir, stem))
with open(os.path.join(a.output_dir, stem, "ball.csv"), "w") as f:
    f.write("Frame,Visibility,X,Y,Radius\\n" + "".join(f"{i},0,-1,-1,0\\n" for i in range(n)))
"""

# `python FAKE predict VIDEO --checkpoint RUN --out OUT ...`: writes OUT/<stem>_ball.csv.
FAKE_TRACKNET = """
import os, sys, time
args = sys.argv[1:]
assert args[0] == "predict" and "--device" in args and "--checkpoint" in args
video, out = args[1], args[args.index("--out") + 1]
time.sleep(0.02)
stem = os.path.splitext(os.path.basename(video))[0]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, stem + "_ball.csv"), "w") as f:
    f.write("Frame,Visibility,X,Y\\n" + "".join(f"{i},0,0,0\\n" for i in range({frames})))
"""


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_cpu_peer")


@pytest.fixture
def peer(tmp_path):
    root = tmp_path / "peer"
    (root / "src").mkdir(parents=True)
    (root / "src" / "inference_onnx_seq_gray_v2.py").write_text(textwrap.dedent(FAKE_PEER))
    (root / "models").mkdir()
    (root / PEER_MODEL).write_bytes(b"\x08\x07 not really an onnx model")
    return root


@pytest.fixture
def clip(tmp_path):
    return write_spot_video(tmp_path / "clip.mp4", [(10 + 4 * i, 20) for i in range(FRAMES)])


def peer_args(peer, clip):
    return ["--peer", str(peer), "--video", str(clip), "--peer-python", sys.executable]


def test_tiny_run_and_fake_peer(bench, peer, clip, tmp_path, tiny_dinov3, capsys):
    run = make_tiny_run(tmp_path / "run", tmp_path / "no-data", tiny_dinov3)  # predict reads none
    out = tmp_path / "out"
    args = [*peer_args(peer, clip), "--checkpoint", f"tiny={run}", "--repeats", "1"]
    assert bench.main([*args, "--out", str(out)]) == 0

    result = json.loads((out / "bench_cpu_peer.json").read_text())
    names = [row["name"] for row in result["systems"]]
    assert names == ["tracknet tiny, its settings", f"peer {PEER_MODEL.split('/')[1]}"]
    assert result["clip"]["frames"] == FRAMES and result["repeats"] == 1
    for row in result["systems"]:
        assert len(row["seconds"]) == 1 and row["seconds"][0] > 0
        assert row["csv_rows"] == [FRAMES]
        assert row["fps"] == pytest.approx(FRAMES / row["median_s"])
    assert result["systems"][-1]["vs_peer"] == 1.0
    assert "torch" in result["versions"]["tracknet"]["packages"]
    assert set(result["cpu"]["flags"]) >= {"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}

    table = (out / "bench_cpu_peer.md").read_text()
    assert table == result["table"] and table in capsys.readouterr().out
    assert "| tracknet tiny, its settings |" in table and "| peer VballNetV1_seq9" in table
    assert "- CPU: " in table and "torch " in table and "wrote" not in table


def test_paired_alternating_repeats(bench, peer, clip, tmp_path):
    fake = tmp_path / "fake_tracknet.py"
    fake.write_text(textwrap.dedent(FAKE_TRACKNET).replace("{frames}", str(FRAMES)))
    out = tmp_path / "out"
    args = [*peer_args(peer, clip), "--tracknet", f"{sys.executable} {fake}", "--half"]
    args += ["--checkpoint", str(tmp_path / "runA" / "best"), "--checkpoint", "B=demo"]
    assert bench.main([*args, "--repeats", "3", "--out", str(out)]) == 0

    result = json.loads((out / "bench_cpu_peer.json").read_text())
    names = [row["name"] for row in result["systems"]]
    peer_name = names[-1]
    assert names[:-1] == [
        "tracknet runA, its settings",
        "tracknet runA, --half",
        "tracknet B, its settings",
        "tracknet B, --half",
    ]
    runs = result["runs"]
    assert len(runs) == 3 * 5
    order = [[r["system"] for r in runs if r["repeat"] == k] for k in range(3)]
    assert order[0] == names and order[1] == names[::-1] and order[2] == names
    for row in result["systems"]:
        assert len(row["seconds"]) == 3 and row["csv_rows"] == [FRAMES] * 3
        assert row["median_s"] == sorted(row["seconds"])[1]
    half = result["systems"][1]
    assert (
        half["command"].endswith("--half")
        and "--checkpoint demo" in result["systems"][3]["command"]
    )
    peer_row = result["systems"][-1]
    paired = sorted(p / s for p, s in zip(peer_row["seconds"], half["seconds"], strict=True))
    assert half["vs_peer"] == pytest.approx(paired[1])
    lines = [line for line in result["table"].splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + 5 and lines[-1].startswith(f"| {peer_name} |")


def test_refuses_an_lfs_pointer(bench, peer, clip, tmp_path):
    (peer / PEER_MODEL).write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\n")
    args = [*peer_args(peer, clip), "--checkpoint", "x", "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit, match="Git LFS pointer"):
        bench.main(args)


def test_a_variant_can_be_limited_to_one_checkpoint(bench, peer, clip, tmp_path):
    """``LABEL:NAME=ARGS`` times that variant for the checkpoint labelled LABEL only (the
    trade-off rows of one model beside another model's single row)."""
    fake = tmp_path / "fake_tracknet.py"
    fake.write_text(textwrap.dedent(FAKE_TRACKNET).replace("{frames}", str(FRAMES)))
    out = tmp_path / "out"
    args = [*peer_args(peer, clip), "--tracknet", f"{sys.executable} {fake}"]
    args += ["--checkpoint", "A=runA", "--checkpoint", "B=demo", "--variant", "fp32="]
    args += ["--variant", "A:small=model.input_size=[384,224]"]
    assert bench.main([*args, "--repeats", "1", "--out", str(out)]) == 0
    result = json.loads((out / "bench_cpu_peer.json").read_text())
    names = [row["name"] for row in result["systems"]][:-1]
    assert names == ["tracknet A, fp32", "tracknet A, small", "tracknet B, fp32"]
    assert result["systems"][1]["command"].endswith("'model.input_size=[384,224]'")  # quoted
    with pytest.raises(SystemExit, match="no --checkpoint is labelled"):
        bench.main([*args, "--variant", "C:x=--half", "--repeats", "1", "--out", str(out)])
