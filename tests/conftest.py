"""Test-wide setup: a private, offline Hugging Face cache and a small thread count."""

import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

# Before transformers or huggingface_hub are imported anywhere: never touch the user's cache and
# never reach the network.
_HF_HOME = tempfile.mkdtemp(prefix="tracknet-test-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_CACHE"] = os.path.join(_HF_HOME, "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def spec_model_in_cache(tmp_path_factory):
    """A tiny random DINOv3 (width 384, 1 layer) cached under the spec's model id."""
    from tests.helpers import SPEC_MODEL_ID, install_in_hf_cache, tiny_vit

    src = tiny_vit(tmp_path_factory.mktemp("vit"), hidden=384, layers=1, heads=6)
    install_in_hf_cache(src, SPEC_MODEL_ID)
    return SPEC_MODEL_ID


@pytest.fixture(scope="session")
def tiny_dinov3(tmp_path_factory):
    """A tiny random DINOv3 (width 32, 1 layer, 4 registers) in a local folder."""
    from tests.helpers import tiny_vit

    return str(tiny_vit(tmp_path_factory.mktemp("vit"), hidden=32, layers=1, heads=2))


def tiny_temporal_overrides(backbone: str, *extra: str) -> list[str]:
    """Overrides of a tiny 3-frame TrackNet at 64x32 on the random ViT ``backbone``."""
    return [
        f"model.pretrained_model_name={backbone}",
        "model.backbone.device_map=null",
        "model.frames=3",
        "model.input_size=[64,32]",
        "model.heatmap.size=[32,16]",
        "model.decoder.channels=[32,8]",
        "model.decoder.upsample=[2]",
        "model.temporal.heads=2",
        *extra,
    ]


def default_sigint() -> None:
    """A child's ``preexec_fn``: Ctrl-C (SIGINT) back at its default, so the child's Python turns
    it into KeyboardInterrupt. A shell without job control starts a background job (``cmd &``)
    with SIGINT ignored, a child inherits that, and Python then installs no handler: a test that
    stops its child with SIGINT would wait for ever."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tracknet_popen(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    """``python -m tracknet ARGS`` in a child process, stdout and stderr merged, as text; Ctrl-C
    reaches it whatever the test session inherited (:func:`default_sigint`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tracknet", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=default_sigint,
        **kwargs,
    )


def load_script(name: str):
    """``scripts/<name>.py`` imported as a module (the scripts are not a package)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
