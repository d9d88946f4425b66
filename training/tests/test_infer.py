"""The Python inference reference: sampler plan, DPM-Solver++ 2M, stages, padding, channel plans."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fccf_train import infer
from fccf_train.images import rgb_to_ycbcr
from fccf_train.model import FusionNet
from fccf_train.schedule import SCHEDULE
from fccf_train.tasks import task_by_name

from .helpers import random_model


def _alpha_sigma(t: int) -> tuple[float, float]:
    ab = float(SCHEDULE.alphas_cumprod[t])
    return ab**0.5, (1 - ab) ** 0.5


def test_plan_timesteps_known_answers() -> None:
    assert infer.plan_timesteps(0.0, 4) == []
    assert infer.t_start_of(1.0) == 999
    assert infer.plan_timesteps(0.3, 4) == [300, 225, 150, 75]
    assert infer.plan_timesteps(0.01, 20) == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]  # duplicates removed
    with pytest.raises(ValueError, match="strength must be in"):
        infer.plan_timesteps(1.5, 4)


def test_stage_index_boundaries() -> None:
    assert [infer.stage_index(t, 100, (0.8, 0.2)) for t in (100, 81, 80, 21, 20, 1)] == [0, 0, 1, 1, 2, 2]


def test_dpmpp_exact_for_a_point_mass() -> None:
    # With data concentrated at c the exact x0 is c, the PF-ODE trajectory is alpha_t c + sigma_t eps,
    # and DPM-Solver++ (first and second order) follows it exactly.
    c = torch.tensor([0.3, -0.7], dtype=torch.float64)
    eps = torch.tensor([1.2, 0.4], dtype=torch.float64)
    ts = infer.plan_timesteps(0.6, 7)
    a0, s0 = _alpha_sigma(ts[0])
    seen: list[tuple[int, torch.Tensor]] = []

    def x0_fn(x: torch.Tensor, t: int, i: int) -> torch.Tensor:
        seen.append((t, x.clone()))
        return c

    out = infer.dpmpp_2m(a0 * c + s0 * eps, ts, x0_fn)
    assert torch.allclose(out, c, atol=1e-12)
    for t, x in seen:
        a, s = _alpha_sigma(t)
        assert torch.allclose(x, a * c + s * eps, atol=1e-10)


def _gauss_error(steps: int) -> float:
    # 1-D Gaussian data N(0, v): exact denoiser, exact ODE solution x_t = x_T * r(t) / r(T).
    v = 0.25
    ts = infer.plan_timesteps(0.7, steps)

    def r(t: int) -> float:
        a, s = _alpha_sigma(t)
        return (a * a * v + s * s) ** 0.5

    def x0_fn(x: torch.Tensor, t: int, i: int) -> torch.Tensor:
        a, s = _alpha_sigma(t)
        return a * v * x / (a * a * v + s * s)

    # Compare at t = 233, a grid point of both the 6- and the 24-step plan, before the sigma = 0 jump.
    x_init = torch.tensor([1.0], dtype=torch.float64)
    trace: dict[int, float] = {}

    def spy(x: torch.Tensor, t: int, i: int) -> torch.Tensor:
        trace[t] = float(x[0])
        return x0_fn(x, t, i)

    infer.dpmpp_2m(x_init, ts, spy)
    exact = float(x_init[0]) * r(233) / r(ts[0])
    return abs(trace[233] - exact)


def test_dpmpp_2m_converges_at_second_order() -> None:
    e1, e2 = _gauss_error(6), _gauss_error(24)
    assert e2 < e1 / 8  # 4x the steps: a second-order method gains well over 8x


def _model() -> FusionNet:
    return random_model()


def test_padding_round_trip_and_size() -> None:
    x = torch.arange(2 * 1 * 13 * 21, dtype=torch.float32).reshape(2, 1, 13, 21)
    p, h, w = infer.pad_to_multiple(x)
    assert p.shape[-2:] == (16, 24) and (h, w) == (13, 21)
    assert torch.equal(p[..., :h, :w], x)
    assert torch.equal(p[..., 13, :21], x[..., 11, :])  # reflection without repeating the edge


def test_fuse_images_deterministic_and_cropped() -> None:
    m = _model()
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (30, 37, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (30, 37), dtype=np.uint8)
    r1 = infer.fuse_images(m, a, b, "VI-IR", 0.3, 3, seed=5)
    r2 = infer.fuse_images(m, a, b, "VI-IR", 0.3, 3, seed=5)
    r3 = infer.fuse_images(m, a, b, "VI-IR", 0.3, 3, seed=6)
    assert r1.image.shape == (30, 37, 3) and r1.image.dtype == np.uint8
    assert np.array_equal(r1.image, r2.image)
    assert not np.array_equal(r1.planes, r3.planes)
    assert r1.noise is not None and r1.noise.shape == (1, 32, 40)
    # replaying the recorded noise reproduces the output exactly
    r4 = infer.fuse_images(m, a, b, "VI-IR", 0.3, 3, seed=999, noise=r1.noise)
    assert np.array_equal(r1.planes, r4.planes)
    assert r1.stages == [0, 1, 1] and r1.timesteps == [300, 200, 100]


def test_strength_zero_is_the_composite() -> None:
    m = _model()
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    r = infer.fuse_images(m, a, b, "MED-CT", 0.0, 4)
    assert r.noise is None and r.timesteps == []
    assert np.array_equal(r.planes, r.comp)
    assert r.image.ndim == 2
    expected = np.clip(np.round((np.clip(r.comp[0].astype(np.float64), -1, 1) + 1) * 127.5), 0, 255)
    assert np.array_equal(r.image, expected.astype(np.uint8))


def test_full_colour_plan_fuses_three_planes() -> None:
    m = _model()
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    b = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    planes = infer.plan_planes(a, b, task_by_name("MED-SPECT"))
    assert planes.cond.shape == (3, 2, 16, 16)
    _, cb, cr = rgb_to_ycbcr(b)
    assert np.allclose(planes.cond[1, 1], cb / 127.5 - 1, atol=1e-6)
    assert np.allclose(planes.cond[2, 1], cr / 127.5 - 1, atol=1e-6)
    assert np.allclose(planes.cond[:, 0], a / 127.5 - 1, atol=1e-6)
    r = infer.fuse_images(m, a, b, "MED-SPECT", 0.2, 2, seed=0)
    assert r.image.shape == (16, 16, 3) and r.planes.shape == (3, 16, 16)


def test_both_colour_chroma_follows_the_mask() -> None:
    task = task_by_name("MEF")
    a = np.zeros((8, 8, 3), np.uint8); a[..., 0] = 200  # reddish
    b = np.zeros((8, 8, 3), np.uint8); b[..., 2] = 200  # bluish
    planes = infer.plan_planes(a, b, task)
    y = planes.ya[None]
    zero_flow = torch.zeros(1, 2, 8, 8)
    only_a = infer.compose(planes, task, y, np.ones((8, 8)), zero_flow)
    assert np.abs(only_a.astype(int) - a.astype(int)).max() <= 1
    # Weighted blend per the card: weights mask * saturation, the same weights for Cb and Cr.
    a2 = np.full((8, 8, 3), (140, 120, 110), np.uint8)
    b2 = np.full((8, 8, 3), (110, 120, 150), np.uint8)
    planes = infer.plan_planes(a2, b2, task)
    m = np.full((8, 8), 0.25)
    got = infer.compose(planes, task, planes.ya[None], m, zero_flow)
    ya, cba, cra = rgb_to_ycbcr(a2)
    _, cbb, crb = rgb_to_ycbcr(b2)
    wa = m * (np.abs(cba - 128) + np.abs(cra - 128) + infer.CHROMA_EPS)
    wb = (1 - m) * (np.abs(cbb - 128) + np.abs(crb - 128) + infer.CHROMA_EPS)
    _, cbg, crg = rgb_to_ycbcr(got)
    assert np.allclose(cbg, (wa * cba + wb * cbb) / (wa + wb), atol=1.5)
    assert np.allclose(crg, (wa * cra + wb * crb) / (wa + wb), atol=1.5)
    assert abs(cbg.mean() - cba.mean()) > 5 and abs(cbg.mean() - cbb.mean()) > 5  # a real mixture


def test_size_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="sources differ in size"):
        infer.plan_planes(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8), task_by_name("VI-IR"))


def test_register_ngf_pre_registers_b_and_composes_the_flows() -> None:
    torch.manual_seed(0)
    m = FusionNet().eval()  # fresh model: its own flow is exactly zero
    h, w = 64, 96
    yy, xx = np.mgrid[0:h, 0:w]

    def tex(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.round(128 + 60 * np.sin(x / 5) * np.cos(y / 7) + 40 * np.sign(np.sin(x / 11 + y / 13))).astype(np.uint8)

    a, b = tex(xx, yy), tex(xx - 3, yy + 2)  # b(p + (3, -2)) = a(p)
    plain = infer.fuse_images(m, a, b, "MFF", 0.0, 1)
    reg = infer.fuse_images(m, a, b, "MFF", 0.0, 1, register="ngf")
    assert np.abs(plain.flow).max() == 0.0
    inner = (slice(None), slice(10, h - 10), slice(10, w - 10))
    assert np.abs(reg.flow[inner][0] - 3).mean() < 0.3 and np.abs(reg.flow[inner][1] + 2).mean() < 0.3
    # "auto": the 3.6 px shift is registered exactly as by "ngf"; an aligned pair is fused as given
    auto = infer.fuse_images(m, a, b, "MFF", 0.0, 1, register="auto")
    assert np.array_equal(auto.image, reg.image) and np.array_equal(auto.flow, reg.flow)
    same = infer.fuse_images(m, a, a, "MFF", 0.0, 1, register="auto")
    assert np.array_equal(same.image, infer.fuse_images(m, a, a, "MFF", 0.0, 1).image) and np.abs(same.flow).max() == 0.0
    # composition: B warped by pre then by net is B warped by net + pre(p + net)
    pre = torch.full((2, 8, 8), 2.0, dtype=torch.float64)
    pre[1] = -1.0
    net = torch.zeros(2, 8, 8, dtype=torch.float64)
    net[0] = 1.0
    both = infer._compose_flows(net, pre)
    assert torch.allclose(both[0], torch.full((8, 8), 3.0, dtype=torch.float64)) and torch.allclose(both[1], torch.full((8, 8), -1.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="unknown registration 'sift'"):
        infer.fuse_images(m, a, b, "MFF", 0.0, 1, register="sift")


def test_auto_registration_applies_only_a_real_displacement() -> None:
    from fccf_train.infer import AUTO_MIN_SHIFT_PX, pre_registration_moves

    flow = torch.zeros(2, 8, 10, dtype=torch.float64)
    flow[0] = AUTO_MIN_SHIFT_PX  # magnitude exactly the threshold (sqrt(x * x) == x)
    assert pre_registration_moves(flow)
    assert not pre_registration_moves(flow * 0.99)
    assert not pre_registration_moves(torch.zeros(2, 8, 10, dtype=torch.float64))
