"""The one way this project writes a file: beside the target, then replaced in one step.

A crash or a full disk leaves either the old file or the new one, never half of one, and no
temporary file behind. The temporary file is created with the process's normal permissions
(``mkstemp`` would make reports and exports readable by their owner only).
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from inference.errors import FileWriteError


def describe_write_error(path: Path, exc: OSError) -> str:
    """A message a clinician can act on: full disk, no permission, or the system's reason."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"The disk is full: {path.name} could not be saved in {path.parent}. Free some space and try again."
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"No permission to write {path.name} in {path.parent}. Choose another folder."
    if code == errno.EISDIR:
        return f"Cannot save: {path} is a folder."
    return f"{path.name} could not be saved in {path.parent}: {exc.strerror or exc}."


def atomic_write(path: Path, write: Callable[[BinaryIO], object], *, create_folder: bool = False,
                 error: Callable[[str], Exception] = FileWriteError) -> Path:
    """Call ``write`` with an open binary file, fsync it, then move it onto ``path``.

    An ``OSError`` becomes ``error(message)``; ``create_folder`` makes missing parent folders
    (for the app's own data folder), otherwise a missing folder is reported.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if create_folder:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise error(describe_write_error(path, exc)) from exc
    elif not folder.is_dir():
        raise error(f"Cannot save {path.name}: the folder {folder} does not exist.")
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.part"
    try:
        with open(tmp, "xb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise error(describe_write_error(path, exc)) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_bytes(path: Path, data: bytes, **kwargs: object) -> Path:
    return atomic_write(path, lambda handle: handle.write(data), **kwargs)  # type: ignore[arg-type]
