"""LeCun et al. 1998, section III-B: random distortions of the training images, "combinations of the
following planar affine transformations: horizontal and vertical translations, scaling, squeezing
(simultaneous horizontal compression and vertical elongation, or the reverse), and horizontal
shearing". The paper drew them once, 540,000 distorted patterns (nine per original) beside the
60,000 originals; here they are drawn afresh for every pattern, for a whole batch at once on its
device with affine_grid/grid_sample. The paper gives no ranges; the defaults below are a guess in
the range usual for MNIST."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, max_shift: float = 2.0, max_scale: float = 0.1,
                  max_squeeze: float = 0.1, max_shear: float = 0.2,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Distort a float batch (N, C, H, W). Shifts are in pixels, the rest relative.
    Background must be the image's minimum value (it is what fills the border)."""
    n, _, h, w = x.shape

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator, device=generator.device if generator else "cpu") * 2 - 1) * limit

    scale = 1 + uniform(max_scale)
    squeeze = 1 + uniform(max_squeeze)  # x and y scaled in opposite directions
    shear = uniform(max_shear)
    tx, ty = uniform(max_shift) * 2 / w, uniform(max_shift) * 2 / h
    sx, sy = scale * squeeze, scale / squeeze
    theta = torch.stack([
        torch.stack([sx, shear * sy, tx], 1),
        torch.stack([torch.zeros_like(sx), sy, ty], 1),
    ], 1).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    background = x.amin(dim=(1, 2, 3), keepdim=True)
    # grid_sample pads with zeros; shift so the background is zero, then shift back.
    return F.grid_sample(x - background, grid, align_corners=False, padding_mode="zeros") + background
