"""The dataset-alignment check: mutual information finds a known shift, also across modalities."""
from __future__ import annotations

import numpy as np

from fccf_train.pair_alignment import best_shift, binned_mi


def _scene(h: int = 60, w: int = 70) -> np.ndarray:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:h, 0:w]
    img = 120 + 80 * np.sin(xx / 4.0) * np.cos(yy / 6.0) + rng.normal(0, 20, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)


def test_mi_of_an_image_with_itself_is_its_entropy_and_zero_for_a_constant() -> None:
    a = _scene()
    p = np.bincount((a.astype(np.int64) * 32 // 256).ravel(), minlength=32) / a.size
    entropy = -float((p[p > 0] * np.log(p[p > 0])).sum())
    assert abs(binned_mi(a, a) - entropy) < 1e-12
    assert abs(binned_mi(a, np.full_like(a, 7))) < 1e-12


def test_best_shift_recovers_a_known_shift_in_the_flow_convention() -> None:
    a = _scene()
    # b(p + d) = a(p) with d = (dx, dy) = (2, -1): b is a moved right by 2 and up by 1
    b = np.roll(a, shift=(-1, 2), axis=(0, 1))
    assert best_shift(a, b, radius=3) == (2, -1)
    # an inverted copy (another "modality") has the same mutual information peak
    assert best_shift(a, 255 - b, radius=3) == (2, -1)
    assert best_shift(a, a, radius=3) == (0, 0)
