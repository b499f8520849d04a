"""Setting a model up for inference on a device: the device name, half precision, the ViT's
attention kernel, the memory layout, and the allocator.

:func:`prepare_for_inference` is what :class:`tracknet.infer.predictor.Predictor` (and the
benchmarks, so they time what ``tracknet predict`` runs) does to a model before the first frame.
"""

from __future__ import annotations

import ctypes
import functools
import sys

import torch

from tracknet.errors import UserError
from tracknet.infer.fold import fold_batch_norms, fold_input_normalisation
from tracknet.models.protocol import WindowModel


def resolve_device(name: str) -> torch.device:
    """``auto`` (the GPU when there is one, else the CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps`` ...

    Raises:
        UserError: an unknown device name, or a device this machine does not have.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise UserError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)") from exc
    if device.type == "cuda":
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= available:
            raise UserError(
                f"device {name!r} is not available: this machine has {available} CUDA GPU(s); "
                "use --device cpu"
            )
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise UserError(f"device {name!r} is not available on this machine; use --device cpu")
    return device


CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
"""CPU flags (``/proc/cpuinfo``) of native bf16 arithmetic: AVX512-BF16 dot products, AMX tiles."""


@functools.cache
def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bf16 natively (:data:`CPU_BF16_FLAGS` among the flags of
    ``cpuinfo``; False where there is no such file, as off Linux).

    Without it PyTorch emulates bf16 with fp32 instructions and conversions, slower than fp32.
    """
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def autocast_dtype(device: torch.device, half: bool, precision: str = "fp32") -> torch.dtype | None:
    """The autocast dtype of ``predict.half`` / ``predict.precision`` on ``device``, or None for
    full precision.

    ``half``: bf16 (fp16 on a GPU without bf16). Otherwise ``precision``: ``auto`` is half on
    CUDA and full precision elsewhere; ``native`` is half on CUDA and on a CPU that computes
    bf16 natively (:func:`cpu_has_native_bf16`), full precision elsewhere; ``fp32``, ``bf16``
    and ``fp16`` are what they say.
    """
    if precision in ("bf16", "fp16") and not half:
        return torch.bfloat16 if precision == "bf16" else torch.float16
    native = precision == "native" and (
        device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())
    )
    if not half and not native and not (precision == "auto" and device.type == "cuda"):
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16


def keep_freed_memory() -> bool:
    """Have glibc's malloc serve tensors up to 32 MiB from the heap and keep freed memory.

    By default large blocks are ``mmap``-ed and unmapped when freed, and the heap is trimmed, so
    every tensor of every layer lands on fresh pages: the page faults (expensive in a VM) cost
    more than the arithmetic of the ViT's many element-wise operations. Process-wide; a no-op
    (``False``) where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 32 << 20) and libc.mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError):
        return False
    return bool(ok)


def cast_backbone_weights(model: WindowModel, dtype: torch.dtype | None) -> None:
    """Hold the ViT's weights in ``dtype`` (half-precision inference).

    Under autocast alone every linear layer re-casts its fp32 weights on every call, which costs
    more than the bf16 matmul saves on a CPU; the backbone casts its input to its weights' dtype.
    """
    hf = getattr(getattr(model, "backbone", None), "model", None)
    if dtype is not None and isinstance(hf, torch.nn.Module):
        hf.to(dtype)


# Above this many patches ``predict.attention=auto`` leaves eager attention for SDPA on a CPU in
# bf16: between the 576 patches where eager won and the 3600 where SDPA did (crossover not
# measured).
CPU_EAGER_MAX_TOKENS = 1024


def use_inference_attention(
    model: WindowModel, device: torch.device, choice: str = "auto", dtype: torch.dtype | None = None
) -> str | None:
    """Pick the ViT backbone's attention kernel for inference on ``device``; returns the choice.

    ``auto``: on the CPU in bf16 (``dtype``), ``eager`` (matmul + softmax) for inputs of at most
    :data:`CPU_EAGER_MAX_TOKENS` patches and PyTorch's fused kernel (``sdpa``) above, decided at
    each call; ``sdpa`` everywhere else. Measured on ViT-S/16 at batch 8 (docs/benchmarks.md):
    in bf16 eager is 1.1x faster at 576 patches (288x512) and SDPA 1.5x faster at 3600
    (720x1280); in fp32 SDPA is 1.5x faster at 576. ``None`` when the model has no ViT backbone.
    """
    backbone = getattr(model, "backbone", None)
    if backbone is None or not hasattr(backbone, "set_attention"):
        return None
    if choice == "auto" and device.type == "cpu" and dtype == torch.bfloat16:
        backbone.set_attention("eager", eager_max_tokens=CPU_EAGER_MAX_TOKENS)
        return "eager"
    impl = choice if choice != "auto" else "sdpa"
    backbone.set_attention(impl)
    return impl


def prepare_for_inference(
    model: WindowModel,
    device: torch.device,
    dtype: torch.dtype | None = None,
    channels_last: bool = True,
    attention: str = "auto",
) -> WindowModel:
    """Set ``model`` up for inference on ``device`` the way ``tracknet predict`` runs it.

    Evaluation mode on ``device``; BatchNorms folded into the convolutions before them and the
    input normalisation into the ViT's patch embedding (:mod:`tracknet.infer.fold`: the model
    is for inference only afterwards);
    the ViT's weights held in ``dtype`` (``None`` or fp32: as
    they are; the rest then runs under autocast); the attention kernel for the device
    (:func:`use_inference_attention`); 4-D (convolution) weights in channels-last memory.
    Returns the model (changed in place).
    """
    assert isinstance(model, torch.nn.Module)  # every window model is one (OnnxModel too)
    model = model.to(device).eval()
    detail = getattr(model, "detail", None)  # its stems are computed from its first convolution
    fold_batch_norms(model, keep=[detail.first_conv] if detail is not None else [])
    fold_input_normalisation(model)  # before the ViT's weights are cast

    cast_backbone_weights(model, dtype if dtype != torch.float32 else None)
    use_inference_attention(model, device, attention, dtype)
    if channels_last:
        # Module.to takes memory_format (torch._C._nn._parse_to); its overloads in the stubs omit it
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model
