"""Per-image sensor-noise estimate, and the card's rule from it to a denoise strength.

``estimate_noise`` is Immerkaer's Laplacian-difference estimator made robust: the residual of the
3x3 mask [[1,-2,1],[-2,4,-2],[1,-2,1]] (which cancels planes and ramps; for white Gaussian noise of
std s its std is 6 s) is read through its median absolute value (edges and texture are a minority
and barely move it) over the positions whose 3x3 neighbourhood is not clipped at 0 or 255 (clipping
halves the noise in dark backgrounds, common in medical scans). Colour images: the mean of the
per-channel estimates. Measured on every test source (``reports/noise-estimate.md``), per-task means:
clean 0.5-2.5 (no image above 3.5), Gaussian sigma 5 / 15 / 25 read as 5.1-6.0 / 14.5-15.3 / 23.2-24.8.

The TypeScript engine (@fccf/tasks ``estimateNoise``) computes the same number; the parity fixtures
carry Python's value for their inputs.

Example::

    sigma = max(estimate_noise(a), estimate_noise(b))
    strength = denoise_strength_for(card_task["denoise"], sigma)
"""
from __future__ import annotations

import numpy as np

# 1 / (median |N(0, 1)| * std of the mask's response to unit white noise)
_SCALE = 1.0 / (0.6744897501960817 * 6.0)
MIN_POSITIONS = 64


def estimate_plane_noise(plane: np.ndarray) -> float:
    """Noise std of one plane in 8-bit units (values 0..255, float or integer, HxW)."""
    x = np.asarray(plane, dtype=np.float64)
    h, w = x.shape
    if h < 3 or w < 3:
        return 0.0
    c = x[1:-1, 1:-1]
    r = (4 * c - 2 * (x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:])
         + x[:-2, :-2] + x[:-2, 2:] + x[2:, :-2] + x[2:, 2:])
    lo = np.ones_like(c, dtype=bool)
    hi = np.ones_like(c, dtype=bool)
    for dy in range(3):
        for dx in range(3):
            v = x[dy:dy + h - 2, dx:dx + w - 2]
            lo &= v > 0
            hi &= v < 255
    vals = np.abs(r[lo & hi])
    if vals.size < MIN_POSITIONS:
        return 0.0
    # numpy's median averages the two middle values of an even count, as the TypeScript side does
    return float(np.median(vals) * _SCALE)


def estimate_noise(img: np.ndarray) -> float:
    """Noise std in 8-bit units of a uint8 HxW or HxWx3 image (colour: mean over the channels)."""
    if img.ndim == 2:
        return estimate_plane_noise(img)
    return float(np.mean([estimate_plane_noise(img[..., c]) for c in range(img.shape[2])]))


def rules_from_report(report: dict[str, object]) -> dict[str, list[dict[str, float]]]:
    """Per task, ``[{"sigma", "strength"}]`` from a diffusion report's per-level ``best`` (noisy levels)."""
    out: dict[str, list[dict[str, float]]] = {}
    for task, r in report["tasks"].items():  # type: ignore[union-attr]
        levels = sorted((int(lv), row) for lv, row in r["levels"].items() if int(lv) > 0)
        if any("best" not in row for _, row in levels):
            raise ValueError(f"the diffusion report's {task} levels carry no 'best' strength: rerun `robustness diffusion`")
        out[task] = [{"sigma": float(lv), "strength": float(row["best"])} for lv, row in levels]
    return out


def denoise_strength_for(rows: list[dict[str, float]], sigma: float) -> float:
    """The strength of the row whose noise level is nearest ``sigma`` (rows: ``{"sigma", "strength"}``,
    sigma > 0 ascending); clean sources (nearer 0 than the first row) get 0: the composite."""
    best, dist = 0.0, abs(sigma)
    for r in rows:
        d = abs(sigma - float(r["sigma"]))
        if d < dist:
            best, dist = float(r["strength"]), d
    return best


def denoise_strength(rows: list[dict[str, float]], a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """What ``fccf fuse --denoise`` does before fusing decoded sources a and b: (the rule's strength,
    the noise estimate it was read at, the larger of the two sources')."""
    sigma = max(estimate_noise(a), estimate_noise(b))
    return denoise_strength_for(rows, sigma), sigma


REPORT_LEVELS = (0, 5, 10, 15, 25)


def estimate_report(root: str, levels: tuple[int, ...] = REPORT_LEVELS, seed: int = 0) -> dict[str, object]:
    """Per task and added Gaussian noise level (both sources, as `robustness.add_noise`), the mean,
    min and max estimate over every source image of ``root``."""
    from .evaluate import list_pairs
    from .images import load_image
    from .robustness import add_noise
    from .tasks import TASKS

    out: dict[str, object] = {}
    for t in TASKS:
        imgs = [load_image(p) for pr in list_pairs(root, t.name) for p in (pr.path_a, pr.path_b)]
        rows: dict[str, dict[str, float]] = {}
        for lv in levels:
            rng = np.random.default_rng(seed + lv)
            est = [estimate_noise(add_noise(im, lv, rng)) for im in imgs]
            rows[str(lv)] = {"mean": float(np.mean(est)), "min": float(np.min(est)), "max": float(np.max(est))}
        out[t.name] = {"images": len(imgs), "levels": rows}
    return out


def report_markdown(rep: dict[str, object], levels: tuple[int, ...] = REPORT_LEVELS) -> str:
    lines = ["## Noise estimate (`noise.estimate_noise`, `estimateNoise` in @fccf/tasks) on the test sources",
             "",
             "Gaussian noise of std sigma (8-bit) added to every source image (rounded, clipped, seeded); the estimate's "
             "mean [min, max] over the images. `python -m fccf_train.noise`.",
             "",
             "| task | images | " + " | ".join(f"sigma {lv}" for lv in levels) + " |",
             "|---|---|" + "---|" * len(levels)]
    for task, r in rep.items():
        cells = [f"{c['mean']:.1f} [{c['min']:.1f}, {c['max']:.1f}]" for c in (r["levels"][str(lv)] for lv in levels)]  # type: ignore[index]
        lines.append(f"| {task} | {r['images']} | " + " | ".join(cells) + " |")  # type: ignore[index]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    from pathlib import Path

    from .gate import REPORTS, SHARED

    ap = argparse.ArgumentParser(prog="fccf_train.noise", description="the noise estimate on the test sources at known noise levels")
    ap.add_argument("--test", default=str(SHARED / "data" / "test"))
    ap.add_argument("--out", default=str(REPORTS))
    args = ap.parse_args(argv)
    rep = estimate_report(args.test)
    out = Path(args.out)
    (out / "noise-estimate.json").write_text(json.dumps(rep, indent=1))
    md = report_markdown(rep)
    (out / "noise-estimate.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
