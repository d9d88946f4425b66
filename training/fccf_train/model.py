"""The fusion network, split in two graphs per the model contract (DESIGN.md).

``Encoder`` (run once per condition): ``encoder(cond [N,2,H,W], task int64 [N])`` returns
``(feat_half [N,F,H/2,W/2], comp [N,1,H,W], mask [N,1,H,W], flow [N,2,H,W])``:
- ``mask`` in [0, 1] is the weight of ``cond[:, 0]`` (a),
- ``flow`` is a displacement in pixels, (dx, dy), with b_aligned(p) = b(p + flow(p)) (see :func:`warp`),
- ``comp`` = mask * a + (1 - mask) * warp(b, flow), the registered composite for this condition,
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

import torch
import torch.nn as nn
import torch.nn.functional as F

from .graph import ChebGraphLayer, shift
from .schedule import SCHEDULE
from .tasks import NUM_TASKS
from .warp import warp

INPUT_MULTIPLE = 8


@dataclass(frozen=True)
class ModelConfig:
    enc: tuple[int, int, int] = (16, 24, 48)
    desc: int = 16
    feat_half: int = 8
    den: tuple[int, int] = (16, 32)
    task_dim: int = 32
    corr_radius: int = 2
    flow_gain: float = 4.0
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


class Encoder(nn.Module):
    """Source-only work, run once per condition. Full resolution is only touched by space-to-depth
    and depth-to-space (CPU budget at 640x480); the U-Net runs at 1/2, 1/4 and 1/8."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c2, c4, c8 = cfg.enc
        self.cfg = cfg
        self.task_emb = nn.Embedding(NUM_TASKS, cfg.task_dim)
        # per-modality descriptors (shared weights) for the registration correlation and graph edges
        self.desc = nn.Sequential(conv(4, 12, 3, 2), nn.SiLU(), conv(12, cfg.desc, 3, 2))
        ncorr = (2 * cfg.corr_radius + 1) ** 2
        self.e2 = conv(8, c2)
        self.e4a, self.e4b = conv(c2, c4, 3, 2), conv(c4, c4)
        self.e8a, self.e8b = conv(c4, c8, 3, 2), nn.Conv2d(c8 + ncorr + 2 * cfg.desc, c8, 1)
        self.graph = ChebGraphLayer(c8, cfg.desc, cfg.cheb_order)
        self.u4, self.d4 = upconv(c8, c4), conv(c4, c4)
        self.u2, self.d2 = upconv(c4, c2), conv(c2, c2)
        self.films = nn.ModuleList([FiLM(cfg.task_dim, c) for c in (c2, c4, c8, c4, c2)])
        self.mask_head = nn.Conv2d(c2, 4, 1)
        self.flow_head = nn.Conv2d(c2, 8, 1)
        self.feat_head = nn.Conv2d(c2, cfg.feat_half, 1)
        nn.init.zeros_(self.flow_head.weight)
        nn.init.zeros_(self.flow_head.bias)

    def correlation(self, da: torch.Tensor, db: torch.Tensor) -> torch.Tensor:
        da, db = F.normalize(da, dim=1), F.normalize(db, dim=1)
        r = self.cfg.corr_radius
        pb = F.pad(db, (r, r, r, r))
        h, w = db.shape[-2], db.shape[-1]
        out = []
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                out.append((da * pb[..., r + dy : r + dy + h, r + dx : r + dx + w]).sum(1, keepdim=True))
        return torch.cat(out, 1)

    def forward(self, cond: torch.Tensor, task: torch.Tensor) -> tuple[torch.Tensor, ...]:
        act = F.silu
        te = self.task_emb(task)
        fl = self.films
        a, b = cond[:, 0:1], cond[:, 1:2]
        n = cond.shape[0]
        d = self.desc(F.pixel_unshuffle(torch.cat([a, b], 0), 2))
        da, db = d[:n], d[n:]
        x2 = act(fl[0](self.e2(F.pixel_unshuffle(cond, 2)), te))
        x4 = act(fl[1](self.e4b(act(self.e4a(x2))), te))
        x8 = act(self.e8a(x4))
        x8 = act(fl[2](self.e8b(torch.cat([x8, self.correlation(da, db), da, db], 1)), te))
        x8 = x8 + self.graph(x8, da, db)
        y4 = act(fl[3](self.d4(self.u4(x8) + x4), te))
        y2 = act(fl[4](self.d2(self.u2(y4) + x2), te))
        mask = torch.sigmoid(F.pixel_shuffle(self.mask_head(y2), 2))
        flow = F.pixel_shuffle(self.flow_head(y2), 2) * self.cfg.flow_gain
        comp = mask * a + (1 - mask) * warp(b, flow)
        return self.feat_head(y2), comp, mask, flow


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
