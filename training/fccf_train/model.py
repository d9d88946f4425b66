"""The fusion network, split in two graphs per the model contract (DESIGN.md).

``Encoder`` (run once per condition): ``encoder(cond [N,2,H,W], task int64 [N])`` returns
``(feat_half [N,F,H/2,W/2], comp [N,1,H,W], mask [N,1,H,W], flow [N,2,H,W])``:
- ``mask`` in [0, 1] is the weight of ``cond[:, 0]`` (a) in the base (low-frequency) layer,
- ``flow`` is a displacement in pixels, (dx, dy), with b_aligned(p) = b(p + flow(p)) (see :func:`warp`),
- ``comp`` is the two-scale registered composite of a and warp(b, flow) (:meth:`Encoder.compose`),
- ``feat_half`` and ``comp`` are the features the denoiser takes.

``Denoiser`` (run once per sampling step): ``denoiser(x_t [N,1,H,W], t [N] float in training
units 0..T-1 (fractional allowed), feat_half, comp)`` returns the x0 prediction [N,1,H,W]
(prediction type ``sample``; schedule in :mod:`fccf_train.schedule`). Internally
x0 = c_skip(t) * x_t + c_out(t) * net(c_in(t) * x_t, ...), so the output is well scaled at every t.

H and W must be multiples of ``INPUT_MULTIPLE`` (8). Values in [-1, 1].

Example::

    model = FusionNet()
    feat_half, comp, mask, flow = model.encoder(cond, task)
    x0 = model.denoiser(x_t, t, feat_half, comp)
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .graph import ChebGraphLayer
from .schedule import SCHEDULE
from .tasks import NUM_TASKS
from .warp import warp

INPUT_MULTIPLE = 8


@dataclass(frozen=True)
class ModelConfig:
    enc: tuple[int, int, int] = (12, 24, 48)
    desc: int = 16
    feat_half: int = 8
    den: tuple[int, int] = (16, 32)
    task_dim: int = 32
    corr_radius: int = 2
    cheb_order: int = 3

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict[str, object]) -> "ModelConfig":
        return ModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})  # type: ignore[arg-type]


def conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def upconv(cin: int, cout: int) -> nn.ConvTranspose2d:
    # learned 2x upsampling: cheaper than a bilinear Resize in onnxruntime
    return nn.ConvTranspose2d(cin, cout, 2, 2)


class FiLM(nn.Module):
    """Per-channel scale and shift from a conditioning vector (task or time embedding)."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.lin.weight)
        nn.init.zeros_(self.lin.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        g, b = self.lin(c).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        return x * (1 + g) + b


def correlation(da: torch.Tensor, db: torch.Tensor, r: int) -> torch.Tensor:
    """Cosine similarity of da(p) with db(p + (dx, dy)) for |dx|, |dy| <= r, dy-major; 0 outside."""
    da, db = F.normalize(da, dim=1), F.normalize(db, dim=1)
    pb = F.pad(db, (r, r, r, r))
    h, w = db.shape[-2], db.shape[-1]
    out = []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out.append((da * pb[..., r + dy : r + dy + h, r + dx : r + dx + w]).sum(1, keepdim=True))
    return torch.cat(out, 1)


def low_pass(x: torch.Tensor) -> torch.Tensor:
    """Base layer of the two-scale composite: 4x4 box mean, bilinear back to full size (about a
    Gaussian of sigma 2). Cheap in ORT, unlike a full-resolution single-channel convolution."""
    return F.interpolate(F.avg_pool2d(x, 4), scale_factor=4.0, mode="bilinear", align_corners=False)


class Parts(NamedTuple):
    """Encoder internals the training losses need besides the contract outputs."""

    base_mask: torch.Tensor
    detail_mask: torch.Tensor
    detail_gain: torch.Tensor


class Encoder(nn.Module):
    """Source-only work, run once per condition. Full resolution is only touched by space-to-depth,
    depth-to-space, the warp and the two-scale composite (CPU budget at 640x480).

    Registration: a correlation of learned descriptors at 1/8 scale (radius ``corr_radius`` cells)
    feeds the bottleneck; the flow is regressed at 1/2 scale (zero-initialised, so training starts
    from the identity) and upsampled bilinearly.
    The composite is two-scale: base layers (:func:`low_pass`) blended by ``mask``, detail
    layers blended by a second mask and scaled by a learned gain in (0, 2).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c2, c4, c8 = cfg.enc
        self.cfg = cfg
        self.task_emb = nn.Embedding(NUM_TASKS, cfg.task_dim)
        # per-modality descriptors (shared weights) for registration and the graph edges
        self.desc4 = nn.Sequential(conv(4, cfg.desc, 3, 2), nn.SiLU(), nn.Conv2d(cfg.desc, cfg.desc, 1))
        ncorr = (2 * cfg.corr_radius + 1) ** 2
        self.e2 = conv(8, c2)
        self.e4 = conv(c2, c4, 3, 2)
        self.e8a, self.e8b = conv(c4, c8, 3, 2), nn.Conv2d(c8 + ncorr + 2 * cfg.desc, c8, 1)
        self.graph = ChebGraphLayer(c8, cfg.desc, cfg.cheb_order)
        self.u4, self.d4 = upconv(c8, c4), conv(c4, c4)
        self.u2, self.d2 = upconv(c4, c2), nn.Conv2d(c2, c2, 1)
        self.films = nn.ModuleList([FiLM(cfg.task_dim, c) for c in (c2, c4, c8, c4, c2)])
        self.mask_head = nn.Conv2d(c2, 12, 1)
        self.flow_head = nn.Conv2d(c2, 2, 1)
        self.feat_head = nn.Conv2d(c2, cfg.feat_half, 1)
        nn.init.zeros_(self.flow_head.weight)
        nn.init.zeros_(self.flow_head.bias)

    def compose(self, a: torch.Tensor, b_reg: torch.Tensor, parts: Parts) -> torch.Tensor:
        """Two-scale composite of a and the registered b."""
        low = low_pass(torch.cat([a, b_reg], 1))
        la, lb = low[:, 0:1], low[:, 1:2]
        m, md, g = parts.base_mask, parts.detail_mask, parts.detail_gain
        return m * la + (1 - m) * lb + g * (md * (a - la) + (1 - md) * (b_reg - lb))

    def forward_parts(self, cond: torch.Tensor, task: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], Parts]:
        act = F.silu
        cfg = self.cfg
        te = self.task_emb(task)
        fl = self.films
        a, b = cond[:, 0:1], cond[:, 1:2]
        n = cond.shape[0]
        # one space-to-depth for everything: channels 0..3 are a's 2x2 cells, 4..7 b's
        cond2 = F.pixel_unshuffle(cond, 2)
        d4 = self.desc4(torch.cat([cond2[:, 0:4], cond2[:, 4:8]], 0))
        d8 = F.avg_pool2d(d4, 2)
        da8, db8 = d8[:n], d8[n:]
        corr8 = correlation(da8, db8, cfg.corr_radius)

        x2 = act(fl[0](self.e2(cond2), te))
        x4 = act(self.e4(x2))
        x8 = act(self.e8a(x4))
        x8 = act(fl[2](self.e8b(torch.cat([x8, corr8, da8, db8], 1)), te))
        x8 = x8 + self.graph(x8, da8, db8)
        y4 = self.u4(x8) + x4
        y4 = act(fl[3](self.d4(act(fl[1](y4, te))), te))
        y2 = act(fl[4](self.d2(self.u2(y4) + x2), te))
        m = torch.sigmoid(F.pixel_shuffle(self.mask_head(y2), 2))
        flow = F.interpolate(self.flow_head(y2), scale_factor=2.0, mode="bilinear", align_corners=False)
        parts = Parts(m[:, 0:1], m[:, 1:2], 2 * m[:, 2:3])
        comp = self.compose(a, warp(b, flow), parts)
        return (self.feat_head(y2), comp, parts.base_mask, flow), parts

    def forward(self, cond: torch.Tensor, task: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.forward_parts(cond, task)[0]


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float().unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([torch.sin(args), torch.cos(args)], 1)


class Denoiser(nn.Module):
    """Per-step x0 predictor with preconditioning x0 = c_skip x_t + c_out net(c_in x_t, ...)."""

    SIGMA_DATA = 0.5

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d2, d4 = cfg.den
        self.tdim = 32
        self.temb = nn.Sequential(nn.Linear(self.tdim, 64), nn.SiLU(), nn.Linear(64, 64))
        self.inp = conv(8 + cfg.feat_half, d2)
        self.down = conv(d2, d4, 3, 2)
        self.mid = conv(d4, d4)
        self.up = upconv(d4, d2)
        self.merge = nn.Conv2d(d2, d2, 1)
        self.head = nn.Conv2d(d2, 4, 1)
        self.films = nn.ModuleList([FiLM(64, c) for c in (d2, d4, d4, d2)])
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.register_buffer("log_abar", torch.log(SCHEDULE.alphas_cumprod).float(), persistent=False)
        self.tmax = float(SCHEDULE.num_train_timesteps - 1)

    def abar(self, t: torch.Tensor) -> torch.Tensor:
        tmax = self.tmax
        t = t.float().clamp(0, tmax)
        lo = torch.floor(t)
        hi = torch.clamp(lo + 1, max=tmax)
        w = t - lo
        la = self.log_abar[lo.long()] * (1 - w) + self.log_abar[hi.long()] * w
        return torch.exp(la)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, feat_half: torch.Tensor, comp: torch.Tensor) -> torch.Tensor:
        act = F.silu
        ab = self.abar(t).view(-1, 1, 1, 1)
        alpha, sigma = ab.sqrt(), (1 - ab).sqrt()
        sd2 = self.SIGMA_DATA**2
        denom = alpha * alpha * sd2 + sigma * sigma
        c_skip = alpha * sd2 / denom
        c_out = sigma * self.SIGMA_DATA / denom.sqrt()
        c_in = 1.0 / denom.sqrt()
        te = self.temb(timestep_embedding(t, self.tdim))
        fl = self.films
        x = F.pixel_unshuffle(torch.cat([x_t * c_in, comp], 1), 2)
        h2 = act(fl[0](self.inp(torch.cat([x, feat_half], 1)), te))
        h4 = act(fl[1](self.down(h2), te))
        h4 = act(fl[2](self.mid(h4), te))
        h = act(fl[3](self.merge(self.up(h4) + h2), te))
        return c_skip * x_t + c_out * F.pixel_shuffle(self.head(h), 2)


class FusionNet(nn.Module):
    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ModelConfig()
        self.encoder = Encoder(self.cfg)
        self.denoiser = Denoiser(self.cfg)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def check_size(h: int, w: int) -> None:
    if h % INPUT_MULTIPLE or w % INPUT_MULTIPLE:
        raise ValueError(f"input size {w}x{h} is not a multiple of {INPUT_MULTIPLE}; pad H and W first")
