"""Noise estimate: known answers on synthetic images with seeded Gaussian noise, and the card rule."""
from __future__ import annotations

import numpy as np
import pytest

from fccf_train.noise import denoise_strength, denoise_strength_for, estimate_noise, estimate_plane_noise


def _scene(h: int = 240, w: int = 320) -> np.ndarray:
    # smooth shading, a few hard edges and a dark clipped region: what the estimator must ignore
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 60 + 0.3 * x + 0.2 * y + 40 * np.sin(x / 23.0) * np.cos(y / 31.0)
    img[60:140, 80:200] += 50
    img[:, :40] = 0
    return img


@pytest.mark.parametrize("sigma", [5.0, 15.0, 25.0])
def test_reads_the_std_of_added_gaussian_noise(sigma: float) -> None:
    rng = np.random.default_rng(int(sigma))
    noisy = np.clip(np.round(_scene() + rng.normal(0, sigma, (240, 320))), 0, 255).astype(np.uint8)
    assert estimate_noise(noisy) == pytest.approx(sigma, rel=0.08)


def test_clean_image_reads_near_zero_and_flat_or_tiny_planes_zero() -> None:
    clean = np.round(_scene()).clip(0, 255).astype(np.uint8)
    assert estimate_noise(clean) < 1.0
    assert estimate_plane_noise(np.full((50, 50), 255.0)) == 0.0  # all clipped: nothing to read
    assert estimate_plane_noise(np.zeros((2, 9))) == 0.0


def test_colour_is_the_mean_of_the_channel_estimates() -> None:
    rng = np.random.default_rng(3)
    base = _scene()
    chans = [np.clip(np.round(base + rng.normal(0, s, base.shape)), 0, 255) for s in (6.0, 12.0, 18.0)]
    img = np.stack(chans, -1).astype(np.uint8)
    want = np.mean([estimate_plane_noise(c) for c in chans])
    assert estimate_noise(img) == pytest.approx(want, abs=1e-12)
    assert want == pytest.approx(12.0, rel=0.08)


def test_strength_of_the_nearest_noise_level() -> None:
    rows = [{"sigma": 5, "strength": 0.0}, {"sigma": 10, "strength": 0.002}, {"sigma": 25, "strength": 0.01}]
    assert denoise_strength_for(rows, 0.8) == 0.0
    assert denoise_strength_for(rows, 7.6) == 0.002
    assert denoise_strength_for(rows, 17.4) == 0.002
    assert denoise_strength_for(rows, 17.6) == 0.01
    assert denoise_strength_for(rows, 60.0) == 0.01
    assert denoise_strength_for([], 30.0) == 0.0


def test_denoise_strength_reads_the_noisier_source() -> None:
    rows = [{"sigma": 5, "strength": 0.0}, {"sigma": 25, "strength": 0.01}]
    clean = np.round(_scene()).clip(0, 255).astype(np.uint8)
    noisy = np.clip(np.round(_scene() + np.random.default_rng(9).normal(0, 25, (240, 320))), 0, 255).astype(np.uint8)
    for a, b in ((clean, noisy), (noisy, clean)):
        strength, sigma = denoise_strength(rows, a, b)
        assert sigma == estimate_noise(noisy) and strength == 0.01
    assert denoise_strength(rows, clean, clean) == (0.0, estimate_noise(clean))
