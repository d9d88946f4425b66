"""Fusion quality metrics in the convention of the CDDFuse Python evaluator (utils/Evaluator.py).

Definitions and quirks follow ../shared/fixtures/metrics/README.md: MI in nats summed over both
sources, SSIM summed with scikit-image 0.19 defaults on float input (data range 2), VIF the
multi-scale pixel VIF, Qabf with the gX == gF quirk, PSNR with peak max(F). All functions take
float64 greyscale arrays on the 0..255 scale (A, B the sources, F the fused image).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.ndimage import correlate1d, uniform_filter
from scipy.signal import convolve2d

Array = np.ndarray

METRICS_GATE: tuple[str, ...] = ("EN", "SD", "SF", "MI", "SCD", "VIF", "Qabf", "SSIM")
"""The eight metrics of the quality gate (higher is better for all of them)."""


def _f64(x: Array) -> Array:
    return np.asarray(x, dtype=np.float64)


def en(f: Array) -> float:
    """Shannon entropy (bits) of the rounded uint8 histogram 0..max(F)."""
    a = np.round(_f64(f)).clip(0, 255).astype(np.uint8).ravel()
    p = np.bincount(a) / a.size
    return float(-np.sum(p * np.log2(p + (p == 0))))


def sd(f: Array) -> float:
    """Population standard deviation."""
    return float(np.std(_f64(f)))


def sf(f: Array) -> float:
    """Spatial frequency; each mean is over its own difference array."""
    x = _f64(f)
    rf = np.mean((x[:, 1:] - x[:, :-1]) ** 2)
    cf = np.mean((x[1:, :] - x[:-1, :]) ** 2)
    return float(np.sqrt(rf + cf))


def ag(f: Array) -> float:
    """Average gradient with MATLAB `gradient` differences, averaged over all N pixels."""
    x = _f64(f)
    gy, gx = np.gradient(x)
    return float(np.mean(np.sqrt((gx**2 + gy**2) / 2)))


def _mi_pair(x: Array, y: Array) -> float:
    """sklearn `mutual_info_score` on flattened pixel values (every distinct value a label), nats."""
    _, xi = np.unique(_f64(x).ravel(), return_inverse=True)
    _, yi = np.unique(_f64(y).ravel(), return_inverse=True)
    nx, ny = int(xi.max()) + 1, int(yi.max()) + 1
    if nx == 1 or ny == 1:
        return 0.0
    joint = np.bincount(xi * ny + yi, minlength=nx * ny).reshape(nx, ny)
    nzx, nzy = np.nonzero(joint)
    nz = joint[nzx, nzy].astype(np.float64)
    total = nz.sum()
    pi = joint.sum(axis=1)
    pj = joint.sum(axis=0)
    p = nz / total
    log_outer = -np.log((pi[nzx].astype(np.int64) * pj[nzy].astype(np.int64)).astype(np.float64)) + math.log(pi.sum()) + math.log(pj.sum())
    terms = p * (np.log(nz) - math.log(total)) + p * log_outer
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    return float(max(terms.sum(), 0.0))


def mi(f: Array, a: Array, b: Array) -> float:
    """MI(F,A) + MI(F,B) in nats."""
    return _mi_pair(f, a) + _mi_pair(f, b)


def _corr(x: Array, y: Array) -> float:
    xm = x - np.mean(x)
    ym = y - np.mean(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(xm * ym) / np.sqrt(np.sum(xm**2) * np.sum(ym**2)))


def scd(f: Array, a: Array, b: Array) -> float:
    """Sum of correlations of differences: corr(A, F-B) + corr(B, F-A). NaN when F-X is constant."""
    F, A, B = _f64(f), _f64(a), _f64(b)
    return _corr(A, F - B) + _corr(B, F - A)


def cc(f: Array, a: Array, b: Array) -> float:
    """(corr(A,F) + corr(B,F)) / 2."""
    F, A, B = _f64(f), _f64(a), _f64(b)
    return (_corr(A, F) + _corr(B, F)) / 2


def mse(f: Array, a: Array, b: Array) -> float:
    """Mean of the two source MSEs on the 0..255 scale."""
    F, A, B = _f64(f), _f64(a), _f64(b)
    return float((np.mean((A - F) ** 2) + np.mean((B - F) ** 2)) / 2)


def psnr(f: Array, a: Array, b: Array) -> float:
    """10 log10(max(F)^2 / MSE): the CDDFuse peak is max(F), not 255."""
    m = mse(f, a, b)
    peak = float(np.max(_f64(f)))
    with np.errstate(divide="ignore"):
        if m == 0:
            return math.inf
        if peak == 0:
            return -math.inf
        return float(10 * np.log10(peak**2 / m))


# --- VIF ---------------------------------------------------------------------------------------


def _gauss_1d(n: int) -> Array:
    """1-D factor of MATLAB fspecial('gaussian', n, n/5) normalised to sum 1.

    The 2-D window is the outer product of this vector with itself: for n <= 17 and sigma = n/5
    no 2-D entry falls under the eps*max cut, so the separable form is exact.
    """
    s = n / 5.0
    r = np.arange(n, dtype=np.float64) - (n - 1) / 2
    g = np.exp(-(r * r) / (2 * s * s))
    return g / g.sum()


def _valid_filter(x: Array, g: Array) -> Array:
    """'valid' correlation with the separable window outer(g, g) (scipy convolve2d semantics)."""
    n = g.size
    h, w = x.shape
    if h >= n and w >= n:
        c = n // 2
        y = correlate1d(x, g, axis=0, mode="constant")[c : h - c, :]
        return correlate1d(y, g, axis=1, mode="constant")[:, c : w - c]
    if h < n and w < n:
        # scipy swaps the arguments when the image is smaller than the window in both dimensions.
        return convolve2d(x, np.outer(g, g), mode="valid")
    raise ValueError(f"VIF: a {h}x{w} intermediate image is narrower than the {n}x{n} window in one "
                     "dimension only (the reference evaluator fails here too); use images of at least 64x64")


def _vif_pair(ref: Array, dist: Array) -> float:
    sigma_nsq = 2.0
    eps = 1e-10
    num = 0.0
    den = 0.0
    ref = _f64(ref)
    dist = _f64(dist)
    for scale in range(1, 5):
        g = _gauss_1d(2 ** (5 - scale) + 1)
        if scale > 1:
            ref = _valid_filter(ref, g)[::2, ::2]
            dist = _valid_filter(dist, g)[::2, ::2]
        mu1 = _valid_filter(ref, g)
        mu2 = _valid_filter(dist, g)
        s1 = _valid_filter(ref * ref, g) - mu1 * mu1
        s2 = _valid_filter(dist * dist, g) - mu2 * mu2
        s12 = _valid_filter(ref * dist, g) - mu1 * mu2
        s1[s1 < 0] = 0
        s2[s2 < 0] = 0
        gg = s12 / (s1 + eps)
        sv = s2 - gg * s12
        low1 = s1 < eps
        gg[low1] = 0
        sv[low1] = s2[low1]
        s1[low1] = 0
        low2 = s2 < eps
        gg[low2] = 0
        sv[low2] = 0
        neg = gg < 0
        sv[neg] = s2[neg]
        gg[neg] = 0
        sv[sv <= eps] = eps
        num += float(np.sum(np.log10(1.0 + gg * gg * s1 / (sv + sigma_nsq))))
        den += float(np.sum(np.log10(1.0 + s1 / sigma_nsq)))
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.float64(num) / np.float64(den)
    return 1.0 if np.isnan(v) else float(v)


def vif(f: Array, a: Array, b: Array) -> float:
    """VIF(A,F) + VIF(B,F), multi-scale pixel-domain VIF (NaN ratio -> 1.0 as CDDFuse)."""
    return _vif_pair(a, f) + _vif_pair(b, f)


# --- Qabf --------------------------------------------------------------------------------------

_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
_SOBEL_Y = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64)


def _grad_angle(x: Array) -> tuple[Array, Array]:
    sx = convolve2d(x, _SOBEL_X, mode="same")
    sy = convolve2d(x, _SOBEL_Y, mode="same")
    g = np.sqrt(sx * sx + sy * sy)
    a = np.full_like(x, math.pi / 2)
    nz = sx != 0
    a[nz] = np.arctan(sy[nz] / sx[nz])
    return g, a


def _q_xf(ax: Array, gx: Array, af: Array, gf: Array) -> Array:
    G = np.zeros_like(gx)
    gt = gx > gf
    lt = gx < gf
    eq = gx == gf
    G[gt] = gf[gt] / gx[gt]
    G[lt] = gx[lt] / gf[lt]
    G[eq] = gf[eq]
    A = 1 - np.abs(ax - af) / (math.pi / 2)
    qg = 0.9994 / (1 + np.exp(-15 * (G - 0.5)))
    qa = 0.9879 / (1 + np.exp(-22 * (A - 0.8)))
    return qg * qa


def qabf(f: Array, a: Array, b: Array) -> float:
    """Xydeas-Petrovic edge-preservation Qabf (zero-padded Sobel, L = 1)."""
    gA, aA = _grad_angle(_f64(a))
    gB, aB = _grad_angle(_f64(b))
    gF, aF = _grad_angle(_f64(f))
    qa = _q_xf(aA, gA, aF, gF)
    qb = _q_xf(aB, gB, aF, gF)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(qa * gA + qb * gB) / np.sum(gA + gB))


# --- SSIM --------------------------------------------------------------------------------------


def _ssim_pair(x: Array, y: Array) -> float:
    """scikit-image 0.19 `structural_similarity` defaults on float input (data range 2)."""
    x = _f64(x)
    y = _f64(y)
    win = 7
    c1 = (0.01 * 2) ** 2
    c2 = (0.03 * 2) ** 2
    cov_norm = win * win / (win * win - 1)
    ux = uniform_filter(x, size=win)
    uy = uniform_filter(y, size=win)
    uxx = uniform_filter(x * x, size=win)
    uyy = uniform_filter(y * y, size=win)
    uxy = uniform_filter(x * y, size=win)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean())


def ssim(f: Array, a: Array, b: Array) -> float:
    """SSIM(F,A) + SSIM(F,B) (a sum: 2 is perfect)."""
    return _ssim_pair(f, a) + _ssim_pair(f, b)


# --- registry ----------------------------------------------------------------------------------

_SINGLE: dict[str, Callable[[Array], float]] = {"EN": en, "SD": sd, "SF": sf, "AG": ag}
_TRIPLE: dict[str, Callable[[Array, Array, Array], float]] = {
    "MI": mi,
    "SCD": scd,
    "VIF": vif,
    "Qabf": qabf,
    "SSIM": ssim,
    "PSNR": psnr,
    "CC": cc,
    "MSE": mse,
}
ALL_METRICS: tuple[str, ...] = tuple(_SINGLE) + tuple(_TRIPLE)


def compute(f: Array, a: Array, b: Array, names: tuple[str, ...] | list[str] = METRICS_GATE) -> dict[str, float]:
    """Compute the named metrics of fused F against sources A, B (greyscale float, 0..255).

    Example:
        >>> import numpy as np
        >>> a = np.arange(64.0).reshape(8, 8); b = a[::-1].copy()
        >>> round(compute((a + b) / 2, a, b, ["SD"])["SD"], 6)
        0.0
    """
    out: dict[str, float] = {}
    for n in names:
        if n in _SINGLE:
            out[n] = _SINGLE[n](f)
        elif n in _TRIPLE:
            out[n] = _TRIPLE[n](f, a, b)
        else:
            raise ValueError(f"unknown metric {n!r}; known: {', '.join(ALL_METRICS)}")
    return out
