"""The main window on a small screen (issue 13): at 1280x720 the Run buttons are reachable without scrolling."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QRect  # noqa: E402

from app.settings import AppSettings  # noqa: E402
from app.windows.main_window import MainWindow  # noqa: E402
from app_support import RecordingPrompts, screenshot  # noqa: E402


def test_run_buttons_are_visible_at_1280x720(qtbot, tmp_path: Path) -> None:
    window = MainWindow(AppSettings(data_dir=tmp_path / "data"), prompts=RecordingPrompts(), probe=False)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.size().width() == 1280 and window.size().height() == 720)
    panel = window.model_panel
    for button in (panel.run_one, panel.run_all, panel.cancel):
        top_left = button.mapTo(window, QPoint(0, 0))
        geometry = QRect(top_left, button.size())
        assert window.rect().contains(geometry), (button.text(), geometry)
        assert button.isVisible() and button.visibleRegion().boundingRect().size() == button.size(), button.text()
    screenshot(window, "main-1280x720", tmp_path)
    window.close()


def test_all_models_tab_is_in_the_window(qtbot, tmp_path: Path) -> None:
    from app.windows.grid_view import GridCompareWidget
    from app.windows.main_window import TAB_GRID

    window = MainWindow(AppSettings(data_dir=tmp_path / "data"), prompts=RecordingPrompts(), probe=False)
    qtbot.addWidget(window)
    assert window.tabs.tabText(TAB_GRID) == "All models"
    assert isinstance(window.tabs.widget(TAB_GRID), GridCompareWidget)
    window.tabs.setCurrentIndex(TAB_GRID)  # no case: nothing to decode, the hint shows
    assert window.grid_view.tiles == [] and window._active_view() is window.canvas
    window.close()
