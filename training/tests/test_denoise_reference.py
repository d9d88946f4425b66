"""The classical denoising reference: NLM denoises, the factor choice, the gate's noisy sources, the table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fccf_train.denoise_reference import centre_crop, choose_factors, nlm, nlm_rows, reference_figure, reference_markdown
from fccf_train.robustness import add_noise, psnr255


def _scene(h: int = 64, w: int = 80) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.clip(128 + 60 * np.sin(x / 6.0) * np.cos(y / 9.0) + 40 * (x > 40), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("colour", [False, True])
def test_nlm_removes_most_of_known_noise_and_keeps_the_format(colour: bool) -> None:
    clean = _scene()
    if colour:
        clean = np.stack([clean, clean[::-1], 255 - clean], axis=-1)
    noisy = add_noise(clean, 15, np.random.default_rng(0))
    out = nlm(noisy, 15, 0.6)
    assert out.dtype == np.uint8 and out.shape == clean.shape
    assert psnr255(out.astype(np.float64), clean.astype(np.float64)) > psnr255(noisy.astype(np.float64), clean.astype(np.float64)) + 3


def test_a_larger_factor_smooths_more() -> None:
    noisy = add_noise(_scene(), 25, np.random.default_rng(1))
    rough = [float(np.abs(np.diff(nlm(noisy, 25, f).astype(np.float64), axis=1)).mean()) for f in (0.3, 0.8)]
    assert rough[1] < rough[0]


def test_choose_factors_takes_the_best_psnr_and_the_gentler_on_a_tie() -> None:
    rows = {"MFF": {"levels": {"15": {"0.3": {"psnr": 30.0}, "0.45": {"psnr": 31.0}, "0.6": {"psnr": 30.5}},
                               "25": {"0.3": {"psnr": 28.0}, "0.6": {"psnr": 28.0}}}}}
    assert choose_factors(rows) == {"MFF": {"15": 0.45, "25": 0.3}}  # type: ignore[arg-type]


def _dataset(root: Path, n: int) -> None:
    for i in range(n):
        for mod, img in (("source_1", _scene()), ("source_2", _scene()[:, ::-1].copy())):
            d = root / "MFF" / mod
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(d / f"p{i}.png")


def test_nlm_rows_use_the_gates_noisy_sources(tmp_path: Path) -> None:
    _dataset(tmp_path, 2)
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def fuse(task: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        seen.append((a, b))
        return np.maximum(a, b)

    rows = nlm_rows(fuse, str(tmp_path), "test", lambda t, lv: (0.45,), tasks=["MFF"], log=lambda s: None)
    row = rows["MFF"]
    assert row["pairs"] == ["p0", "p1"]  # type: ignore[index]
    # per pair: the clean composite, then one NLM composite per gate level
    assert len(seen) == 2 * 3
    a = _scene()
    expect = nlm(add_noise(a, 15, np.random.default_rng(1000 * 1 + 15)), 15, 0.45)  # pair 1, level 15: A drawn first
    assert np.array_equal(seen[4][0], expect)
    cell = row["levels"]["25"]["0.45"]  # type: ignore[index]
    assert 15 < cell["psnr"] < 60 and 0 < cell["qabf"] <= row["qabf_clean"] + 1e-9  # type: ignore[index,operator]


def test_markdown_puts_nlm_next_to_the_refiner() -> None:
    res = {"chosen": {"MFF": {"15": 0.45, "25": 0.6}},
           "tasks": {"MFF": {"pairs": ["p0", "p1"], "qabf_clean": 0.8, "levels": {
               "15": {"0.45": {"psnr": 32.0, "qabf": 0.56}}, "25": {"0.6": {"psnr": 29.0, "qabf": 0.4}}}}}}
    diffusion = {"tasks": {"MFF": {"levels": {"15": {"blur_composite": {"psnr": 29.4}, "auto": {"psnr": 30.0, "qabf": 0.48}}}}}}
    md = reference_markdown(res, diffusion)  # type: ignore[arg-type]
    assert "| MFF | 15/255 | 2 | 29.40 | 30.00, 60.0% | 0.45, 32.00, 70.0% | +2.00 dB |" in md
    assert "| MFF | 25/255 | 2 | - | - | 0.6, 29.00, 50.0% | - |" in md
    assert md.endswith("NLM + composite keeps 50%-70% of the clean composite's Qabf, `--denoise` 60%-60%; "
                       "NLM has the higher PSNR in 1 of 1 cells.")


def test_centre_crop_takes_the_middle_and_keeps_small_sides() -> None:
    img = np.arange(10 * 6).reshape(10, 6)
    assert np.array_equal(centre_crop(img, 4), img[3:7, 1:5])
    assert centre_crop(img, 8).shape == (8, 6)


def test_reference_figure_draws_one_row_per_task(tmp_path: Path) -> None:
    _dataset(tmp_path / "data", 1)
    res = {"chosen": {"MFF": {"25": 0.45}}, "tasks": {"MFF": {"pairs": ["p0"]}}}
    diffusion = {"tasks": {"MFF": {"levels": {"25": {"blur_composite": {"sigma": 0.8}}}}}}
    strengths: list[float] = []

    def fuse(task: str, a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
        strengths.append(s)
        return np.maximum(a, b)

    rules = {"MFF": [{"sigma": 5.0, "strength": 0.001}, {"sigma": 25.0, "strength": 0.003}]}
    out = tmp_path / "fig.jpg"
    reference_figure(fuse, str(tmp_path / "data"), res, diffusion, rules, out, tasks=("MFF", "VI-IR"))  # type: ignore[arg-type]
    # clean, noisy, blur, --denoise at the rule's strength for the estimated noise, NLM
    assert strengths == [0.0, 0.0, 0.0, 0.003, 0.0]
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.size[0] > im.size[1]
