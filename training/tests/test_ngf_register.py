"""The classical registration baseline: exact gradients, and recovery of a known misalignment."""
from __future__ import annotations

import numpy as np
import torch

from fccf_train.ngf import (
    central_diff,
    gauss_blur,
    grid_smoothness_grad,
    grid_weights,
    ngf_loss_and_grad,
    register_ngf,
    warp_with_derivatives,
)
from fccf_train.robustness import _warp_image, misalignment
from fccf_train.warp import warp


def _scene(h: int = 96, w: int = 128) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    img = 128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 40 * np.sign(np.sin(xx / 11.0 + yy / 13.0))
    img = img + rng.normal(0, 3, (h, w))
    return np.clip(img, 10, 245).astype(np.uint8)


def test_warp_matches_the_model_warp_and_grid_weights_hold_an_affine_map() -> None:
    rng = np.random.default_rng(1)
    img = rng.random((20, 30))
    fx, fy = rng.normal(0, 2, (20, 30)), rng.normal(0, 2, (20, 30))
    mine, _, _ = warp_with_derivatives(img, fx, fy)
    ref = warp(torch.from_numpy(img)[None, None], torch.from_numpy(np.stack([fx, fy]))[None])[0, 0].numpy()
    assert np.abs(mine - ref).max() < 1e-12
    wy, wx = grid_weights(20, 4), grid_weights(30, 4)
    gy, gx = np.mgrid[0:4, 0:4] / 3.0
    ctrl = 0.5 + 2.0 * gx - 1.5 * gy  # affine in the grid coordinates
    ys, xs = np.mgrid[0:20, 0:30]
    assert np.abs(wy @ ctrl @ wx.T - (0.5 + 2.0 * xs / 29 - 1.5 * ys / 19)).max() < 1e-12


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    a = 0.1 + 0.8 * gauss_blur(rng.random((30, 40)), 1.5)
    b = 0.1 + 0.8 * gauss_blur(rng.random((30, 40)), 1.5)
    gx, gy = central_diff(a)
    eps = 0.01
    na = np.sqrt(gx * gx + gy * gy + eps * eps)
    wy, wx = grid_weights(30, 4), grid_weights(40, 4)
    ctrl = rng.normal(0, 0.7, (2, 4, 4))
    _, grad = ngf_loss_and_grad(gx / na, gy / na, b, ctrl, wy, wx, 2, eps, a)
    num = np.zeros_like(ctrl)
    for idx in np.ndindex(ctrl.shape):
        up, down = ctrl.copy(), ctrl.copy()
        up[idx] += 1e-6
        down[idx] -= 1e-6
        num[idx] = (ngf_loss_and_grad(gx / na, gy / na, b, up, wy, wx, 2, eps, a)[0]
                    - ngf_loss_and_grad(gx / na, gy / na, b, down, wy, wx, 2, eps, a)[0]) / 2e-6
    assert np.abs(num - grad).max() < 1e-6 * np.abs(grad).max()


def test_recovers_most_of_a_known_misalignment_also_across_modalities() -> None:
    a = _scene()
    g, flow_true = misalignment(*a.shape, torch.Generator().manual_seed(3))
    ft = flow_true[0].numpy()
    epe0 = float(np.mean(np.linalg.norm(ft, axis=0)))
    for b in (a, 255 - a):  # same modality, and an inverted one (NGF ignores gradient sign)
        flow = register_ngf(a / 255, _warp_image(b, g) / 255)
        epe = float(np.mean(np.linalg.norm(flow - ft, axis=0)))
        assert epe0 > 2.0 and epe < 0.3 * epe0, (epe0, epe)


def test_aligned_pair_gives_a_near_zero_flow_and_runs_are_identical() -> None:
    a = _scene()
    flow = register_ngf(a / 255, a / 255)
    assert float(np.mean(np.linalg.norm(flow, axis=0))) < 0.1
    assert np.array_equal(flow, register_ngf(a / 255, a / 255))


def test_smoothness_gradient_is_the_gradient_of_the_neighbour_penalty() -> None:
    ctrl = np.random.default_rng(2).normal(0, 1, (2, 4, 4))

    def penalty(c: np.ndarray) -> float:
        return float(((c[:, 1:, :] - c[:, :-1, :]) ** 2).sum() + ((c[:, :, 1:] - c[:, :, :-1]) ** 2).sum())

    num = np.zeros_like(ctrl)
    for idx in np.ndindex(ctrl.shape):
        up, down = ctrl.copy(), ctrl.copy()
        up[idx] += 1e-6
        down[idx] -= 1e-6
        num[idx] = (penalty(up) - penalty(down)) / 2e-6
    assert np.abs(num - grid_smoothness_grad(ctrl)).max() < 1e-6
