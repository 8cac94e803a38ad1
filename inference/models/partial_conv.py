"""Partial convolution (Liu et al., "Image Inpainting for Irregular Holes Using Partial Convolutions", ECCV 2018).

For every output position the convolution sees only the valid pixels of its window and is
renormalised by how many there were:

    x' = W^T (X * M) * sum(1) / sum(M) + b    if sum(M) > 0
    x' = 0                                     otherwise
    m' = 1 if sum(M) > 0 else 0                (the mask update)

``sum(1)`` is the number of elements of the window (kernel height x width x input channels) and
``sum(M)`` the number of valid ones. Zero padding counts as invalid, so border windows are
renormalised too, as in the authors' description of their implementation. Faithful, with one
choice made explicit: the mask is either one channel shared by every input channel (the updated
mask is then the same for every output channel, so it is returned as one channel) or one channel
per input channel (``multi_channel=True``, needed when masks of different feature maps are
concatenated, as in the U-Net decoders of CTSDG).

Mask polarity here is the paper's: **M = 1 valid, 0 hole** (the app's hole masks are ``1 - M``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class PartialConv2d(nn.Module):
    """A 2-D partial convolution; ``forward(x, mask) -> (output, updated mask)``.

    ``mask``: (N, 1, H, W), or (N, C_in, H, W) with ``multi_channel=True``; 1 = valid, 0 = hole.
    The updated mask is (N, 1, H', W'), exactly 0 or 1.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, bias: bool = True, multi_channel: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, dilation=dilation, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.multi_channel = multi_channel
        self.register_buffer("window", torch.ones(1, in_ch if multi_channel else 1, kernel, kernel), persistent=False)
        # sum(1): elements of one window over all input channels
        self.window_size = float(in_ch * kernel * kernel)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        expected = x.shape[1] if self.multi_channel else 1
        if mask.shape[1] != expected:
            raise ValueError(f"PartialConv2d expects a mask with {expected} channel(s), got {mask.shape[1]}.")
        conv = self.conv
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            # counted in float32 outside autocast: counts up to C_in * k * k must stay exact
            count = F.conv2d(mask.float(), self.window, stride=conv.stride, padding=conv.padding,
                             dilation=conv.dilation)
            valid = (count > 0).float()
            per_channel = 1.0 if self.multi_channel else float(x.shape[1])
            scale = self.window_size / (count * per_channel).clamp_min(1.0) * valid
        out = conv(x * mask.to(x.dtype)) * scale.to(x.dtype)
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1).to(out.dtype) * valid.to(out.dtype)
        return out, valid.to(x.dtype)
