"""A structural coarse stage: the mean open-data mouth and nose, warped to the predicted landmarks.

A smooth fill has no lip: a network that refines it must invent the vermilion border, the mouth
line, the philtrum and the nostrils from nothing, and with an L1 loss it learns their average
position, which is no lip. This module starts the refinement from a lip instead. Offline, every
training face is warped onto the mean landmark shape (a thin-plate spline through the 68 points)
and its mouth-and-nose region is expressed as a *detail*: its logit minus the logit of a membrane
fill of that region. The mean detail over thousands of open faces is the template; because the
faces are aligned at their landmarks, the template keeps a sharp vermilion border, a dark mouth
line and philtral shading, while every face-specific colour cancels out. The nostrils are not
landmarked and average out to a faint crescent. A second buffer, ``nostrils``, holds what two
sharp nostrils add to the template there, averaged over faces aligned at their own nostrils
(``training.lip_prior.sharpen_nostrils``); each side is added in proportion to how much of it the
hole hides (``nostril_cover``), because a nostril that is partly visible says where it is, and one
drawn from the landmarks a few pixels away would be a second nostril.

What the network adds to the fill (the template and its own correction) keeps its colour in
proportion to how colourful the photo is around the hole (``keep_colour``): a greyscale photo, a
monochrome DICOM for instance, gets a grey lip, not the pink of the colour faces the template was
averaged from, nor the green the correction learned to balance that pink with.

At run time the template is warped from the mean shape to the landmarks the network predicts
(or to landmarks a user supplies), multiplied by a gain and added, in logit space, to the
membrane fill of the hole, fading to zero at the hole's border so that no seam appears. Both the
template and the mean shape are buffers of the network, so they travel inside
``model.safetensors``; the gain is a constructor argument, so the model card records it.

Why a gain: no two faces' lips line up exactly after the warp, so the average detail has a
lower amplitude than any one face's (its vermilion is paler, its mouth line shallower). A gain
above 1 gives back that contrast. Measured on held-out faces (docs/reports/experiments), a
network trained at gain 1 and run at an effective gain of ~1.6 on a whole-mouth hole draws lips
whose redness and edge energy are close to the real faces' (vermilion contrast ~0.85, edge energy
~0.9 of the truth's) for ~1 dB of hole PSNR, where gain 1 gives ~0.5 and ~0.6.

The gain applies in proportion to how much of the warped template the hole covers
(``effective_gain``): a whole-mouth hole covers about 60 % of it, a small wedge a few per cent.
A flat gain drew a dark mouth line over visible teeth and a red blot in small philtrum masks.

Coordinates are normalised to [0, 1] of the crop, (x, y), with pixel centres at (i + 0.5) / size,
as everywhere in this project.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

NUM_LANDMARKS = 68
TEMPLATE_SIZE = 256
TPS_GRID = 64            # the spline is evaluated on this grid and the sampling grid upsampled: it is smooth
TPS_REGULARISATION = 1e-4
BORDER_FADE = 9          # pixels over which the detail fades in from the hole's border
NOSTRIL_COVER = (0.6, 0.95)  # share of a nostril patch the hole hides: none of it drawn below, all of it above
FULL_COLOUR_SPREAD = 0.06  # channel spread (max - min of RGB) of the fill in the hole from which the template's colour
                           # is kept in full. A greyscale photo has 0 (3.5 % of UTKFace); colour faces start near 0.05
                           # (5th percentile 0.08, median 0.27). A sepia print (about 0.11) keeps its colour.


def _tps_kernel(d2: torch.Tensor) -> torch.Tensor:
    """U(r) = r^2 log r, written on squared distances (0 at r = 0)."""
    return 0.5 * d2 * torch.log(d2.clamp_min(1e-12))


def tps_map(control: torch.Tensor, values: torch.Tensor, points: torch.Tensor,
            regularisation: float = TPS_REGULARISATION) -> torch.Tensor:
    """Evaluate at ``points`` (N, G, 2) the thin-plate spline taking ``control`` (N, K, 2) to ``values`` (N, K, 2).

    Solved in float32 whatever autocast is active; a small regularisation keeps coincident
    control points (a closed mouth's inner lip) and folded predictions well posed.
    """
    with torch.autocast(device_type=control.device.type, enabled=False):
        control, values, points = control.float(), values.float(), points.float()
        n, k, _ = control.shape
        kernel = _tps_kernel(torch.cdist(control, control).square())
        kernel = kernel + regularisation * torch.eye(k, device=control.device)
        affine = torch.cat([torch.ones(n, k, 1, device=control.device), control], dim=2)      # N, K, 3
        system = torch.zeros(n, k + 3, k + 3, device=control.device)
        system[:, :k, :k] = kernel
        system[:, :k, k:] = affine
        system[:, k:, :k] = affine.transpose(1, 2)
        rhs = torch.cat([values, torch.zeros(n, 3, 2, device=control.device)], dim=1)
        coef, info = torch.linalg.solve_ex(system, rhs)                                        # N, K+3, 2
        if bool((info != 0).any()):  # all points coincident (an untrained head): least squares instead
            coef = torch.linalg.lstsq(system, rhs, driver="gelsd").solution
        u = _tps_kernel(torch.cdist(points, control).square())                                  # N, G, K
        point_affine = torch.cat([torch.ones_like(points[..., :1]), points], dim=2)             # N, G, 3
        return u @ coef[:, :k] + point_affine @ coef[:, k:]


def _pixel_centres(size: int, device: torch.device) -> torch.Tensor:
    c = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([x, y], dim=-1).reshape(1, size * size, 2)


def warp(source: torch.Tensor, source_landmarks: torch.Tensor, target_landmarks: torch.Tensor,
         size: int | None = None) -> torch.Tensor:
    """Warp ``source`` (N or 1, C, H, W) so that its ``source_landmarks`` land on ``target_landmarks`` (N, 68, 2).

    Backward mapping: each output pixel samples the source where the spline through
    (target -> source) sends it; the spline is evaluated on a coarse grid and interpolated.
    """
    n = target_landmarks.shape[0]
    size = size or source.shape[-1]
    grid_res = min(TPS_GRID, size)
    points = _pixel_centres(grid_res, target_landmarks.device).expand(n, -1, -1)
    src = source_landmarks.expand(n, -1, -1)
    mapped = tps_map(target_landmarks.detach(), src, points)                                  # N, G, 2 in [0, 1]
    grid = mapped.view(n, grid_res, grid_res, 2).permute(0, 3, 1, 2)
    if grid_res != size:
        grid = F.interpolate(grid, size=(size, size), mode="bilinear", align_corners=False)
    grid = grid.permute(0, 2, 3, 1) * 2 - 1                                                    # grid_sample's [-1, 1]
    src_img = source.expand(n, -1, -1, -1) if source.shape[0] == 1 else source
    return F.grid_sample(src_img.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def border_fade(hole: torch.Tensor, width: int = BORDER_FADE) -> torch.Tensor:
    """1 deep inside the hole, falling to 0 at its border (and 0 outside), so added detail leaves no seam."""
    k = 2 * (width // 2) + 1
    inside = F.avg_pool2d(hole.float(), k, stride=1, padding=k // 2, count_include_pad=False)
    return (hole * (2 * inside - 1)).clamp(0, 1)


class LipPrior(nn.Module):
    """The mean mouth-and-nose detail (logit space) on the mean landmark shape, and its warp to given landmarks.

    An untrained prior (all-zero template) adds nothing: the network then sees a plain membrane fill.
    ``training.lip_prior`` computes the template from the training faces and stores it here, and
    ``training.lip_prior.sharpen_nostrils`` the two nostril patches (channels 0-2 photo-left, 3-5
    photo-right; zero in weights made before them).
    """

    def __init__(self, size: int = TEMPLATE_SIZE, gain: float = 1.0) -> None:
        super().__init__()
        if not gain >= 0:
            raise ValueError(f"The lip prior's gain must be >= 0, not {gain}.")
        self.gain = float(gain)
        self.register_buffer("template", torch.zeros(1, 3, size, size))
        self.register_buffer("nostrils", torch.zeros(1, 6, size, size))
        self.register_buffer("reference", torch.full((1, NUM_LANDMARKS, 2), 0.5))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # noqa: ANN001
        # weights and templates made before the nostril patches existed have none: they add nothing
        if prefix + "template" in state_dict and prefix + "nostrils" not in state_dict:
            state_dict[prefix + "nostrils"] = torch.zeros_like(self.nostrils)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def detail(self, landmarks: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The template detail (N, 3, size, size) and the two nostril patches (N, 6, size, size), warped onto
        ``landmarks`` (N, 68, 2) in one pass."""
        both = warp(torch.cat([self.template, self.nostrils], 1), self.reference, landmarks, size)
        return both[:, :3], both[:, 3:]

    def effective_gain(self, detail: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """Per image (N, 1, 1, 1): 1 + (gain - 1) x the share of the warped template's detail that the hole covers.

        A hole over the whole mouth gets the full gain. A small wedge gets almost none: the lip
        around it is visible and tells the network where the lip is, and a stronger template there
        only collides with what is seen (a dark mouth line over visible teeth, a red blot in a
        small philtrum mask).
        """
        return 1.0 + (self.gain - 1.0) * _covered_share(detail, hole)

    @staticmethod
    def nostril_cover(nostrils: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """Per image and side (N, 2, 1, 1): how much of each warped nostril patch to add, from the share of it
        the hole hides (0 up to ``NOSTRIL_COVER[0]``, rising linearly to 1 at ``NOSTRIL_COVER[1]``)."""
        low, high = NOSTRIL_COVER
        shares = torch.cat([_covered_share(nostrils[:, :3], hole), _covered_share(nostrils[:, 3:], hole)], 1)
        return ((shares - low) / (high - low)).clamp(0, 1)

    @staticmethod
    def colour_share(base: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """Per image (N, 1, 1, 1) in [0, 1]: the mean channel spread of the fill in the hole over
        ``FULL_COLOUR_SPREAD``: 0 for a greyscale photo, 1 for a colour one."""
        spread = base.float().amax(1, keepdim=True) - base.float().amin(1, keepdim=True)
        mean = (spread * hole.float()).sum((1, 2, 3), keepdim=True) / hole.float().sum((1, 2, 3), keepdim=True).clamp_min(1)
        return (mean / FULL_COLOUR_SPREAD).clamp(0, 1)

    def forward(self, base: torch.Tensor, hole: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """Logit of the coarse image: logit(base) plus the warped detail inside the hole, times its effective gain,
        faded at the hole's border. The nostril patches are added as far as the hole hides them."""
        template, nostrils = self.detail(landmarks, base.shape[-1])
        gain = self.effective_gain(template, hole)
        cover = self.nostril_cover(nostrils, hole)
        detail = template + cover[:, :1] * nostrils[:, :3] + cover[:, 1:] * nostrils[:, 3:]
        return torch.logit(base.float().clamp(1e-3, 1 - 1e-3)) + (gain * border_fade(hole)) * detail

    def keep_colour(self, logit: torch.Tensor, base: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """``logit`` (N, 3, H, W) with what it adds to logit(base) desaturated as far as the photo is grey
        (``colour_share``): unchanged on a colour photo, grey in all three channels on a greyscale one."""
        base_logit = torch.logit(base.float().clamp(1e-3, 1 - 1e-3))
        added = logit - base_logit
        grey = added.mean(1, keepdim=True)
        return base_logit + grey + self.colour_share(base, hole) * (added - grey)


def _covered_share(detail: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """(N, 1, 1, 1): the share of ``detail``'s absolute amount (summed over channels) inside the hole; 0 if none."""
    weight = detail.abs().sum(1, keepdim=True)
    return (weight * hole.float()).sum((1, 2, 3), keepdim=True) / weight.sum((1, 2, 3), keepdim=True).clamp_min(1e-6)
