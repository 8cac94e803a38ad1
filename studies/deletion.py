"""Removing files of deleted rows without ever losing one the database still points to.

A deletion runs in four steps: (1) a journal entry naming the files (or a case's folder) is
written under ``<data folder>/deleting/``; (2) the rows are deleted and the transaction committed;
(3) the files are removed; (4) the entry is removed. If the commit fails, the entry is dropped and
no file is touched. If the app stops between (2) and (4), :func:`finish_pending` completes the
job the next time: an entry whose files no row points to any more is carried out, one whose files
are still pointed to (the commit never happened) is dropped. The database decides, the journal
only remembers which files to look at.
"""

from __future__ import annotations

import errno
import json
import logging
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from studies.errors import CaseError, StudyError
from studies.files import atomic_write_bytes, resolve_inside

JOURNAL_DIR = "deleting"
RMTREE_ATTEMPTS = 3  # a preview written into the folder while it is removed makes rmtree fail once
log = logging.getLogger(__name__)


@contextmanager
def journaled_removal(data_dir: Path, targets: Sequence[str]) -> Iterator[None]:
    """Around the block that deletes and commits the rows: journal first, remove the files after.

    ``targets`` are paths relative to the data folder (files, or a case's folder). The block must
    commit; if it raises, the entry is dropped and every file stays.
    """
    entry = _write_entry(Path(data_dir), targets)
    try:
        yield
    except BaseException:
        entry.unlink(missing_ok=True)
        raise
    _carry_out(Path(data_dir), entry, targets)


def finish_pending(data_dir: Path, still_referenced: Callable[[str], bool]) -> int:
    """Complete deletions interrupted after their commit; return how many entries were settled.

    ``still_referenced(target)`` asks the database whether a row still points at a target.
    """
    folder = Path(data_dir) / JOURNAL_DIR
    if not folder.is_dir():
        return 0
    settled = 0
    for entry in sorted(folder.glob("*.json")):
        try:
            targets = [str(t) for t in json.loads(entry.read_text(encoding="utf-8"))["targets"]]
            for t in targets:
                resolve_inside(Path(data_dir), t)  # never follow an entry out of the data folder
        except (OSError, ValueError, KeyError, TypeError, StudyError):
            log.warning("Unreadable deletion journal entry %s left in place", entry.name)
            continue
        if any(still_referenced(t) for t in targets):
            entry.unlink(missing_ok=True)  # the deletion was never committed: keep the files
        else:
            _carry_out(Path(data_dir), entry, targets)
        settled += 1
    return settled


def _write_entry(data_dir: Path, targets: Sequence[str]) -> Path:
    for t in targets:
        resolve_inside(data_dir, t)  # refuse anything outside the data folder before writing
    entry = data_dir / JOURNAL_DIR / f"{secrets.token_hex(8)}.json"
    atomic_write_bytes(entry, json.dumps({"targets": list(targets)}).encode("utf-8"))
    return entry


def _remove_folder(path: Path) -> None:
    """``shutil.rmtree``, tried again when a file appeared in the folder while it was being emptied."""
    for attempt in range(RMTREE_ATTEMPTS):
        try:
            shutil.rmtree(path)
            return
        except OSError as exc:
            if not path.exists():  # a file that vanished mid-removal: the folder is gone all the same
                return
            if exc.errno not in (errno.ENOTEMPTY, errno.ENOENT) or attempt == RMTREE_ATTEMPTS - 1:
                raise
        time.sleep(0.05)


def _carry_out(data_dir: Path, entry: Path, targets: Sequence[str]) -> None:
    """Remove the targets, then the entry. A target that cannot be removed keeps the entry for later."""
    failed = []
    for t in targets:
        path = resolve_inside(data_dir, t)
        try:
            if path.is_dir() and not path.is_symlink():
                _remove_folder(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:
            failed.append(f"{t}: {exc.strerror or exc}")
    if failed:
        log.warning("Files of a deleted record could not be removed yet: %d", len(failed))
        raise CaseError("The record was deleted, but some of its files could not be removed yet "
                        "(they will be removed the next time the app deletes something): "
                        + "; ".join(failed[:3]))
    entry.unlink(missing_ok=True)
