"""The painting canvas: exact pixels per stroke, fills, eraser, undo/redo, keys, mask suggestion."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.canvas.images import pyramid  # noqa: E402
from app.canvas.mask_layer import TILE, MaskLayer  # noqa: E402
from app.canvas.view import MaskCanvas  # noqa: E402
from inference.face.suggest import suggest_mask  # noqa: E402
from app.state import AppState, Tool  # noqa: E402

pytestmark = pytest.mark.gui
W, H = 900, 600


def capsule(p0: tuple[float, float], p1: tuple[float, float], radius: float, shape=(H, W)) -> np.ndarray:
    """Pixels whose centre lies within ``radius`` of the segment p0-p1 (the ideal round brush)."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    d = b - a
    t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(d @ d, 1e-9), 0, 1)
    return (xx - a[0] - t * d[0]) ** 2 + (yy - a[1] - t * d[1]) ** 2 <= radius ** 2


@pytest.fixture
def canvas(qtbot) -> MaskCanvas:
    state = AppState(brush_size=20)
    view = MaskCanvas(state)
    qtbot.addWidget(view)
    view.resize(900, 600)
    rgb = np.full((H, W, 3), 128, np.uint8)
    view.set_photo(pyramid(rgb), W, H)
    view.show()
    view.set_zoom(1.0)  # brush sizes are screen pixels: at 100 % one screen pixel is one photo pixel
    return view


def drag(view: MaskCanvas, points: list[tuple[float, float]]) -> None:
    view.tool_press(QPointF(*points[0]))
    for p in points[1:]:
        view.tool_move(QPointF(*p))
    view.tool_release(QPointF(*points[-1]))


def test_brush_stroke_paints_the_capsule_and_nothing_else(canvas):
    drag(canvas, [(100, 100), (300, 180)])
    mask = canvas.layer.to_bool()
    ideal = capsule((100, 100), (300, 180), 10)
    inner = capsule((100, 100), (300, 180), 9)   # one pixel of rasteriser freedom at the rim
    outer = capsule((100, 100), (300, 180), 11.5)
    assert mask[inner].all()
    assert not mask[~outer].any()
    assert abs(int(mask.sum()) - int(ideal.sum())) < 0.05 * ideal.sum()
    assert canvas.undo_stack.count() == 1


def test_undo_redo_every_stroke_exactly(canvas):
    states = [canvas.layer.to_bool()]
    for y in (100, 200, 300):
        drag(canvas, [(50, y), (400, y + 20)])
        states.append(canvas.layer.to_bool())
    canvas.state.set_tool(Tool.ERASER)
    drag(canvas, [(200, 80), (200, 340)])
    states.append(canvas.layer.to_bool())
    assert not np.array_equal(states[-1], states[-2])
    for expected in reversed(states[:-1]):
        canvas.undo_stack.undo()
        assert np.array_equal(canvas.layer.to_bool(), expected)
    for expected in states[1:]:
        canvas.undo_stack.redo()
        assert np.array_equal(canvas.layer.to_bool(), expected)


def test_undo_patches_only_hold_touched_tiles(canvas):
    drag(canvas, [(10, 10), (30, 12)])
    command = canvas.undo_stack.command(0)
    patch = command._patch
    assert set(patch.tiles) == {(0, 0)}
    assert patch.nbytes == 2 * TILE * TILE * 4


def test_polygon_and_lasso_fill_exact_rectangles_and_shift_erases(canvas):
    canvas.state.set_tool(Tool.POLYGON)
    for p in [(100, 100), (300, 100), (300, 200), (100, 200)]:
        canvas.tool_press(QPointF(*p))
    assert canvas.close_polygon()
    mask = canvas.layer.to_bool()
    assert mask[101:199, 101:299].all() and mask.sum() <= 202 * 102 and not mask[:95].any()
    canvas.state.set_tool(Tool.LASSO)
    canvas.tool_press(QPointF(150, 120), Qt.KeyboardModifier.ShiftModifier)
    for p in [(250, 120), (250, 180), (150, 180)]:
        canvas.tool_move(QPointF(*p))
    canvas.tool_release(QPointF(150, 180))
    after = canvas.layer.to_bool()
    assert not after[122:178, 152:248].any() and after[101:118, 101:299].all()
    canvas.undo_stack.undo()
    assert np.array_equal(canvas.layer.to_bool(), mask)


def test_real_mouse_events_and_keyboard_shortcuts(qtbot, canvas):
    canvas.fit()
    vp = canvas.viewport()
    start, end = canvas.mapFromScene(QPointF(200, 300)), canvas.mapFromScene(QPointF(400, 300))

    def send(kind, pos: QPoint, buttons) -> None:
        event = QMouseEvent(kind, QPointF(pos), QPointF(vp.mapToGlobal(pos)), Qt.MouseButton.LeftButton, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(vp, event)

    send(QMouseEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    send(QMouseEvent.Type.MouseMove, end, Qt.MouseButton.LeftButton)
    send(QMouseEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    mask = canvas.layer.to_bool()
    tol = 2 / canvas.zoom  # one screen pixel of mapping error each end
    assert mask[300, 200 + int(tol) + 1:400 - int(tol) - 1].all() and not mask[:280].any()
    size = canvas.state.brush_size
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.state.brush_size > size
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.state.brush_size < size


def test_wheel_zooms_towards_the_cursor(canvas):
    canvas.set_zoom(1.0)
    anchor = QPointF(300, 200)
    before = canvas.mapToScene(anchor.toPoint())
    canvas.set_zoom(2.0, anchor=anchor)
    after = canvas.mapToScene(anchor.toPoint())
    assert canvas.zoom == pytest.approx(2.0)
    assert abs(before.x() - after.x()) < 2 and abs(before.y() - after.y()) < 2


def test_state_drives_overlay_and_visibility(canvas):
    drag(canvas, [(100, 100), (120, 100)])
    canvas.state.set_overlay_color("#00ff00")
    pixel = canvas.layer.image.pixelColor(110, 100)
    assert (pixel.red(), pixel.green(), pixel.blue()) == (0, 255, 0)
    canvas.state.set_mask_visible(False)
    assert not canvas._mask_item.isVisible()
    canvas.state.set_overlay_opacity(0.25)
    assert canvas._mask_item.opacity() == pytest.approx(0.25)
    assert canvas.layer.to_bool()[100, 110]  # recolouring never changes the mask


def test_replace_region_round_trip_and_size_check(qapp):
    layer = MaskLayer(50, 40)
    mask = np.zeros((40, 50), bool)
    mask[5:9, 10:30] = True
    layer.begin_edit()
    layer.replace_region(mask)
    patch = layer.end_edit()
    assert np.array_equal(layer.to_bool(), mask) and patch is not None
    with pytest.raises(ValueError):
        layer.replace_region(np.zeros((10, 10), bool))


def test_suggest_mask_first_family_covers_upper_lip_and_philtrum_only():
    lm = np.zeros((68, 2), np.float32)
    lm[:, 0], lm[:, 1] = 200, 100  # everything else far above the mouth
    lm[31:36] = [(180, 300), (190, 305), (200, 307), (210, 305), (220, 300)]
    lm[48:55] = [(160, 350), (175, 340), (190, 335), (200, 337), (210, 335), (225, 340), (240, 350)]
    lm[60:65] = [(165, 352), (185, 352), (200, 353), (215, 352), (235, 352)]
    mask = suggest_mask(lm, (500, 400), family="upper_lip")  # the first suggestion, kept as a family
    assert mask[320, 200] and mask[345, 200] and mask[350, 170]   # philtrum, upper lip
    assert not mask[100, 200] and not mask[420, 200]               # eyes/brows region, chin
    radius = round(0.12 * 80)
    ys, xs = np.nonzero(mask)
    assert xs.min() >= 160 - radius - 1 and xs.max() <= 240 + radius + 1
    with pytest.raises(ValueError):
        suggest_mask(np.zeros((5, 2)), (10, 10))


def test_middle_button_drag_pans_without_painting(canvas):
    canvas.set_zoom(3.0)
    vp = canvas.viewport()
    before = canvas.mapToScene(vp.rect().center())

    def send(kind, x, button, buttons) -> None:
        pos = QPointF(x, 200)
        QApplication.sendEvent(vp, QMouseEvent(kind, pos, QPointF(vp.mapToGlobal(pos.toPoint())), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))

    send(QMouseEvent.Type.MouseButtonPress, 300, Qt.MouseButton.MiddleButton, Qt.MouseButton.MiddleButton)
    send(QMouseEvent.Type.MouseMove, 200, Qt.MouseButton.NoButton, Qt.MouseButton.MiddleButton)
    send(QMouseEvent.Type.MouseButtonRelease, 200, Qt.MouseButton.MiddleButton, Qt.MouseButton.NoButton)
    after = canvas.mapToScene(vp.rect().center())
    assert after.x() - before.x() == pytest.approx(100 / 3, abs=1)
    assert canvas.layer.is_empty() and canvas.undo_stack.count() == 0


def test_brush_size_is_in_screen_pixels_whatever_the_zoom(canvas):
    """Zoomed out to a quarter (a big photo seen whole), a 20 px brush paints 80 photo pixels wide."""
    canvas.set_zoom(0.25)
    assert canvas.brush_radius == pytest.approx(40)
    drag(canvas, [(300, 300), (300, 300)])
    mask = canvas.layer.to_bool()
    rows = np.flatnonzero(mask.any(axis=1))
    assert 78 <= rows[-1] - rows[0] + 1 <= 82
    canvas.set_zoom(2.0)
    assert canvas.brush_radius == pytest.approx(5)
    canvas._update_brush_cursor(QPointF(100, 100))
    assert canvas._cursor.rect().width() == pytest.approx(10)  # the outline follows the zoom


def test_mask_operations_grow_shrink_feather_invert():
    from app.canvas.mask_ops import feather, grow, invert, shrink

    mask = np.zeros((120, 160), bool)
    mask[40:80, 50:110] = True
    grown = grow(mask, 5)
    assert grown[35:85, 55:105].all() and not grown[:34].any() and grown.sum() > mask.sum()
    assert grown[35, 45] == False  # noqa: E712 - round corners: the diagonal reaches less far
    shrunk = shrink(mask, 5)
    assert shrunk[45:75, 55:105].all() and not shrunk[:45].any() and not shrunk[:, :55].any()
    assert np.array_equal(shrink(np.ones((20, 20), bool), 5), np.ones((20, 20), bool))  # photo edge is no border
    jagged = mask.copy()
    jagged[40:42, 50:52] = False  # a 2-px notch in a corner
    jagged[79, 60] = False
    smooth = feather(jagged, 6)
    assert smooth[79, 60] and abs(int(smooth.sum()) - int(mask.sum())) < 0.05 * mask.sum()
    assert np.array_equal(invert(invert(mask)), mask) and invert(mask).sum() == mask.size - mask.sum()


def test_mask_operations_are_single_undo_steps(qtbot):
    from app.canvas.mask_ops import MASK_OPERATIONS

    state = AppState(brush_size=20)
    view = MaskCanvas(state)
    qtbot.addWidget(view)
    view.set_photo(pyramid(np.full((H, W, 3), 128, np.uint8)), W, H)
    mask = np.zeros((H, W), bool)
    mask[100:200, 100:260] = True
    view.load_mask(mask)
    for op, (label, fn) in MASK_OPERATIONS.items():
        before = view.layer.to_bool()
        assert view.replace_mask(fn(before, 7), label)
        assert not np.array_equal(view.layer.to_bool(), before), op
        view.undo_stack.undo()
        assert np.array_equal(view.layer.to_bool(), before), op
        view.undo_stack.redo()
        assert np.array_equal(view.layer.to_bool(), fn(before, 7)), op
