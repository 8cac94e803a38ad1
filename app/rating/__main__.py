"""``python -m app.rating``: the studies window on its own (same settings and data folder as the app)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.rating", description="Blinded rating studies")
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder (default: the app's setting)")
    parser.add_argument("--settings", type=Path, default=None, help="settings file (default: user config folder)")
    parser.add_argument("--quit-after-show", action="store_true", help="show the window and quit (start-up check)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.logfile import setup_logging
    from app.settings import load_settings
    from app.workers import describe_error
    from studies.errors import StudyError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationDisplayName("Blinded rating studies")
    settings = load_settings(args.settings)
    if args.data_dir is not None:
        settings = settings.with_changes(data_dir=args.data_dir)
    setup_logging(settings.data_dir)
    from app.rating.studies_window import StudiesWindow

    try:
        window = StudiesWindow(settings)
    except StudyError as exc:
        QMessageBox.critical(None, "Studies cannot open", describe_error(exc))
        return 1
    window.show()
    if args.quit_after_show:
        QTimer.singleShot(0, window.close)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
