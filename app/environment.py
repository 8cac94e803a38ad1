"""What the app finds around it at start: the models (with their weights status), the device, the case store.

Plain functions without Qt; the window calls ``probe_environment`` on a worker (it imports torch)
and ``open_case_store`` when it starts or the data folder changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.state import ModelChoice
from inference.errors import InferenceError


def probe_environment(device_pref: str) -> tuple[list[ModelChoice], str]:
    """Models with their weights status, and the device description (runs on a worker: imports torch)."""
    from inference.devices import describe_device, select_device
    from inference.models.registry import list_models

    choices = []
    for spec in list_models():
        status = spec.weights_status()
        choices.append(ModelChoice(spec.name, spec.display_name, status.available, status.reason, spec.neural,
                                   spec.description, status.sha256, status.card))
    try:
        device = describe_device(select_device(device_pref))
    except InferenceError as exc:
        device = f"unavailable ({exc})"
    return choices, device


def open_case_store(data_dir: Path) -> Any:
    """The case store of ``data_dir`` (``studies.cases.CaseStore``); raises ``StudyError``/``OSError``."""
    from studies.cases import CaseStore
    from studies.database import open_database

    return CaseStore(open_database(data_dir))
