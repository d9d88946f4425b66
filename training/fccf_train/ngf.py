"""Classical registration by normalised gradient fields (NGF): B onto A, for sources that show the
same content (exposures, focus settings, polarisation), misaligned by up to ~10 px.

The flow is a bilinear interpolation of a ``grid`` x ``grid`` control grid (which holds any affine
map exactly); Adam maximises the mean squared cosine between the gradient fields of A and of warped
B, ``(<dA, dB> / (|dA|_e |dB|_e))^2`` with ``|v|_e = sqrt(|v|^2 + e^2)`` and e a fraction of A's mean
gradient, on a Gaussian pyramid (1/4, 1/2, then full resolution). Pixels where either image is saturated
(< 3% or > 97% of full scale) are left out, since they carry no gradient, and a small penalty on
differences between neighbouring grid nodes keeps nodes without data near their neighbours. Everything is float64 with
exact analytic gradients and a plain Adam, so the TypeScript engine (``registerNgf`` in @fccf/core)
reproduces it step for step (packages/core/test/fixtures/register-ngf.json).

Example::

    flow = register_ngf(grey_a / 255, grey_b / 255)   # [2, H, W]: b(p + flow(p)) ~ a(p)
"""
from __future__ import annotations

import numpy as np


def gauss_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian (radius round(3 sigma)), edge-replicating borders."""
    r = int(3 * sigma + 0.5)
    k = np.exp(-np.arange(-r, r + 1.0) ** 2 / (2 * sigma * sigma))
    k /= k.sum()
    h, w = x.shape
    xp = np.pad(x, ((0, 0), (r, r)), mode="edge")
    y = sum(k[i] * xp[:, i:i + w] for i in range(2 * r + 1))
    yp = np.pad(y, ((r, r), (0, 0)), mode="edge")
    return sum(k[i] * yp[i:i + h, :] for i in range(2 * r + 1))  # type: ignore[return-value]


def area_down(x: np.ndarray, f: int) -> np.ndarray:
    """Mean of f x f blocks (trailing rows and columns that do not fill a block are dropped)."""
    h, w = x.shape[0] // f, x.shape[1] // f
    return x[:h * f, :w * f].reshape(h, f, w, f).mean(axis=(1, 3))


def central_diff(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d/dx, d/dy): central differences inside, one-sided halves at the borders."""
    gx, gy = np.empty_like(x), np.empty_like(x)
    gx[:, 1:-1] = (x[:, 2:] - x[:, :-2]) / 2
    gx[:, 0], gx[:, -1] = (x[:, 1] - x[:, 0]) / 2, (x[:, -1] - x[:, -2]) / 2
    gy[1:-1] = (x[2:] - x[:-2]) / 2
    gy[0], gy[-1] = (x[1] - x[0]) / 2, (x[-1] - x[-2]) / 2
    return gx, gy


def central_diff_adjoint(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The transpose of ``central_diff``: dL/dx from dL/d(gx) and dL/d(gy)."""
    g = np.zeros_like(dx)
    g[:, 2:] += dx[:, 1:-1] / 2
    g[:, :-2] -= dx[:, 1:-1] / 2
    g[:, 1] += dx[:, 0] / 2
    g[:, 0] -= dx[:, 0] / 2
    g[:, -1] += dx[:, -1] / 2
    g[:, -2] -= dx[:, -1] / 2
    g[2:] += dy[1:-1] / 2
    g[:-2] -= dy[1:-1] / 2
    g[1] += dy[0] / 2
    g[0] -= dy[0] / 2
    g[-1] += dy[-1] / 2
    g[-2] -= dy[-1] / 2
    return g


def grid_weights(n: int, g: int) -> np.ndarray:
    """[n, g] bilinear interpolation weights of a g-node grid at n samples (align_corners)."""
    wts = np.zeros((n, g))
    pos = np.arange(n) * (g - 1) / max(n - 1, 1)
    i0 = np.minimum(np.floor(pos).astype(np.int64), g - 2)
    t = pos - i0
    wts[np.arange(n), i0] = 1 - t
    wts[np.arange(n), i0 + 1] = t
    return wts


def warp_with_derivatives(img: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """out(p) = img(p + f) (bilinear, border clamp, as ``warp.warp``) and d out / d fx, d out / d fy
    (zero where the sample is clamped)."""
    h, w = img.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    sx, sy = np.clip(xs + fx, 0, w - 1), np.clip(ys + fy, 0, h - 1)
    x0 = np.minimum(np.floor(sx).astype(np.int64), w - 2)
    y0 = np.minimum(np.floor(sy).astype(np.int64), h - 2)
    tx, ty = sx - x0, sy - y0
    v00, v01 = img[y0, x0], img[y0, x0 + 1]
    v10, v11 = img[y0 + 1, x0], img[y0 + 1, x0 + 1]
    top, bot = v00 + (v01 - v00) * tx, v10 + (v11 - v10) * tx
    inside_x = (xs + fx > 0) & (xs + fx < w - 1)
    inside_y = (ys + fy > 0) & (ys + fy < h - 1)
    dfx = ((v01 - v00) * (1 - ty) + (v11 - v10) * ty) * inside_x
    return top + (bot - top) * ty, dfx, (bot - top) * inside_y


def ngf_loss_and_grad(
    ax: np.ndarray, ay: np.ndarray, b: np.ndarray, ctrl: np.ndarray, wy: np.ndarray, wx: np.ndarray,
    scale: int, eps: float, a: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Loss -sum(valid <nA, dBw>^2 / |dBw|_e^2) / (sum(valid) + 1) for the normalised gradient field
    (ax, ay) of A, and its exact gradient with respect to the control grid ``ctrl`` [2, g, g]."""
    fx, fy = wy @ ctrl[0] @ wx.T / scale, wy @ ctrl[1] @ wx.T / scale
    bw, dfx, dfy = warp_with_derivatives(b, fx, fy)
    bx, by = central_diff(bw)
    nb2 = bx * bx + by * by + eps * eps
    valid = ((a > 0.03) & (a < 0.97) & (bw > 0.03) & (bw < 0.97)).astype(np.float64)
    s = ax * bx + ay * by
    norm = valid.sum() + 1
    loss = -float((valid * s * s / nb2).sum() / norm)
    gbx = -valid * (2 * s * ax / nb2 - 2 * s * s * bx / (nb2 * nb2)) / norm
    gby = -valid * (2 * s * ay / nb2 - 2 * s * s * by / (nb2 * nb2)) / norm
    gb = central_diff_adjoint(gbx, gby)
    return loss, np.stack([wy.T @ (gb * dfx) @ wx, wy.T @ (gb * dfy) @ wx]) / scale


def grid_smoothness_grad(ctrl: np.ndarray) -> np.ndarray:
    """Gradient of sum over 4-neighbour node pairs of (c_i - c_j)^2 (per flow component): it holds
    nodes over flat or saturated regions, where the data term gives no pull, near their neighbours
    (without it Adam's normalised steps let them wander on already aligned pairs)."""
    g = np.zeros_like(ctrl)
    d = ctrl[:, 1:, :] - ctrl[:, :-1, :]
    g[:, 1:, :] += 2 * d
    g[:, :-1, :] -= 2 * d
    d = ctrl[:, :, 1:] - ctrl[:, :, :-1]
    g[:, :, 1:] += 2 * d
    g[:, :, :-1] -= 2 * d
    return g


def register_ngf(
    a: np.ndarray, b: np.ndarray, grid: int = 4, iters: int = 100, eps_factor: float = 0.5, smoothness: float = 3e-5,
) -> np.ndarray:
    """Flow [2, H, W] (pixels, dx then dy, float64) with b(p + flow(p)) ~ a(p), for grey planes a, b
    with values in [0, 1] (e.g. ``u8 / 255``). ``smoothness`` weighs ``grid_smoothness_grad``'s term;
    3e-5 was chosen on training pairs of PIF, MEF and MFF (EPE on synthetic misalignments and drift
    on the aligned originals; test pairs not used).

    Written in float64 with exact gradients and a plain Adam so that another implementation (e.g. the
    TypeScript engine) can reproduce it step for step."""
    a0, b0 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ctrl = np.zeros((2, grid, grid))
    # the full-resolution level (a quarter of the iterations) halves the residual on PIF and cuts it by
    # a quarter on MEF (training pairs); it costs about as much as the two coarse levels together
    for scale, n_iter in ((4, iters), (2, iters // 2), (1, iters // 4)):
        sa, sb = area_down(gauss_blur(a0, scale / 2), scale), area_down(gauss_blur(b0, scale / 2), scale)
        wy, wx = grid_weights(sa.shape[0], grid), grid_weights(sa.shape[1], grid)
        gx, gy = central_diff(sa)
        eps = eps_factor * float(np.sqrt(gx * gx + gy * gy).mean()) + 1e-6
        na = np.sqrt(gx * gx + gy * gy + eps * eps)
        ax, ay = gx / na, gy / na
        lr = 0.3 / scale
        m, v = np.zeros_like(ctrl), np.zeros_like(ctrl)  # a fresh Adam per level
        for k in range(1, n_iter + 1):
            _, grad = ngf_loss_and_grad(ax, ay, sb, ctrl, wy, wx, scale, eps, sa)
            grad = grad + smoothness * grid_smoothness_grad(ctrl)
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad * grad
            ctrl = ctrl - lr * (m / (1 - 0.9**k)) / (np.sqrt(v / (1 - 0.999**k)) + 1e-8)
    h, w = a.shape
    wy, wx = grid_weights(h, grid), grid_weights(w, grid)
    return np.stack([wy @ ctrl[0] @ wx.T, wy @ ctrl[1] @ wx.T])
