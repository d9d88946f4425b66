"""Validates fccf_train.metrics against the CDDFuse-evaluator reference values in ../shared/fixtures/metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fccf_train import metrics

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "metrics"
RTOL = {"EN": 1e-9, "SD": 1e-9, "SF": 1e-9, "AG": 1e-9, "MI": 1e-9, "SCD": 1e-9, "PSNR": 1e-9, "CC": 1e-9,
        "MSE": 1e-9, "VIF": 1e-6, "Qabf": 1e-6, "SSIM": 1e-6}
ATOL = 1e-10


def _cases() -> list[dict]:
    ref = FIXTURES / "reference.json"
    if not ref.exists():
        pytest.skip(f"metric fixtures not found at {FIXTURES}")
    return json.loads(ref.read_text())


def _load(rel: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / rel), dtype=np.float64)


def _close(mine: float, ref: object, rtol: float) -> bool:
    if isinstance(ref, str):
        kind = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}[ref]
        if kind == "nan":
            return math.isnan(mine)
        return mine == float(kind)
    assert isinstance(ref, float | int)
    return abs(mine - float(ref)) <= max(rtol * abs(float(ref)), ATOL)


def test_metrics_match_reference() -> None:
    failures: list[str] = []
    checked = 0
    for case in _cases():
        a, b, f = _load(case["a"]), _load(case["b"]), _load(case["f"])
        unstable = case.get("unstable", {}) or {}
        names = [n for n in RTOL if n in case["values"] and n not in unstable]
        got = metrics.compute(f, a, b, names)
        for n in names:
            checked += 1
            if not _close(got[n], case["values"][n], RTOL[n]):
                failures.append(f"{case['id']} {n}: got {got[n]!r}, want {case['values'][n]!r}")
    assert checked > 200
    assert not failures, "\n".join(failures)


def test_unknown_metric_is_a_clear_error() -> None:
    z = np.zeros((8, 8))
    with pytest.raises(ValueError, match="unknown metric 'XYZ'"):
        metrics.compute(z, z, z, ["XYZ"])


def test_perfect_fusion_invariants() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (64, 72)).astype(np.float64)
    got = metrics.compute(a, a, a, ["SSIM", "VIF", "Qabf"])
    assert got["SSIM"] == pytest.approx(2.0, abs=1e-12)
    assert got["VIF"] == pytest.approx(2.0, abs=1e-9)


def test_vif_rejects_shapes_the_reference_cannot_handle() -> None:
    z = np.random.default_rng(0).integers(0, 256, (40, 50)).astype(np.float64)
    with pytest.raises(ValueError, match="narrower than the 3x3 window"):
        metrics.vif(z, z, z)
