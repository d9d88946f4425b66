"""One training step's forward pass: degrade, encode, composite, noise, denoise, loss terms.

Wrapped as a module so DDP sees a single forward. Returns per-term scalar losses (unweighted) and
the composite / estimate for logging. Terms: ``diff`` (x0 estimate to the clean composite, a
stop-gradient target), ``ssim``, ``grad``, ``int`` (intensity, or chroma fidelity on chroma passes)
on both the composite of the clean sources and the x0 estimate, and ``flow`` (end-point error to
the known synthetic field + the contrastive loss on the registration correlation; zero flow for the
single-source stage conditions).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from . import losses as L
from .degrade import add_sensor_noise, random_deformation
from .model import FusionNet
from .schedule import SCHEDULE, stage_of
from .tasks import NUM_TASKS, TASKS
from .warp import warp

TERMS = ("diff", "ssim", "grad", "int", "flow")
MASK_TARGETS = ("registered", "aligned", "focus", "guided")
DIFFUSION_INPUTS = ("registered", "aligned")
LOW_T_STRENGTH = 0.02

_STAGE_HI = torch.tensor([t.stages[0] for t in TASKS])
_STAGE_LO = torch.tensor([t.stages[1] for t in TASKS])
_USE_MAX = torch.tensor([t.strategy == "max" for t in TASKS])
_FOCUS = torch.tensor([t.name == "MFF" for t in TASKS])
_EXPOSURE = torch.tensor([t.name == "MEF" for t in TASKS])


class TrainStep(nn.Module):
    def __init__(self, net: FusionNet, max_strength: float = 0.6, mask_target: str = "registered",
                 focus_weight: float = 1.0, diffusion_input: str = "registered", x0_fusion: float = 1.0,
                 low_t_share: float = 0.0, x0_edge: float = 0.0) -> None:
        """``mask_target``: the composite the fusion losses judge the mask by. "registered" blends A
        with B as the network registered it (residual misalignment counts against using B: on
        multi-focus pairs, whose sources look alike, the mask then collapses onto A within a few hundred
        steps); "aligned" blends A with the aligned B, so the mask learns which source to take and the
        flow, by its own losses, where B is; "focus" is "aligned" plus, on multi-focus luma samples, the
        mask pulled towards the sharper source (losses.focus_mask_loss, added to the structure term):
        the fusion losses alone settle on a soft blend there, which keeps some of the defocus blur;
        "guided" is "focus" plus, on multi-exposure luma samples, the mask pulled towards the
        better-exposed source (losses.exposure_map); ``focus_weight`` scales both pulls.

        ``diffusion_input``: what x_t is noised from. "registered" is the composite of the noisy
        sources with B as the network registered it, so on clean samples input and target (the
        aligned B) differ by the residual registration error (about 1.5 px on the training
        misalignments) and the denoiser learns to blur; "aligned" blends the aligned B carrying the
        same sensor-noise draws, so they differ only by noise (the composite conditioning and the
        (B', B') stage follow; the encoder's inputs, features and other losses are unchanged).
        ``x0_fusion`` weighs the fusion losses on the denoiser's estimate (0: the denoiser learns
        only the diffusion loss, to the composite of the clean sources). ``low_t_share``: the share
        of samples drawn at strength ``LOW_T_STRENGTH`` (t <= 20), where the denoiser removes the
        sources' noise rather than its own (reports/refiner-limits.md). ``x0_edge`` adds that weight of
        ``losses.edge_loss`` (the estimate's Sobel derivatives against the target's) to the diffusion
        loss, against the blur the pixel loss tolerates."""
        super().__init__()
        if mask_target not in MASK_TARGETS:
            raise ValueError(f"mask_target must be one of {', '.join(MASK_TARGETS)}, got {mask_target!r}")
        self.net = net
        self.max_strength = max_strength
        self.mask_target = mask_target
        self.focus_weight = focus_weight
        if diffusion_input not in DIFFUSION_INPUTS:
            raise ValueError(f"diffusion_input must be one of {', '.join(DIFFUSION_INPUTS)}, got {diffusion_input!r}")
        if not 0.0 <= low_t_share <= 1.0:
            raise ValueError(f"low_t_share must be in [0, 1], got {low_t_share}")
        self.diffusion_input = diffusion_input
        self.x0_fusion = x0_fusion
        self.low_t_share = low_t_share
        if x0_edge < 0:
            raise ValueError(f"x0_edge must be >= 0, got {x0_edge}")
        self.x0_edge = x0_edge

    def fusion_composite(
        self, mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor, b_mis: torch.Tensor, flow: torch.Tensor
    ) -> torch.Tensor:
        """The composite of the clean sources that the fusion losses score (see ``mask_target``)."""
        if self.mask_target != "registered":
            return mask * a + (1 - mask) * b
        return mask * a + (1 - mask) * warp(b_mis, flow.detach())

    def forward(
        self, a: torch.Tensor, b: torch.Tensor, task: torch.Tensor, chan: torch.Tensor, gen: torch.Generator
    ) -> dict[str, torch.Tensor]:
        n, _, h, w = a.shape
        enc, den = self.net.encoder, self.net.denoiser
        g, flow_true = random_deformation(n, h, w, gen)
        b_mis = warp(b, g)
        a_n = add_sensor_noise(a, gen)
        aligned_in = self.diffusion_input == "aligned"
        if aligned_in:
            # b_n's noise draws replayed on the aligned B (a copy of the generator: gen advances as before)
            g_al = torch.Generator()
            g_al.set_state(gen.get_state())
            b_al_n = add_sensor_noise(b, g_al)
        b_n = add_sensor_noise(b_mis, gen)

        # a strategy-conditioned model sees both strategies of every task (tasks.graph_task_id)
        if self.net.cfg.strategies:
            use_max = torch.rand(n, generator=gen) < 0.5
            gid = task + NUM_TASKS * (~use_max).long()
        else:
            use_max, gid = _USE_MAX[task], task
        feat, comp_n, mask, flow, logits = enc.forward_train(torch.cat([a_n, b_n], 1), gid)
        comp_clean = self.fusion_composite(mask, a, b, b_mis, flow)
        target = (mask * a + (1 - mask) * b).detach()

        # timestep: strength s, then a point of the sampled range [0, s (T-1)]; stage from the fraction
        s = 0.02 + torch.rand(n, generator=gen) * (self.max_strength - 0.02)
        if self.low_t_share > 0:
            low = torch.rand(n, generator=gen) < self.low_t_share
            s = torch.where(low, torch.full_like(s, LOW_T_STRENGTH), s)
        frac = torch.rand(n, generator=gen)
        t = s * frac * (SCHEDULE.num_train_timesteps - 1)
        stage = stage_of(frac, _STAGE_HI[task], _STAGE_LO[task])
        comp_in = mask * a_n + (1 - mask) * b_al_n if aligned_in else comp_n
        feat_s, comp_s = feat, comp_in
        flow_extra = torch.zeros(n)
        other = (stage != 1).nonzero().flatten()
        if other.numel() > 0:
            # the (B', B') stage sees B registered by the (A, B) flow, as at inference
            b_reg = b_al_n[other] if aligned_in else warp(b_n[other], flow[other].detach())
            src = torch.where((stage[other] == 0).view(-1, 1, 1, 1), b_reg, a_n[other])
            cond_s = torch.cat([src, src], 1)
            f2, c2, _, fl2 = enc(cond_s, gid[other])
            feat_s = feat.index_put((other,), f2)
            comp_s = comp_in.index_put((other,), c2)
            flow_extra = flow_extra.index_put((other,), L.epe(fl2, torch.zeros_like(fl2)))
        eps = torch.randn(a.shape, generator=gen)
        x_t = SCHEDULE.q_sample(comp_in.detach(), t, eps)
        x0 = den(x_t, t, feat_s, comp_s)

        chroma = chan > 0
        weight_x0 = SCHEDULE.abar(t).sqrt() * self.x0_fusion

        def fusion(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            yv = (~chroma).float()
            ssim = L.ssim_loss(f, a, b) * yv
            grad = L.grad_loss(f, a, b) * yv
            inten = torch.where(chroma, L.chroma_loss(f, b), L.intensity_loss(f, a, b, use_max))
            return ssim, grad, inten

        s1, g1, i1 = fusion(comp_clean)
        s2, g2, i2 = fusion(x0)
        if self.mask_target in ("focus", "guided"):
            s1 = s1 + self.focus_weight * L.focus_mask_loss(mask, a, b) * (_FOCUS[task] & ~chroma).float()
        if self.mask_target == "guided":
            s1 = s1 + self.focus_weight * L.guide_mask_loss(mask, L.exposure_map(a, b)) * (_EXPOSURE[task] & ~chroma).float()
        nce = L.correlation_nce(logits, flow_true, enc.cfg.corr_radius)
        flow_term = nce + L.epe(flow, flow_true) + 0.5 * flow_extra
        return {
            "diff": (L.charbonnier(x0, target) + (self.x0_edge * L.edge_loss(x0, target) if self.x0_edge else 0.0)).mean(),
            "ssim": (s1 + weight_x0 * s2).mean(),
            "grad": (g1 + weight_x0 * g2).mean(),
            "int": (i1 + weight_x0 * i2).mean(),
            "flow": flow_term.mean(),
            "epe": L.epe(flow, flow_true).mean().detach(),
            "epe0": flow_true.norm(dim=1).flatten(1).mean(1).mean().detach(),
        }
