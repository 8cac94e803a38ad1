"""Pick the compute device: CUDA when present, else Apple MPS, else CPU; the user may override."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import torch

from inference.errors import InferenceError


def select_device(preferred: str | None = None) -> torch.device:
    """``preferred`` is ``None``/"auto", "cpu", "cuda", "cuda:N" or "mps"."""
    if preferred in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preferred)
    except RuntimeError as exc:
        raise InferenceError(f"Unknown device '{preferred}'. Use auto, cpu, cuda or mps.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InferenceError("A CUDA GPU was requested but none is available; choose CPU or auto.")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InferenceError("Apple MPS was requested but is not available; choose CPU or auto.")
    return device


def describe_device(device: torch.device) -> str:
    """A name a person recognises, for the status bar and the prediction record."""
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "GPU: Apple MPS"
    return "CPU"


CPU_PRECISIONS = ("auto", "fp32", "bf16")
"""CPU arithmetic: "auto" uses bf16 only where the CPU computes it natively, else fp32."""

_cpu_precision = "auto"


def set_cpu_precision(mode: str) -> None:
    """Process-wide, like ``torch.set_num_threads``: the app's setting or the CLI's option sets it once."""
    global _cpu_precision
    if mode not in CPU_PRECISIONS:
        raise InferenceError(f"Unknown CPU precision '{mode}'. Use {', '.join(CPU_PRECISIONS)}.")
    _cpu_precision = mode


def cpu_precision() -> str:
    return _cpu_precision


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True where the CPU has bf16 instructions (AVX-512 BF16 or AMX): elsewhere PyTorch emulates bf16,
    which is many times slower than fp32 (about 30x on an AVX2-only EPYC)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore").split()
    except OSError:  # not Linux: stay with the validated fp32 path
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def uses_cpu_bf16() -> bool:
    mode = _cpu_precision
    return mode == "bf16" or (mode == "auto" and cpu_has_native_bf16())


def autocast_for(device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision: fp16 on CUDA; bf16 on a CPU that has it natively (see :func:`set_cpu_precision`).

    bf16 on the CPU changed the shipped lite network's output by 69-72 dB PSNR against fp32 on real
    faces (tests/test_cpu_precision.py checks >= 40 dB for every shipped network).
    """
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    if device.type == "cpu" and uses_cpu_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
