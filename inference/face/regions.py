"""iBUG 300-W (68-point) index sets of the face regions that masks and structure measures use.

The one place these lists are written: ``inference.face.suggest`` (the mask families),
``training.masks.lip`` (training masks) and ``training.evaluation.structure`` import them.
Polygons are listed in drawing order (outer contours clockwise in the image, inner ones
continuing the outline back), so they can be filled as they are.
"""

from __future__ import annotations

JAW_LEFT, JAW_RIGHT = 0, 16                       # face width = |p16 - p0|
CHIN = 8                                          # menton, on the midline
EYES = tuple(range(36, 48))                       # both eye contours: 36-41 photo-left eye, 42-47 photo-right eye
NOSE_BRIDGE = (27, 28, 29)                        # nasion down the bridge, on the midline (30 is the tip)
NOSE_TIP = 30
COLUMELLA_BASE = 33                               # subnasale: the middle of the nostril sill
CUPIDS_BOW = (50, 51, 52)                         # photo-left peak, centre dip (labrale superius), photo-right peak
MOUTH_CORNERS = (48, 54)                          # cheilion, photo-left and photo-right
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

# Left-right mirror pairs of the 68 points (photo-left point, photo-right point); points on the midline
# (8, 27-30, 33, 51, 57, 62, 66) are their own mirror and are listed in MIDLINE_POINTS.
MIRROR_PAIRS = (
    (0, 16), (1, 15), (2, 14), (3, 13), (4, 12), (5, 11), (6, 10), (7, 9),           # jaw
    (17, 26), (18, 25), (19, 24), (20, 23), (21, 22),                                # brows
    (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),                      # eyes
    (31, 35), (32, 34),                                                              # nostril sill
    (48, 54), (49, 53), (50, 52), (59, 55), (58, 56),                                # outer lip
    (60, 64), (61, 63), (67, 65),                                                    # inner lip
)
MIDLINE_POINTS = (8, 27, 28, 29, 30, 33, 51, 57, 62, 66)
NOSE_LOWER = (30, 31, 32, 33, 34, 35)             # nose tip and nostril sill (what a cleft deforms)
