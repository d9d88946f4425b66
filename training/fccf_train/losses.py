"""Loss terms. All take images in [-1, 1] shaped [N, 1, H, W] and return per-sample values [N].

Fusion terms (unsupervised, against the clean aligned sources A, B):
- ``ssim_loss``: 1 - gradient-weighted SSIM, local weight of each source = its share of the local
  gradient energy, so the fused image keeps the structure of whichever source has it;
- ``grad_loss``: L1 between |grad F| and max(|grad A|, |grad B|) (Sobel);
- ``intensity_loss``: L1 to max(A, B) (strategy ``max``) or (A + B) / 2 (``mean``);
- ``chroma_loss``: L1 to B's chroma plane (full-colour plans: chroma comes from the functional image);
- ``focus_mask_loss``: for multi-focus pairs, L1 of the mask to the source with more local gradient
  energy, weighted by how clearly one source wins (flat regions, where neither is sharper, are free);
  ``exposure_map`` is the same kind of guide for exposure pairs (the better-exposed source);
Diffusion and registration:
- ``charbonnier``: robust L2 of the x0 estimate to the clean composite;
- ``epe``: mean end-point error of the flow (pixels);
- ``correlation_nce``: contrastive loss of the registration correlation (the true displacement
  must win among the search window's displacements).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]).view(1, 1, 3, 3) / 4


def sobel_mag(x: torch.Tensor) -> torch.Tensor:
    k = _SOBEL_X.to(x)
    xp = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(xp, k).abs() + F.conv2d(xp, k.transpose(-1, -2)).abs()


def _gauss(x: torch.Tensor, size: int = 7, sigma: float = 1.5) -> torch.Tensor:
    r = torch.arange(size, dtype=x.dtype, device=x.device) - size // 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    g = g / g.sum()
    xp = F.pad(x, (size // 2,) * 4, mode="reflect")
    return F.conv2d(F.conv2d(xp, g.view(1, 1, 1, -1)), g.view(1, 1, -1, 1))


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x, y = (x + 1) / 2, (y + 1) / 2
    c1, c2 = 0.01**2, 0.03**2
    mx, my = _gauss(x), _gauss(y)
    sxx = _gauss(x * x) - mx * mx
    syy = _gauss(y * y) - my * my
    sxy = _gauss(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def _mean(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1)


def ssim_loss(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ga, gb = _gauss(sobel_mag(a)), _gauss(sobel_mag(b))
    wa = (ga + 1e-4) / (ga + gb + 2e-4)
    return 1 - _mean(wa * ssim_map(f, a) + (1 - wa) * ssim_map(f, b))


def grad_loss(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return _mean((sobel_mag(f) - torch.maximum(sobel_mag(a), sobel_mag(b))).abs())


def intensity_loss(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, use_max: torch.Tensor) -> torch.Tensor:
    """use_max: bool [N], True for strategy ``max``."""
    target = torch.where(use_max.view(-1, 1, 1, 1), torch.maximum(a, b), (a + b) / 2)
    return _mean((f - target).abs())


def chroma_loss(f: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return _mean((f - b).abs())


def focus_map(a: torch.Tensor, b: torch.Tensor, sigma: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Which source is in focus (1 = A) and how clearly: local gradient energy over a window wide
    enough to span a defocused region's blur (sigma in pixels), so the decision is regional rather
    than per edge. Returns (target, confidence), both [N, 1, H, W] in [0, 1]."""
    size = 2 * int(3 * sigma) + 1
    ea = _gauss(sobel_mag(a) ** 2, size, sigma)
    eb = _gauss(sobel_mag(b) ** 2, size, sigma)
    target = (ea > eb).to(a.dtype)
    conf = (ea - eb).abs() / (ea + eb + 1e-3)
    return target, conf


def focus_mask_loss(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return guide_mask_loss(mask, focus_map(a, b))


def exposure_map(a: torch.Tensor, b: torch.Tensor, sigma: float = 4.0, spread: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Which source is better exposed (1 = A) and how clearly: closeness of the locally smoothed
    intensity to mid-grey (Mertens et al.'s well-exposedness, Gaussian of width ``spread`` on [0, 1]),
    compared between the sources. Returns (target, confidence), both [N, 1, H, W] in [0, 1]."""
    size = 2 * int(3 * sigma) + 1

    def well(x: torch.Tensor) -> torch.Tensor:
        m = _gauss((x + 1) / 2, size, sigma)
        return torch.exp(-((m - 0.5) ** 2) / (2 * spread**2))

    wa, wb = well(a), well(b)
    return (wa > wb).to(a.dtype), (wa - wb).abs() / (wa + wb + 1e-3)


def guide_mask_loss(mask: torch.Tensor, guide: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Confidence-weighted L1 of the mask to a (target, confidence) guide such as ``focus_map``."""
    target, conf = guide
    return _mean(conf * (mask - target).abs())


def charbonnier(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return _mean(torch.sqrt((x - y) ** 2 + eps * eps) - eps)


def edge_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Charbonnier distance between the Sobel derivatives (horizontal and vertical) of x and y, per
    sample: a softened edge moves few pixels, so the pixel loss lets a denoiser blur it cheaply."""
    k = _SOBEL_X.to(x)
    xp, yp = F.pad(x, (1, 1, 1, 1), mode="replicate"), F.pad(y, (1, 1, 1, 1), mode="replicate")
    kt = k.transpose(-1, -2)
    return charbonnier(F.conv2d(xp, k), F.conv2d(yp, k)) + charbonnier(F.conv2d(xp, kt), F.conv2d(yp, kt))


def epe(flow: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _mean((flow - target).norm(dim=1, keepdim=True))


def correlation_nce(logits: torch.Tensor, flow_true: torch.Tensor, radius: int) -> torch.Tensor:
    """Contrastive registration loss on the correlation logits [N, (2r+1)^2, H/s, W/s] (s = H over the
    logits' height): cross-entropy to a bilinear one-hot of the true displacement (the s x s mean of
    ``flow_true``, in cells of s pixels, clamped to the search window). Per sample [N]."""
    s = flow_true.shape[-2] // logits.shape[-2]
    t = F.avg_pool2d(flow_true, s) / s
    d = torch.arange(-radius, radius + 1, dtype=logits.dtype, device=logits.device).view(1, -1, 1, 1)
    wx = (1 - (t[:, 0:1].clamp(-radius, radius) - d).abs()).clamp(min=0)  # [N, k (dx), H, W]
    wy = (1 - (t[:, 1:2].clamp(-radius, radius) - d).abs()).clamp(min=0)  # [N, k (dy), H, W]
    n, k, h, w = wx.shape
    target = (wy.unsqueeze(2) * wx.unsqueeze(1)).reshape(n, k * k, h, w)
    return -(target * logits.log_softmax(1)).sum(1).flatten(1).mean(1)
