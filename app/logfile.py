"""The app's log file: rotating, in the user's data folder, with no patient data in it.

Error messages that say "details were written to the log" name this file, so a clinician can
send it to whoever supports the app. Tracebacks and messages may quote file paths (a photo's
file name can hold a patient's name), so every path outside the app's own code and Python is
replaced by ``<path>`` before a line is written.
"""

from __future__ import annotations

import logging
import re
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_FOLDER = "logs"
LOG_NAME = "cleftlip.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# A Windows or POSIX path of two or more parts, or a bare image file name.
# Folder names may hold spaces ("Pat Doe/"), so a folder part runs to the next slash on the same line.
_PATH = re.compile(r"(?:[A-Za-z]:)?[\\/](?:[^\n'\"\\/:<>|]+?[\\/])+[^\s'\"\\/:<>|]*")
_IMAGE_NAME = re.compile(r"[^\s'\"\\/:<>|]+\.(?:jpe?g|png|tiff?|bmp|webp|dcm|dicom|dic)\b", re.IGNORECASE)

_current: Path | None = None


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOG_FOLDER / LOG_NAME


def current_log_file() -> Path | None:
    """The file this process logs to, or None when logging goes to the console only."""
    return _current


class PrivacyFormatter(logging.Formatter):
    """Formats as usual, then removes paths and image file names that are not the app's own."""

    def __init__(self, keep: tuple[str, ...]) -> None:
        super().__init__(_FORMAT)
        self._keep = tuple(k for k in keep if k)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._keep)


def redact(text: str, keep: tuple[str, ...] = ()) -> str:
    """``text`` with every path not under ``keep`` and every image file name replaced."""
    def path(match: re.Match[str]) -> str:
        found = match.group(0)
        return found if keep and found.startswith(keep) else "<path>"

    return _IMAGE_NAME.sub("<file>", _PATH.sub(path, text))


def setup_logging(data_dir: Path, level: int = logging.INFO) -> Path | None:
    """Log to the console and to ``<data_dir>/logs/cleftlip.log`` (rotated at 1 MB, 3 kept).

    Returns the file, or None when the folder cannot be made (a full or read-only disk must not
    stop the app from starting; the console log still works).
    """
    global _current
    root = logging.getLogger()
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
               for h in root.handlers):
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(console)
    for handler in [h for h in root.handlers if getattr(h, "_cleftlip", False)]:
        root.removeHandler(handler)
        handler.close()
    target = log_path(data_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        _current = None
        return None
    handler = RotatingFileHandler(target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
    code = Path(__file__).resolve().parents[1]
    packages = tuple(str(code / name) for name in ("app", "inference", "studies"))
    handler.setFormatter(PrivacyFormatter((sys.prefix, sys.base_prefix, *packages)))
    handler._cleftlip = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    _current = target
    return target
