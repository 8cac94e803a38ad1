"""User settings, stored as JSON in the per-user config folder and passed around as an object.

Nothing reads settings at import time: ``main()`` loads them once and hands the object to the
window; tests build an ``AppSettings`` directly with a temporary data folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import platformdirs

from inference.atomic import atomic_write_bytes
from inference.devices import CPU_PRECISIONS
from inference.paths import APP_AUTHOR, APP_NAME, default_data_dir

DEVICES = ("auto", "cpu", "cuda", "mps")
RECENT_CASES = 8  # File > Open recent lists this many


class SettingsError(Exception):
    """The settings file cannot be written (the message is shown to the user)."""


def default_settings_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / "settings.json"


@dataclass(frozen=True)
class AppSettings:
    data_dir: Path = field(default_factory=default_data_dir)
    device: str = "auto"
    default_model: str = "opencv-telea"
    clinic_name: str = ""
    clinician_name: str = ""
    clinic_logo: Path | None = None
    overlay_color: str = "#ff2d6f"
    overlay_opacity: float = 0.5
    brush_size: int = 40
    research_mark: bool = True  # "research visualisation" on saved/copied predictions and report pictures
    cpu_precision: str = "auto"  # "auto": bf16 where the CPU has it natively, else fp32; or "fp32" / "bf16"
    # The last cases opened, newest first: case ids of the data folder only, never pseudonyms (they identify
    # patients; the names shown in File > Open recent are read from the database).
    recent_cases: tuple[int, ...] = ()
    reopen_last_case: bool = True  # open the newest of ``recent_cases`` when the app starts

    def with_recent_case(self, case_id: int) -> "AppSettings":
        """``case_id`` first in the recent cases (once), at most :data:`RECENT_CASES` kept."""
        ids = (int(case_id), *(i for i in self.recent_cases if i != case_id))
        return replace(self, recent_cases=ids[:RECENT_CASES])

    def without_recent_case(self, case_id: int) -> "AppSettings":
        return replace(self, recent_cases=tuple(i for i in self.recent_cases if i != case_id))

    def with_changes(self, **changes: object) -> "AppSettings":
        return replace(self, **changes)

    def to_json(self) -> dict:
        data = asdict(self)
        data["data_dir"] = str(self.data_dir)
        data["clinic_logo"] = str(self.clinic_logo) if self.clinic_logo else None
        data["recent_cases"] = list(self.recent_cases)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "AppSettings":
        """Unknown keys are ignored and bad values fall back to defaults, so an old file still opens."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if kwargs.get("data_dir"):
            kwargs["data_dir"] = Path(kwargs["data_dir"])
        else:
            kwargs.pop("data_dir", None)
        kwargs["clinic_logo"] = Path(kwargs["clinic_logo"]) if kwargs.get("clinic_logo") else None
        if kwargs.get("device") not in DEVICES and not str(kwargs.get("device", "")).startswith("cuda:"):
            kwargs.pop("device", None)
        try:
            kwargs["overlay_opacity"] = min(1.0, max(0.0, float(kwargs.get("overlay_opacity", 0.5))))
            kwargs["brush_size"] = int(kwargs.get("brush_size", 40))
        except (TypeError, ValueError):
            kwargs.pop("overlay_opacity", None)
            kwargs.pop("brush_size", None)
        if kwargs.get("cpu_precision", "auto") not in CPU_PRECISIONS:
            kwargs.pop("cpu_precision")
        if not isinstance(kwargs.get("research_mark", True), bool):
            kwargs.pop("research_mark")
        if not isinstance(kwargs.get("reopen_last_case", True), bool):
            kwargs.pop("reopen_last_case")
        recent = kwargs.pop("recent_cases", [])
        if isinstance(recent, list):  # ids only: anything else (a name, a bool) is dropped
            ids = [i for i in recent if isinstance(i, int) and not isinstance(i, bool) and i > 0]
            kwargs["recent_cases"] = tuple(dict.fromkeys(ids))[:RECENT_CASES]
        return cls(**kwargs)


def load_settings(path: Path | None = None) -> AppSettings:
    """Settings from ``path`` (default: the user config folder); defaults if missing or unreadable."""
    path = path or default_settings_path()
    try:
        return AppSettings.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return AppSettings()


def save_settings(settings: AppSettings, path: Path | None = None) -> Path:
    """Write atomically, so a crash never leaves a half-written settings file."""
    path = Path(path or default_settings_path())
    text = json.dumps(settings.to_json(), indent=2).encode("utf-8")
    atomic_write_bytes(path, text, create_folder=True, error=SettingsError)
    return path
