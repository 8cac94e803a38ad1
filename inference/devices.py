"""Pick the compute device: CUDA when present, else Apple MPS, else CPU; the user may override."""

from __future__ import annotations

import contextlib

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


def autocast_for(device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision on GPUs (fp16 on CUDA); full fp32 on CPU, where it is the validated path."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()
