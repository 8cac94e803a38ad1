"""iBUG 300-W (68-point) index sets of the face regions that masks and structure measures use.

The one place these lists are written: ``inference.face.suggest`` (the mask families),
``training.masks.lip`` (training masks) and ``training.evaluation.structure`` import them.
Polygons are listed in drawing order (outer contours clockwise in the image, inner ones
continuing the outline back), so they can be filled as they are.
"""

from __future__ import annotations

JAW_LEFT, JAW_RIGHT = 0, 16                       # face width = |p16 - p0|
OUTER_EYE_CORNERS = (36, 45)                      # inter-ocular distance (300-W normalisation)
NOSE_BASE = (31, 32, 33, 34, 35)                  # nostril sill, left alar base to right
MOUTH_OUTER = tuple(range(48, 60))                # outer lip contour: 48 corner .. 54 corner .. 59
MOUTH_INNER = tuple(range(60, 68))                # inner lip contour: 60 corner .. 64 corner .. 67
MOUTH = MOUTH_OUTER + MOUTH_INNER                 # all 20 mouth points (48-67)
UPPER_LIP_OUTER = (48, 49, 50, 51, 52, 53, 54)    # outer upper-lip contour, corner to corner
UPPER_LIP_INNER = (64, 63, 62, 61, 60)            # inner upper-lip line, back from right to left corner
LIP_TOP_REVERSED = (52, 51, 50)                   # the top of the upper lip (Cupid's bow), right to left

UPPER_LIP = UPPER_LIP_OUTER + UPPER_LIP_INNER     # closed upper-lip polygon
PHILTRUM = NOSE_BASE + LIP_TOP_REVERSED           # closed nostril-sill / philtrum polygon
