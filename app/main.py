"""Entry point: create the Qt application, load the settings once, show the main window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from inference.paths import APP_NAME, assets_dir

ORGANISATION = "cleftlip"
DISPLAY_NAME = "Cleft Lip Inpainting"


def icon_path() -> Path:
    return assets_dir() / "icons" / "cleftlip.png"


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cleftlip", description=DISPLAY_NAME)
    parser.add_argument("photo", nargs="?", type=Path, help="a photo to open as a new case")
    parser.add_argument("--settings", type=Path, default=None, help="settings file (default: user config folder)")
    parser.add_argument("--data-dir", type=Path, default=None, help="use this data folder for this session")
    parser.add_argument("--quit-after-show", action="store_true",
                        help="start-up check for packaging: show the window, list the models (loads torch and "
                             "the registry), print them and quit; exit code 3 if that takes over 120 s")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(DISPLAY_NAME)
    app.setOrganizationName(ORGANISATION)
    app.setDesktopFileName("cleftlip-inpaint")
    if icon_path().is_file():
        app.setWindowIcon(QIcon(str(icon_path())))

    from app.logfile import setup_logging
    from app.settings import default_settings_path, load_settings
    from app.windows.main_window import MainWindow

    settings_path = args.settings or default_settings_path()
    settings = load_settings(settings_path)
    if args.data_dir is not None:  # a one-session override: never written back to the settings file
        settings = settings.with_changes(data_dir=args.data_dir)
        settings_path = None
    setup_logging(settings.data_dir)
    window = MainWindow(settings, settings_path=settings_path)
    window.show()
    if args.photo is not None:
        window.open_photo_file(args.photo)
    elif not args.quit_after_show:
        window.reopen_last_case()
    if args.quit_after_show:
        def report(models: list) -> None:
            print(f"ready: {len(models)} models ({sum(m.available for m in models)} runnable), "
                  f"device {window.state.device}", flush=True)
            QTimer.singleShot(0, window.close)

        window.state.models_changed.connect(report)
        QTimer.singleShot(120_000, lambda: app.exit(3))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
