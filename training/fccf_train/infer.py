"""Python reference of the full fccf inference procedure (what the TypeScript engine must reproduce).

For one pair of network planes (a, b) in [-1, 1]:
1. encoder on (a, b) -> mask, flow, registered composite c = m*a + (1-m)*warp(b, flow);
2. strength s = 0 returns c. Otherwise t_start = round(s * (T-1)), the plan is the integer
   timesteps round(linspace(0, t_start, steps+1))[::-1][:-1] (t_start first, 0 excluded), and
   x = sqrt(abar) c + sqrt(1-abar) eps with seeded (or given) standard-normal eps;
3. DPM-Solver++ 2M (diffusers `DPMSolverMultistepScheduler`, algorithm_type dpmsolver++,
   solver_type midpoint, final_sigmas_type zero: the first step and the last step are first order)
   on the x0 prediction of the denoiser, down to sigma = 0;
4. hierarchical conditioning: at plan timestep t with f = t / t_start the denoiser uses the
   encoder features of cond (b', b') when f > hi, (a, b) when lo < f <= hi, (a, a) when f <= lo,
   where b' = warp(b, flow) is source B registered onto A (the stage conditions are all in A's
   frame). (hi, lo) are the task's stage boundaries from the card.

Images are split into network planes by the task's channel plan (`plan_planes`), padded by
reflection to the input multiple and cropped back, and recombined to RGB (`compose`).

Example::

    model = load_model("training/runs/main/best.pt")
    res = fuse_images(model, load_image(pa), load_image(pb), "VI-IR", strength=0.2, steps=4, seed=0)
    save_png("out.png", res.image)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .images import luma, rgb_to_ycbcr, to_u8, ycbcr_to_rgb
from .model import INPUT_MULTIPLE, FusionNet
from .ngf import register_ngf
from .schedule import SCHEDULE
from .tasks import Task, graph_task_id, task_by_name
from .warp import warp, warp_cubic

Array = np.ndarray
CHROMA_EPS = 1.0
"""Added to each source's chroma saturation in the both-colour blend, so grey areas follow the mask."""


# --- sampler plan and DPM-Solver++ 2M ---------------------------------------------------------


def t_start_of(strength: float) -> int:
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    return int(round(strength * (SCHEDULE.num_train_timesteps - 1)))


def plan_timesteps(strength: float, steps: int) -> list[int]:
    """Integer timesteps from t_start down to (excluding) 0; empty for strength 0."""
    ts = t_start_of(strength)
    if ts == 0:
        return []
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    grid = np.round(np.linspace(0, ts, steps + 1)).astype(np.int64)[::-1][:-1]
    out: list[int] = []
    for t in grid.tolist():
        if t > 0 and (not out or t < out[-1]):
            out.append(int(t))
    return out


def _alpha_sigma(t: int) -> tuple[float, float]:
    ab = float(SCHEDULE.alphas_cumprod[t])
    return math_sqrt(ab), math_sqrt(1.0 - ab)


def math_sqrt(x: float) -> float:
    return float(np.sqrt(x))


def dpmpp_2m(
    x: torch.Tensor,
    timesteps: list[int],
    x0_fn: Callable[[torch.Tensor, int, int], torch.Tensor],
) -> torch.Tensor:
    """DPM-Solver++ 2M (midpoint) from timesteps[0] to sigma = 0 on an x0-predicting model.

    `x0_fn(x, t, i)` returns the model's x0 estimate at plan index i. Coefficients in float64.
    """
    prev_x0: torch.Tensor | None = None
    n = len(timesteps)
    for i, t in enumerate(timesteps):
        x0 = x0_fn(x, t, i)
        if i == n - 1:
            return x0  # final step to sigma = 0 (first order): x = alpha_0 * x0 with alpha_0 = 1
        a_s, s_s = _alpha_sigma(t)
        a_t, s_t = _alpha_sigma(timesteps[i + 1])
        lam_s, lam_t = np.log(a_s / s_s), np.log(a_t / s_t)
        h = lam_t - lam_s
        em1 = float(np.expm1(-h))  # exp(-h) - 1
        if prev_x0 is None:
            x = (s_t / s_s) * x - a_t * em1 * x0
        else:
            a_p, s_p = _alpha_sigma(timesteps[i - 1])
            h0 = lam_s - np.log(a_p / s_p)
            r0 = float(h0 / h)
            d1 = (x0 - prev_x0) / r0
            x = (s_t / s_s) * x - a_t * em1 * x0 - 0.5 * a_t * em1 * d1
        prev_x0 = x0
    return x


# --- one set of planes through the network ----------------------------------------------------


@dataclass
class PlaneResult:
    out: torch.Tensor  # [N,1,H,W] in [-1,1] (unclamped), fused plane
    comp: torch.Tensor  # [N,1,H,W] registered composite
    mask: torch.Tensor  # [N,1,H,W]
    flow: torch.Tensor  # [N,2,H,W]
    noise: torch.Tensor | None  # [N,1,H,W] eps used, None for strength 0
    timesteps: list[int] = field(default_factory=list)
    stages: list[int] = field(default_factory=list)


def stage_index(t: int, t_start: int, bounds: tuple[float, float]) -> int:
    """0 = (b', b'), 1 = (a, b), 2 = (a, a) for plan timestep t."""
    hi, lo = bounds
    f = t / t_start
    if f > hi:
        return 0
    if f > lo:
        return 1
    return 2


@torch.no_grad()
def fuse_planes(
    model: FusionNet,
    cond: torch.Tensor,
    task_id: int,
    strength: float,
    steps: int,
    bounds: tuple[float, float],
    noise: torch.Tensor | None = None,
    seed: int = 0,
) -> PlaneResult:
    """Fuse padded network planes cond [N,2,H,W] (values in [-1,1], H, W multiples of the input multiple)."""
    n, _, h, w = cond.shape
    if h % INPUT_MULTIPLE or w % INPUT_MULTIPLE:
        raise ValueError(f"planes are {w}x{h}; pad to a multiple of {INPUT_MULTIPLE} first")
    task = torch.full((n,), task_id, dtype=torch.long)
    a, b = cond[:, 0:1], cond[:, 1:2]
    # encoder outputs: (*denoiser features ending with comp, mask, flow)
    enc = model.encoder(cond, task)
    comp, mask, flow = enc[-3], enc[-2], enc[-1]
    ts_list = plan_timesteps(strength, steps)
    if not ts_list:
        return PlaneResult(comp, comp, mask, flow, None)
    t_start = ts_list[0]
    if noise is None:
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(comp.shape, generator=gen, dtype=torch.float32)
    if noise.shape != comp.shape:
        raise ValueError(f"noise shape {tuple(noise.shape)} does not match planes {tuple(comp.shape)}")
    b_al = warp(b, flow)
    conds = {0: torch.cat([b_al, b_al], 1), 1: cond, 2: torch.cat([a, a], 1)}
    feats: dict[int, tuple[torch.Tensor, ...]] = {1: tuple(enc[:-2])}
    stages: list[int] = []

    def x0_fn(x: torch.Tensor, t: int, i: int) -> torch.Tensor:
        s = stage_index(t, t_start, bounds)
        stages.append(s)
        if s not in feats:
            feats[s] = tuple(model.encoder(conds[s], task)[:-2])
        tt = torch.full((n,), float(t), dtype=torch.float32)
        return model.denoiser(x, tt, *feats[s])

    ab = float(SCHEDULE.alphas_cumprod[t_start])
    x = (np.sqrt(ab) * comp.double() + np.sqrt(1.0 - ab) * noise.double()).float()
    out = dpmpp_2m(x, ts_list, x0_fn)
    return PlaneResult(out, comp, mask, flow, noise, ts_list, stages)


# --- channel plans ----------------------------------------------------------------------------


def to_unit(v: Array) -> Array:
    return v / 127.5 - 1.0


def from_unit(v: Array) -> Array:
    return (v + 1.0) * 127.5


@dataclass
class Planes:
    """Network inputs for one image pair: cond [N,2,H,W] in [-1,1] plus what `compose` needs."""

    cond: np.ndarray
    ya: Array
    yb: Array
    chroma_a: tuple[Array, Array] | None
    chroma_b: tuple[Array, Array] | None


def plan_planes(a: Array, b: Array, task: Task) -> Planes:
    """Split a decoded pair (uint8 HxW or HxWx3) into network planes per the task's channel plan."""
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"sources differ in size: A is {a.shape[1]}x{a.shape[0]}, B is {b.shape[1]}x{b.shape[0]}")

    def split(x: Array) -> tuple[Array, tuple[Array, Array] | None]:
        if x.ndim == 2:
            return x.astype(np.float64), None
        y, cb, cr = rgb_to_ycbcr(x)
        return y, (cb, cr)

    ya, ca = split(a)
    yb, cbch = split(b)
    pairs = [(ya, yb)]
    if task.plan == "full-colour" and cbch is not None:
        # Diff-FCCF mode: each chroma plane of the colour source B is fused with the grey A.
        pairs += [(ya, cbch[0]), (ya, cbch[1])]
    elif task.plan == "full-colour" and ca is not None:
        pairs += [(ca[0], yb), (ca[1], yb)]
    cond = np.stack([np.stack([to_unit(p), to_unit(q)], 0) for p, q in pairs], 0).astype(np.float32)
    return Planes(cond, ya, yb, ca, cbch)


def pad_to_multiple(x: torch.Tensor, m: int = INPUT_MULTIPLE) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad the bottom and right edges of [N,C,H,W] to multiples of m."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph == 0 and pw == 0:
        return x, h, w
    if ph >= h or pw >= w:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    else:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, h, w


def warp_np(plane: Array, flow: torch.Tensor) -> Array:
    """Warp a float64 HxW plane with the padded [1,2,Hp,Wp] flow: pad the plane like the network
    input, warp in the padded frame (as the engine does), crop back."""
    h, w = plane.shape
    t, _, _ = pad_to_multiple(torch.from_numpy(plane.astype(np.float32))[None, None])
    if t.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"flow {tuple(flow.shape[-2:])} does not match padded plane {tuple(t.shape[-2:])}")
    return warp(t, flow.float())[0, 0, :h, :w].double().numpy()


def compose(planes: Planes, task: Task, fused: Array, mask: Array, flow: torch.Tensor) -> Array:
    """Recombine fused planes (float, 0..255, [N,H,W] cropped) into the output image (uint8)."""
    y = fused[0]
    ca, cb = planes.chroma_a, planes.chroma_b
    if task.plan == "full-colour" and (ca is not None or cb is not None):
        return to_u8(ycbcr_to_rgb(y, fused[1], fused[2]))
    if ca is not None and cb is not None:
        # both-colour: chroma follows the mask, weighted by each source's saturation
        cb_b = (warp_np(cb[0], flow), warp_np(cb[1], flow))
        sat_a = np.abs(ca[0] - 128.0) + np.abs(ca[1] - 128.0) + CHROMA_EPS
        sat_b = np.abs(cb_b[0] - 128.0) + np.abs(cb_b[1] - 128.0) + CHROMA_EPS
        wa, wb = mask * sat_a, (1.0 - mask) * sat_b
        den = wa + wb
        blend = [(wa * pa + wb * pb) / den for pa, pb in zip(ca, cb_b)]
        return to_u8(ycbcr_to_rgb(y, blend[0], blend[1]))
    if ca is not None:
        return to_u8(ycbcr_to_rgb(y, ca[0], ca[1]))
    if cb is not None:
        return to_u8(ycbcr_to_rgb(y, warp_np(cb[0], flow), warp_np(cb[1], flow)))
    return to_u8(y)


def _luma01(x: Array) -> Array:
    """The engine's registration input: Y in [0, 1], via float32 planes as the engine holds them."""
    p = (x.astype(np.float64) / 255).astype(np.float32).astype(np.float64)
    return luma(p).astype(np.float32).astype(np.float64)


def _ngf_flow(a: Array, b: Array) -> torch.Tensor:
    """The classical pre-registration's flow [2,H,W] of B onto A (float32 values, as the engine's)."""
    return torch.from_numpy(register_ngf(_luma01(a), _luma01(b)).astype(np.float32).astype(np.float64))


def _pre_register(a: Array, b: Array, only_if_moved: bool = False) -> tuple[Array, torch.Tensor] | None:
    """B (0..255, float64, unquantised) warped onto A by the NGF flow, and that flow [2,H,W]; with
    ``only_if_moved``, None when the flow is too small to resample B for (``pre_registration_moves``)."""
    flow = _ngf_flow(a, b)
    if only_if_moved and not pre_registration_moves(flow):
        return None
    return resample_cubic(b, flow), flow


def resample_cubic(img: Array, flow: torch.Tensor) -> Array:
    """img (HxW or HxWxC, 0..255) warped by flow [2,H,W] once at full quality (``warp_cubic``),
    clamped to 0..255, unquantised (float64): the pre-registration's resampling of B, as the
    engine's warpPlaneCubic + clamp."""
    x = torch.from_numpy(img.astype(np.float64))
    x = x[None, None] if img.ndim == 2 else x.permute(2, 0, 1)[None]
    y = warp_cubic(x, flow.double()[None])[0].clamp(0.0, 255.0)
    return (y[0] if img.ndim == 2 else y.permute(1, 2, 0)).numpy()


AUTO_MIN_SHIFT_PX = 0.75


def pre_registration_moves(flow: torch.Tensor) -> bool:
    """``register="auto"``: whether the classical registration found a displacement worth resampling
    B for: a mean magnitude of at least ``AUTO_MIN_SHIFT_PX``. On aligned training pairs of the
    same-content tasks NGF moves B by 0.1-0.3 px on average (drift, not alignment), on the
    registration gate's synthetic misalignments by about 2.4 px; below the threshold B is left as
    it is, so aligned pairs fuse exactly as without registration."""
    mag = torch.sqrt(flow[0] * flow[0] + flow[1] * flow[1])
    return float(mag.sum()) / mag.numel() >= AUTO_MIN_SHIFT_PX


def auto_registers(a: Array, b: Array) -> bool:
    """Whether ``register="auto"`` resamples B for this pair (decoded, 0..255), i.e. whether its
    output can differ from ``register=None``."""
    return pre_registration_moves(_ngf_flow(a, b))


def _compose_flows(net: torch.Tensor, pre: torch.Tensor | None) -> torch.Tensor:
    """b_aligned(p) = b(p + net(p) + pre(p + net(p))): B was warped by ``pre``, then by ``net``."""
    if pre is None:
        return net
    return net + warp(pre[None], net[None])[0]


@dataclass
class FuseResult:
    image: Array  # uint8 HxW or HxWx3, what is saved
    planes: Array  # float32 [N,H,W] fused network planes in [-1,1] (unclamped), cropped
    comp: Array  # float32 [N,H,W] composite planes in [-1,1], cropped
    mask: Array  # float32 [H,W] of the Y pass
    flow: Array  # float32 [2,H,W] of the Y pass
    noise: Array | None  # float32 [N,Hp,Wp] noise used (padded size)
    timesteps: list[int]
    stages: list[int]


def fuse_images(
    model: FusionNet,
    a: Array,
    b: Array,
    task_name: str,
    strength: float,
    steps: int,
    seed: int = 0,
    bounds: tuple[float, float] | None = None,
    noise: Array | None = None,
    strategy: str | None = None,
    register: str | None = None,
) -> FuseResult:
    """Fuse a decoded pair end to end (channel plan, padding, encoder, sampler, recombination).
    ``strategy`` ('max' / 'mean'; None = the task's training strategy, Task.strategy) picks the graphs'
    task id; callers that follow a card pass its default strategy explicitly. ``register="ngf"``
    first registers B onto A by ``ngf.register_ngf`` on the luma planes (B's planes are warped
    unquantised), as the engine's ``register`` option; the returned flow is both stages composed.
    ``register="auto"`` does the same only when that registration moves B by at least
    ``AUTO_MIN_SHIFT_PX`` on average (``pre_registration_moves``), else fuses B as given."""
    task = task_by_name(task_name)
    gid = graph_task_id(task, strategy, model.cfg.strategies)
    pre = None
    if register is not None:
        if register not in ("ngf", "auto"):
            raise ValueError(f"unknown registration {register!r}; known: ngf, auto")
        got = _pre_register(a, b, only_if_moved=register == "auto")
        if got is not None:
            b, pre = got
    planes = plan_planes(a, b, task)
    cond, h, w = pad_to_multiple(torch.from_numpy(planes.cond))
    nz = None if noise is None else torch.from_numpy(np.asarray(noise, dtype=np.float32))[:, None]
    res = fuse_planes(model, cond, gid, strength, steps, bounds or task.stages, nz, seed)
    out = res.out[:, 0, :h, :w].numpy()
    fused = from_unit(np.clip(out.astype(np.float64), -1.0, 1.0))
    mask = res.mask[0, 0, :h, :w].double().numpy()
    img = compose(planes, task, fused, mask, res.flow[0:1])
    return FuseResult(
        image=img,
        planes=out.astype(np.float32),
        comp=res.comp[:, 0, :h, :w].numpy().astype(np.float32),
        mask=mask.astype(np.float32),
        flow=_compose_flows(res.flow[0, :, :h, :w].double(), pre).numpy().astype(np.float32),
        noise=None if res.noise is None else res.noise[:, 0].numpy().astype(np.float32),
        timesteps=res.timesteps,
        stages=res.stages,
    )
