"""The Qabf-at-PSNR bound: degradations hit their PSNR exactly, and the table's lookups."""

from __future__ import annotations

import numpy as np
import pytest

from fccf_train.qabf_bound import blurred_at, psnr_for, refiner_cells, with_noise_at
from fccf_train.robustness import psnr255


def _image() -> np.ndarray:
    y, x = np.mgrid[0:64, 0:80]
    return 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + 20 * (x > 40)


@pytest.mark.parametrize("psnr", [30.0, 36.0, 45.0])
def test_degradations_are_scaled_to_the_asked_psnr(psnr: float) -> None:
    ref = _image()
    assert psnr255(with_noise_at(ref, psnr, np.random.default_rng(0)), ref) == pytest.approx(psnr, abs=1e-9)
    bl = blurred_at(ref, psnr)
    assert bl is not None and psnr255(bl, ref) == pytest.approx(psnr, abs=0.01)


def test_blur_of_a_flat_image_cannot_reach_a_low_psnr() -> None:
    assert blurred_at(np.full((32, 32), 100.0), 30.0) is None


def test_psnr_for_interpolates_between_the_measured_points() -> None:
    ratios = {"noise 30": 0.6, "noise 33": 0.7, "noise 36": 0.8, "noise 40": 0.9, "noise 45": 0.94}
    assert psnr_for(ratios, "noise", 0.75) == "34.5 dB"
    assert psnr_for(ratios, "noise", 0.5) == "<= 30 dB"  # the lowest point measured here
    assert psnr_for(ratios, "noise", 0.95) == "> 45 dB"
    assert psnr_for(ratios, "blur", 0.5) == "-"


def test_refiner_cells_take_the_best_strength_and_the_gate_denominator() -> None:
    rep = {"tasks": {"PIF": {"levels": {
        "0": {"composite": {"psnr": float("inf"), "qabf": 0.8}, "refine 0.001": {"psnr": 36.0, "qabf": 0.6},
              "refine 0.01": {"psnr": 34.0, "qabf": 0.4}},
        "15": {"composite": {"psnr": 25.0, "qabf": 0.4}, "refine 0.001": {"psnr": 30.0, "qabf": 0.45},
               "refine 0.01": {"psnr": 31.0, "qabf": 0.42}},
    }}}}
    psnr, need = refiner_cells(rep, "PIF", 15)  # type: ignore[misc]
    assert psnr == 31.0 and need == pytest.approx(0.95 * 0.4 / 0.8)
    assert refiner_cells(rep, "PIF", 25) is None
