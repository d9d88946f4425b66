"""The fusion network, split in two graphs per the model contract (DESIGN.md).

``Encoder`` (run once per condition): ``encoder(cond [N,2,H,W], task int64 [N])`` returns
``(feat [N,F,H/4,W/4], comp [N,1,H,W], mask [N,1,H,W], flow [N,2,H,W])``:
- ``mask`` in [0, 1] is the weight of ``cond[:, 0]`` (a),
- ``flow`` is a displacement in pixels, (dx, dy), with b_aligned(p) = b(p + flow(p)) (see :func:`warp`),
- ``comp`` = mask * a + (1 - mask) * warp(b, flow), the registered composite for this condition,
- ``feat`` and ``comp`` are the features the denoiser takes.

``Denoiser`` (run once per sampling step): ``denoiser(x_t [N,1,H,W], t [N] float in training
units 0..T-1 (fractional allowed), feat, comp)`` returns the x0 prediction [N,1,H,W]
(prediction type ``sample``; schedule in :mod:`fccf_train.schedule`). Internally
x0 = c_skip(t) * x_t + c_out(t) * net(c_in(t) * x_t, ...), so the output is well scaled at every t.

H and W must be multiples of ``INPUT_MULTIPLE`` (8). Values in [-1, 1].

Example::

    model = FusionNet()
    feat, comp, mask, flow = model.encoder(cond, task)
    x0 = model.denoiser(x_t, t, feat, comp)
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .graph import ChebGraphLayer
from .schedule import SCHEDULE
from .tasks import NUM_TASKS, STRATEGIES, TASKS
from .warp import warp

INPUT_MULTIPLE = 8


@dataclass(frozen=True)
class ModelConfig:
    enc: tuple[int, int, int] = (8, 16, 48)
    desc: int = 8
    reg_width: int = 16
    refine_width: int = 16
    smooth_kernel: int = 3
    feat: int = 8
    den: tuple[int, int] = (12, 24)
    # 3x3 convolutions at 1/4 in the denoiser: the first is the original ``mid``; each further one is a
    # residual block (a wider receptive field for denoising, at a small cost per step)
    den_mid: int = 1
    task_dim: int = 32
    corr_radius: int = 2
    cheb_order: int = 3
    # one task-embedding row per (task, strategy) instead of per task: see tasks.graph_task_id
    strategies: bool = False
    # "subpixel": mask logits from 4x4 (1/4) and 2x2 (1/2) depth-to-space, sharp but free to form
    # a 4-px grid where the choice is uncertain; "bilinear": one logit per position at 1/4 and 1/2,
    # bilinearly upsampled (smooth at every scale)
    mask_head: str = "subpixel"

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


def s2d_conv(cin: int, cout: int, factor: int = 2) -> nn.Conv2d:
    """A 3x3 convolution on the space-to-depth (by 2) input, strided by ``factor // 2`` there,
    written as one convolution on the full-resolution input: no space-to-depth transpose
    (slow in onnxruntime) is needed."""
    return nn.Conv2d(cin, cout, 6, stride=factor, padding=2)


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


class RegBranch(nn.Module):
    """Per-source descriptor net (one per source: the modalities differ), task-conditioned, 1/8 resolution."""

    def __init__(self, task_dim: int, width: int, out: int) -> None:
        super().__init__()
        self.c1, self.c2, self.c3 = s2d_conv(1, width, 4), conv(width, width, 3, 2), conv(width, width)
        self.out = nn.Conv2d(width, out, 1)
        self.film = FiLM(task_dim, width)

    def forward(self, x: torch.Tensor, te: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.film(self.c1(x), te))
        h = F.silu(self.c2(h))
        h = h + F.silu(self.c3(h))
        return F.normalize(self.out(h), dim=1)


def one_channel_1x1(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` for a 1x1 convolution to one channel, written as a multiply and a channel sum.
    Why: onnxruntime's CPU layout pass (NCHWc) pads a one-channel convolution output to a block of
    16 channels and then runs the upsampling, add and sigmoid after it on all 16 (about a quarter of
    the encoder's time at 640x480); a channel sum keeps them on one channel."""
    return (x * conv.weight.view(1, -1, 1, 1)).sum(1, keepdim=True) + conv.bias.view(1, 1, 1, 1)


def correlation(da: torch.Tensor, db: torch.Tensor, r: int) -> torch.Tensor:
    """[N, (2r+1)^2, H, W]: channel k = (dy + r) * (2r + 1) + (dx + r) holds sum_c da(p) db(p + (dx, dy))."""
    pb = F.pad(db, (r, r, r, r))
    h, w = db.shape[-2], db.shape[-1]
    out = []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out.append((da * pb[..., r + dy : r + dy + h, r + dx : r + dx + w]).sum(1, keepdim=True))
    return torch.cat(out, 1)


def displacements(r: int) -> torch.Tensor:
    """[(2r+1)^2, 2] (dx, dy) of each correlation channel."""
    return torch.tensor([[dx, dy] for dy in range(-r, r + 1) for dx in range(-r, r + 1)], dtype=torch.float32)


class Encoder(nn.Module):
    """Source-only work, run once per condition. Full resolution is only read by strided
    convolutions and written by the mask's depth-to-space, the flow upsampling and the warp of B
    (CPU budget at 640x480); the U-Net runs at 1/2 (one layer), 1/4 and 1/8.

    Registration: descriptors of A and B at 1/8 (trained contrastively: a descriptor of A must pick
    the matching B position among its (2r+1)^2 neighbours), a correlation volume, a sharpened
    soft-argmax, a small refinement and a confidence-weighted smoothing (misalignments are smooth),
    upsampled bilinearly to full resolution. The fusion U-Net reads the descriptors and the flow at
    1/8, and the graph layer's cross-modal edges are computed from the descriptors."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c2, c4, c8 = cfg.enc
        self.cfg = cfg
        r = cfg.corr_radius
        ncorr = (2 * r + 1) ** 2
        self.task_emb = nn.Embedding(NUM_TASKS * (len(STRATEGIES) if cfg.strategies else 1), cfg.task_dim)
        # per graph task id: 1 = the network's own flow registers B, 0 = B is read as given. Not a
        # trained weight: a per-task default chosen on validation (gate.choose_strategy_and_flow), set by
        # FusionNet.set_network_flow and baked into the exported encoder graph
        self.register_buffer("flow_gate", torch.ones(self.task_emb.num_embeddings), persistent=False)
        self.reg_a = RegBranch(cfg.task_dim, cfg.reg_width, cfg.desc)
        self.reg_b = RegBranch(cfg.task_dim, cfg.reg_width, cfg.desc)
        # two temperatures: one for the contrastive loss, a sharper one for reading out the flow
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.log_sharp = nn.Parameter(torch.tensor(math.log(40.0)))
        disp = displacements(r)
        moments = torch.cat([disp.t(), torch.ones(1, ncorr)], 0).view(3, ncorr, 1, 1)
        self.register_buffer("moments", moments, persistent=False)
        # per-task gain on the soft-argmax, zero at the start: the flow starts at exactly zero and
        # stays near zero for tasks whose descriptors do not (yet) match
        self.reg_gain = nn.Linear(cfg.task_dim, 1)
        nn.init.zeros_(self.reg_gain.weight)
        nn.init.zeros_(self.reg_gain.bias)
        rw = cfg.refine_width
        self.refine = nn.Sequential(nn.Conv2d(ncorr + 2, rw, 1), nn.SiLU(), conv(rw, rw), nn.SiLU(), conv(rw, 3))
        nn.init.zeros_(self.refine[-1].weight)
        nn.init.zeros_(self.refine[-1].bias)
        self.e2 = s2d_conv(2, c2)
        self.e4a, self.e4b = conv(c2, c4, 3, 2), conv(c4, c4)
        self.e8a, self.e8b = conv(c4, c8, 3, 2), nn.Conv2d(c8 + 2 * cfg.desc + 2, c8, 1)
        self.graph = ChebGraphLayer(c8, cfg.desc, cfg.cheb_order)
        self.u4, self.d4 = upconv(c8, c4), conv(c4, c4)
        self.films = nn.ModuleList([FiLM(cfg.task_dim, c) for c in (c2, c4, c8, c4)])
        if cfg.mask_head not in ("subpixel", "bilinear"):
            raise ValueError(f"mask_head must be 'subpixel' or 'bilinear', got {cfg.mask_head!r}")
        sub = cfg.mask_head == "subpixel"
        self.mask4 = nn.Conv2d(c4, 16 if sub else 1, 1)  # mask logits from 1/4 (4x4 sub-pixel or one)
        self.mask2 = nn.Conv2d(c2, 4 if sub else 1, 1)  # detail from the 1/2 layer (2x2 sub-pixel or one)
        self.feat_head = nn.Conv2d(c4, cfg.feat, 1)

    def register(self, a: torch.Tensor, b: torch.Tensor, te: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(flow at 1/8 in 1/8-pixel units, contrastive logits, da, db)."""
        da, db = self.reg_a(a, te), self.reg_b(b, te)
        corr = correlation(da, db, self.cfg.corr_radius)
        sharp = self.log_sharp.exp()
        # softmax over displacements written out (onnxruntime's channel-axis Softmax is slow): the
        # descriptors are unit vectors, so corr <= 1 and exp(sharp (corr - 1)) cannot overflow;
        # one 1x1 convolution gives the soft-argmax numerators and the normaliser together
        e = torch.exp((corr - 1.0) * sharp)
        stats = F.conv2d(e, self.moments)
        den = stats[:, 2:3] + 1e-20
        f8 = stats[:, 0:2] / den * self.reg_gain(te).view(-1, 1, 1, 1)
        h = self.refine(torch.cat([e / den, f8], 1))
        f8 = f8 + h[:, 0:2]
        w = torch.sigmoid(h[:, 2:3] + 2.0)
        k = self.cfg.smooth_kernel
        for _ in range(2):
            f8 = F.avg_pool2d(w * f8, k, 1, k // 2) / (F.avg_pool2d(w, k, 1, k // 2) + 1e-4)
            w = F.avg_pool2d(w, k, 1, k // 2)
        return f8, corr * self.log_scale.exp(), da, db

    def forward(self, cond: torch.Tensor, task: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feat, comp, mask, flow, _ = self.forward_train(cond, task)
        return feat, comp, mask, flow

    def forward_train(self, cond: torch.Tensor, task: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """As forward, plus the correlation logits for the contrastive registration loss."""
        act = F.silu
        te = self.task_emb(task)
        fl = self.films
        a, b = cond[:, 0:1], cond[:, 1:2]
        f8, logits, da, db = self.register(a, b, te.detach())
        f8 = f8 * self.flow_gate[task].view(-1, 1, 1, 1)
        flow = F.interpolate(f8 * 8.0, scale_factor=8.0, mode="bilinear", align_corners=False)
        # registration learns only from its own losses (contrastive + end-point error), whatever
        # weights the fusion losses get; the fusion path reads its outputs without gradient
        f8, da8, db8 = f8.detach(), da.detach(), db.detach()
        x2 = act(fl[0](self.e2(cond), te))
        x4 = act(fl[1](self.e4b(act(self.e4a(x2))), te))
        x8 = act(self.e8a(x4))
        x8 = act(fl[2](self.e8b(torch.cat([x8, da8, db8, f8], 1)), te))
        x8 = x8 + self.graph(x8, da8, db8)
        y4 = act(fl[3](self.d4(self.u4(x8) + x4), te))
        if self.cfg.mask_head == "subpixel":
            logit = F.pixel_shuffle(self.mask4(y4), 4) + F.pixel_shuffle(self.mask2(x2), 2)
        else:
            logit = (F.interpolate(one_channel_1x1(self.mask4, y4), scale_factor=4.0, mode="bilinear", align_corners=False)
                     + F.interpolate(one_channel_1x1(self.mask2, x2), scale_factor=2.0, mode="bilinear", align_corners=False))
        mask = torch.sigmoid(logit)
        comp = mask * a + (1 - mask) * warp(b, flow.detach())
        return self.feat_head(y4), comp, mask, flow, logits


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
        self.inp_x = s2d_conv(1, d2)
        self.inp_c = s2d_conv(1, d2)
        self.down = conv(d2, d4, 3, 2)
        self.feat_in = nn.Conv2d(cfg.feat, d4, 1, bias=False)
        self.mid = conv(d4, d4)
        self.up = upconv(d4, d2)
        self.head = nn.Conv2d(d2, 4, 1)
        self.films = nn.ModuleList([FiLM(64, c) for c in (d2, d4, d4, d2)])
        self.mid_extra = nn.ModuleList([conv(d4, d4) for _ in range(cfg.den_mid - 1)])
        self.films_extra = nn.ModuleList([FiLM(64, d4) for _ in range(cfg.den_mid - 1)])
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

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, feat: torch.Tensor, comp: torch.Tensor) -> torch.Tensor:
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
        # the input convolution of cat(c_in x_t, comp), written as a sum (c_in is per sample)
        hx = self.inp_x(x_t) - self.inp_x.bias.view(1, -1, 1, 1)
        h2 = act(fl[0](hx * c_in + self.inp_c(comp), te))
        h4 = act(fl[1](self.down(h2) + self.feat_in(feat), te))
        h4 = act(fl[2](self.mid(h4), te))
        for c, f in zip(self.mid_extra, self.films_extra):
            h4 = h4 + act(f(c(h4), te))
        h = act(fl[3](self.up(h4) + h2, te))
        return c_skip * x_t + c_out * F.pixel_shuffle(self.head(h), 2)


class FusionNet(nn.Module):
    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ModelConfig()
        self.encoder = Encoder(self.cfg)
        self.denoiser = Denoiser(self.cfg)

    def set_network_flow(self, off: Iterable[str]) -> None:
        """Turns the network's own flow off (B read as given, by the composite and by the fusion path)
        for the named tasks, under every strategy, and on for the others."""
        names = set(off)
        unknown = names - {t.name for t in TASKS}
        if unknown:
            raise ValueError(f"unknown task(s) {sorted(unknown)}; known: {', '.join(t.name for t in TASKS)}")
        gate = self.encoder.flow_gate
        gate.fill_(1.0)
        for t in TASKS:
            if t.name in names:
                gate[t.id::NUM_TASKS] = 0.0

    def network_flow_off(self) -> list[str]:
        """The tasks whose network flow is off (``set_network_flow``)."""
        return [t.name for t in TASKS if float(self.encoder.flow_gate[t.id]) == 0.0]

    def load_for_finetune(self, state: dict[str, torch.Tensor]) -> None:
        """Loads weights of a model with the same layers; a per-task embedding (one strategy per
        task) fills every strategy's rows of a strategy-conditioned one, so fine-tuning starts from
        the same function for each task whatever the strategy."""
        key = "encoder.task_emb.weight"
        rows = self.encoder.task_emb.weight.shape[0]
        if key in state and state[key].shape[0] != rows:
            src = state[key]
            if rows % src.shape[0]:
                raise ValueError(f"task embedding rows {src.shape[0]} cannot fill {rows}")
            state = {**state, key: src.repeat(rows // src.shape[0], 1)}
        den = {k[len("denoiser."):]: v for k, v in state.items() if k.startswith("denoiser.")}
        if {k: v.shape for k, v in den.items()} != {k: v.shape for k, v in self.denoiser.state_dict().items()}:
            state = {**state, **{f"denoiser.{k}": v for k, v in grow_denoiser_state(den, self.denoiser).items()}}
        self.load_state_dict(state)


def grow_denoiser_state(old: dict[str, torch.Tensor], new: Denoiser) -> dict[str, torch.Tensor]:
    """The state of ``new`` (wider and/or with more mid blocks) that computes exactly what the smaller
    denoiser ``old`` computes: old weights fill the leading channels, weights reading the added channels
    are zero (their incoming weights keep ``new``'s random initialisation, so they can learn), and added
    mid blocks start as the identity (zero convolution inside the residual). Training then continues from
    the smaller network's function with the larger one's capacity."""
    out: dict[str, torch.Tensor] = {}
    for k, fresh in new.state_dict().items():
        t = fresh.clone()
        if k.startswith("mid_extra."):
            t.zero_()
        if k not in old:
            out[k] = t
            continue
        src = old[k]
        if src.dim() != t.dim() or any(a > b for a, b in zip(src.shape, t.shape)):
            raise ValueError(f"denoiser.{k}: {tuple(src.shape)} does not fit in {tuple(t.shape)}; "
                             "a checkpoint's denoiser can only be grown (wider, more mid blocks)")
        if k.startswith("films.") and ".lin." in k:
            # FiLM rows are (scale for C channels, shift for C channels): grow each half on its own
            c_old, c_new = src.shape[0] // 2, t.shape[0] // 2
            t.zero_()
            t[:c_old] = src[:c_old]
            t[c_new:c_new + c_old] = src[c_old:]
            out[k] = t
            continue
        # which dimension reads input channels: Conv2d/Linear weight dim 1, ConvTranspose2d weight dim 0
        in_dim = 0 if k.startswith("up.") and k.endswith("weight") else 1 if t.dim() > 1 else None
        if in_dim is not None and t.shape[in_dim] > src.shape[in_dim]:
            idx = [slice(None)] * t.dim()
            idx[in_dim] = slice(src.shape[in_dim], None)
            t[tuple(idx)] = 0
        t[tuple(slice(0, n) for n in src.shape)] = src
        out[k] = t
    return out


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def check_size(h: int, w: int) -> None:
    if h % INPUT_MULTIPLE or w % INPUT_MULTIPLE:
        raise ValueError(f"input size {w}x{h} is not a multiple of {INPUT_MULTIPLE}; pad H and W first")
