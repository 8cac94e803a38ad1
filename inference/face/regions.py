"""iBUG 300-W (68-point) index sets of the face regions that masks and structure measures use.

The one place these lists are written: the mask families (``inference.face.suggest``), the
measures, training's masks, flips and lip prior, the evaluation, the report's landmark drawing and
the app's landmark overlay all import them. Polygons are listed in drawing order (outer contours
clockwise in the image, inner ones continuing the outline back), so they can be filled as they are.
"Left" and "right" are as seen in the photo.
"""

from __future__ import annotations

JAW = tuple(range(0, 17))                         # jaw line, photo-left ear to photo-right ear
JAW_LEFT, JAW_RIGHT = 0, 16                       # face width = |p16 - p0|
BROW_LEFT = tuple(range(17, 22))                  # photo-left eyebrow
BROW_RIGHT = tuple(range(22, 27))                 # photo-right eyebrow
CHIN = 8                                          # menton, on the midline
EYE_LEFT = tuple(range(36, 42))                   # photo-left eye contour
EYE_RIGHT = tuple(range(42, 48))                  # photo-right eye contour
EYES = EYE_LEFT + EYE_RIGHT                       # both eye contours (36-47)
NOSE_BRIDGE = (27, 28, 29)                        # nasion down the bridge, on the midline (30 is the tip)
NOSE_TIP = 30
NOSE_RIDGE = NOSE_BRIDGE + (NOSE_TIP,)            # the drawn line of the nose, nasion to tip (27-30)
COLUMELLA_BASE = 33                               # subnasale: the middle of the nostril sill
CUPIDS_BOW = (50, 51, 52)                         # photo-left peak, centre dip (labrale superius), photo-right peak
CUPIDS_BOW_PEAKS = (CUPIDS_BOW[0], CUPIDS_BOW[2])  # photo-left, photo-right (50, 52)
MOUTH_CORNERS = (48, 54)                          # cheilion, photo-left and photo-right
OUTER_EYE_CORNERS = (36, 45)                      # inter-ocular distance (300-W normalisation)
NOSE_BASE = (31, 32, 33, 34, 35)                  # nostril sill, left alar base to right
ALAR_BASES = (NOSE_BASE[0], NOSE_BASE[-1])        # where the nostrils meet the cheeks (31, 35)
NOSTRIL_SILL_INNER = (NOSE_BASE[1], NOSE_BASE[3])  # photo-left, photo-right, beside the columella (32, 34)
NOSE = NOSE_RIDGE + NOSE_BASE                     # the whole nose, bridge to nostrils (27-35)
MOUTH_OUTER = tuple(range(48, 60))                # outer lip contour: 48 corner .. 54 corner .. 59
MOUTH_INNER = tuple(range(60, 68))                # inner lip contour: 60 corner .. 64 corner .. 67
MOUTH = MOUTH_OUTER + MOUTH_INNER                 # all 20 mouth points (48-67)
LABRALE_SUPERIUS = CUPIDS_BOW[1]                  # the middle of the upper lip's top edge (51)
INNER_LIP_MIDLINE = (62, 66)                      # middle of the inner upper and inner lower lip
INNER_UPPER_LIP_SIDES = (61, 63)                  # inner upper lip, photo-left and photo-right of 62
UPPER_LIP_OUTER = (48, 49, 50, 51, 52, 53, 54)    # outer upper-lip contour, corner to corner
UPPER_LIP_INNER = (64, 63, 62, 61, 60)            # inner upper-lip line, back from right to left corner
LIP_TOP_REVERSED = (52, 51, 50)                   # the top of the upper lip (Cupid's bow), right to left

UPPER_LIP = UPPER_LIP_OUTER + UPPER_LIP_INNER     # closed upper-lip polygon
PHILTRUM = NOSE_BASE + LIP_TOP_REVERSED           # closed nostril-sill / philtrum polygon
NOSE_BASE_AND_MOUTH = NOSE_BASE + MOUTH           # what a cleft close-up frames: nostril sill and mouth
NOSE_AND_OUTER_LIP = NOSE + MOUTH_OUTER           # the lip prior's support: nose and outer lip

# The face drawn as lines: (indices, closed) per contour, jaw first, inner lip last.
CONTOURS = (
    (JAW, False), (BROW_LEFT, False), (BROW_RIGHT, False), (NOSE_RIDGE, False), (NOSE_BASE, False),
    (EYE_LEFT, True), (EYE_RIGHT, True), (MOUTH_OUTER, True), (MOUTH_INNER, True),
)

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


def _mirror_permutation() -> tuple[int, ...]:
    """Index of each point's mirror image, from the pairs and the midline (checked to cover all 68)."""
    mirror = {p: p for p in MIDLINE_POINTS}
    for a, b in MIRROR_PAIRS:
        mirror[a], mirror[b] = b, a
    if sorted(mirror) != list(range(68)):
        raise AssertionError("MIRROR_PAIRS and MIDLINE_POINTS must name each of the 68 points once")
    return tuple(mirror[i] for i in range(68))


MIRROR_PERMUTATION = _mirror_permutation()
"""``points[MIRROR_PERMUTATION]`` renames left and right points after a horizontal flip."""
