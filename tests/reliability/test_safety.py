"""Safety: only safetensors and JSON/YAML are loaded from a checkpoint folder, never pickle;
``trust_remote_code`` is never enabled; a folder whose files do not match their recorded
fingerprints is refused."""

from __future__ import annotations

import ast
import json
import pickle
from pathlib import Path

import pytest
import torch

from tests.reliability.conftest import assert_one_clear_line, cli

PACKAGE = Path(__file__).resolve().parents[2] / "tracknet"


def _calls(name: str):
    """``(file, call node)`` of every call of ``*.name(...)`` / ``name(...)`` in the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    yield path, node


def _keyword(node: ast.Call, name: str):
    kw = next((k for k in node.keywords if k.arg == name), None)
    return None if kw is None else ast.literal_eval(kw.value)


def test_source_never_unpickles_or_trusts_remote_code():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "dill", "cloudpickle", "joblib"} & set(names), path
    for path, node in _calls("load"):
        if isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "torch":
            assert _keyword(node, "weights_only") is True, f"{path}:{node.lineno}"
    for name in ("from_pretrained", "from_config", "pipeline"):
        for path, node in _calls(name):
            assert _keyword(node, "trust_remote_code") in (None, False), f"{path}:{node.lineno}"


class Bomb:
    """Unpickling this creates a file: proof that something unpickled it."""

    def __init__(self, flag: Path):
        self.flag = flag

    def __reduce__(self):
        return (Path.write_text, (self.flag, "unpickled!"))


@pytest.fixture
def no_unpickling(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    real_load = torch.load

    def torch_load(*a, **k):
        if k.get("weights_only") is not True:
            refuse()
        return real_load(*a, **k)

    monkeypatch.setattr(torch, "load", torch_load)


def test_loading_and_resuming_read_no_pickle(
    capsys, monkeypatch, no_unpickling, run_copy, clean_video, tmp_path
):
    import transformers

    flag = tmp_path / "flag"
    for folder in (run_copy, run_copy / "best", run_copy / "last"):
        for name in ("pytorch_model.bin", "model.pt", "optimizer.pt", "training_args.bin"):
            torch.save({"x": Bomb(flag)}, folder / name)
    remote = []
    for cls in (transformers.AutoModel, transformers.AutoConfig):
        for method in ("from_pretrained", "from_config"):
            if not hasattr(cls, method):
                continue
            real = getattr(cls, method)

            def spy(*a, _real=real, **k):
                remote.append(k.get("trust_remote_code"))
                return _real(*a, **k)

            monkeypatch.setattr(cls, method, spy)
    code, _, err = cli(
        capsys, "predict", str(clean_video), "--checkpoint", str(run_copy), "--out", str(tmp_path)
    )
    assert code == 0, err
    code, _, err = cli(capsys, "train", "--resume", str(run_copy), "train.max_steps=3")
    assert code == 0, err
    assert not flag.exists(), "a pickle was loaded"
    assert all(v in (None, False) for v in remote)


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("best", "model.safetensors"),
        ("best", "backbone/config.json"),
        ("last", "model.safetensors"),
        ("last", "optimizer.safetensors"),
        ("last", "optimizer.json"),
        ("last", "rng.safetensors"),
    ],
)
def test_a_file_that_does_not_match_its_fingerprint_is_refused(
    capsys, run_copy, clean_video, tmp_path, folder, name
):
    path = run_copy / folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    path.write_bytes(bytes(data))
    if folder == "best":
        args = ("predict", str(clean_video), "--checkpoint", str(run_copy), "--out", str(tmp_path))
    else:
        args = ("train", "--resume", str(run_copy), "train.max_steps=3")
    code, _, err = cli(capsys, *args)
    assert_one_clear_line(code, err, str(path), "fingerprint", "refusing")


def test_a_missing_file_is_refused(capsys, run_copy):
    (run_copy / "last" / "rng.safetensors").unlink()
    code, _, err = cli(capsys, "train", "--resume", str(run_copy), "train.max_steps=3")
    assert_one_clear_line(code, err, "rng.safetensors", "missing")


def test_a_state_without_fingerprints_is_refused(capsys, run_copy):
    state_path = run_copy / "last" / "trainer_state.json"
    state = json.loads(state_path.read_text())
    del state["files"]
    state_path.write_text(json.dumps(state))
    code, _, err = cli(capsys, "train", "--resume", str(run_copy), "train.max_steps=3")
    assert_one_clear_line(code, err, str(state_path), "fingerprints")
