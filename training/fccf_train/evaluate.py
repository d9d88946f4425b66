"""Evaluate a fusion method over a dataset split the way ../shared/REFERENCE-RESULTS.md does.

A method maps the two decoded sources (uint8, HxW or HxWx3) to the fused image as it would be
saved (uint8 grey or RGB). The evaluator then reads every image as OpenCV greyscale and computes
the CDDFuse-convention metrics (fccf_train.metrics); results are averaged per task.

CLI::

    /usr/bin/python3 -m fccf_train.evaluate --data ../shared/data/test --task VI-IR --method max

Example::

    from fccf_train.evaluate import evaluate_task, baseline
    means = evaluate_task("/work/shared/data/test", "VI-IR", baseline("max"))
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import metrics
from .images import cv2_ycrcb, cv2_ycrcb_to_rgb_u8, evaluator_grey, load_image, rgb_to_ycbcr, to_u8, ycbcr_to_rgb_u8
from .tasks import TASKS, task_by_name

Array = np.ndarray
FuseFn = Callable[[Array, Array], Array]
TABLE_METRICS: tuple[str, ...] = metrics.METRICS_GATE + ("AG",)


@dataclass(frozen=True)
class Pair:
    task: str
    name: str
    path_a: Path
    path_b: Path


def list_pairs(root: str | Path, task: str) -> list[Pair]:
    """All pairs of one task under a split root (<root>/<TASK>/<modA>/<name>.png), sorted by name."""
    t = task_by_name(task)
    base = Path(root) / t.name
    da, db = base / t.dir_a, base / t.dir_b
    if not da.is_dir() or not db.is_dir():
        raise FileNotFoundError(f"{base}: expected folders {t.dir_a}/ and {t.dir_b}/ (layout <root>/<TASK>/<mod>/<name>.png)")
    names = sorted(p.stem for p in da.glob("*.png"))
    missing = [n for n in names if not (db / f"{n}.png").is_file()]
    if missing:
        raise FileNotFoundError(f"{db}: missing partner images for {', '.join(missing[:5])}")
    return [Pair(t.name, n, da / f"{n}.png", db / f"{n}.png") for n in names]


def _weighted_chroma(ca: Array, cb: Array) -> Array:
    ca = ca.astype(np.float64)
    cb = cb.astype(np.float64)
    wa, wb = np.abs(ca - 128.0), np.abs(cb - 128.0)
    den = wa + wb
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (ca * wa + cb * wb) / den
    return np.where(den > 0, out, 128.0)


def blend_chroma(a: Array, b: Array) -> tuple[Array, Array]:
    """|C-128|-weighted chroma of two colour images (the more saturated source wins), float."""
    _, cba, cra = rgb_to_ycbcr(a)
    _, cbb, crb = rgb_to_ycbcr(b)
    return _weighted_chroma(cba, cbb), _weighted_chroma(cra, crb)


def recolour(y: Array, a: Array, b: Array) -> Array:
    """Attach chroma to a fused Y: from the colour source, blended when both are colour; grey if none."""
    if a.ndim == 3 and b.ndim == 3:
        cb, cr = blend_chroma(a, b)
    elif a.ndim == 3 or b.ndim == 3:
        _, cb, cr = rgb_to_ycbcr(a if a.ndim == 3 else b)
    else:
        return to_u8(y)
    return ycbcr_to_rgb_u8(y, cb, cr)


def baseline(rule: str) -> FuseFn:
    """Element-wise `max` or `mean` on Y, chroma from the colour source(s), exactly as the reference.

    The reference rows were produced on OpenCV's integer YCrCb planes (mean rounded half to even,
    |C-128|-weighted chroma rounded when both sources are colour); reproducing that matters: the
    half-to-even rounding of the mean lowers its EN by ~0.2 bit compared with float luma.
    """
    if rule not in ("max", "mean"):
        raise ValueError(f"unknown baseline rule {rule!r}; use max or mean")

    def planes(x: Array) -> tuple[Array, Array | None, Array | None]:
        return cv2_ycrcb(x) if x.ndim == 3 else (x.astype(np.int64), None, None)

    def fuse(a: Array, b: Array) -> Array:
        ya, cba, cra = planes(a)
        yb, cbb, crb = planes(b)
        y = np.maximum(ya, yb) if rule == "max" else np.round((ya + yb) / 2)
        if cba is not None and cbb is not None:
            assert cra is not None and crb is not None
            cb = np.round(_weighted_chroma(cba, cbb))
            cr = np.round(_weighted_chroma(cra, crb))
        elif cba is not None or cbb is not None:
            cb, cr = (cba, cra) if cba is not None else (cbb, crb)
        else:
            return to_u8(y)
        return cv2_ycrcb_to_rgb_u8(y, cb, cr)

    return fuse


def score_pair(fused: Array, a: Array, b: Array, names: tuple[str, ...] = TABLE_METRICS) -> dict[str, float]:
    """Metrics of a saved fused image against its sources, all read as the evaluator reads them."""
    return metrics.compute(evaluator_grey(fused), evaluator_grey(a), evaluator_grey(b), names)


def evaluate_task(
    root: str | Path,
    task: str,
    fuse: FuseFn,
    names: tuple[str, ...] = TABLE_METRICS,
    limit: int | None = None,
) -> dict[str, float]:
    """Mean metrics of a method over one task of a split (NaN values are skipped in the mean)."""
    pairs = list_pairs(root, task)[:limit]
    if not pairs:
        raise FileNotFoundError(f"{root}/{task}: no image pairs")
    rows: list[dict[str, float]] = []
    for p in pairs:
        a, b = load_image(p.path_a), load_image(p.path_b)
        f = fuse(a, b)
        if f.shape[:2] != a.shape[:2]:
            raise ValueError(f"{p.name}: fused image is {f.shape[:2]}, sources are {a.shape[:2]}")
        rows.append(score_pair(f, a, b, names))
    return {n: float(np.nanmean([r[n] for r in rows])) for n in names}


def markdown_table(rows: dict[str, dict[str, float]], names: tuple[str, ...] = TABLE_METRICS) -> str:
    """Markdown table, one row per method."""
    out = ["| method | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for method, vals in rows.items():
        out.append(f"| {method} | " + " | ".join(f"{vals[n]:.3f}" for n in names) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="split root, e.g. ../shared/data/test")
    ap.add_argument("--task", action="append", help="task name (repeatable); default all")
    ap.add_argument("--method", action="append", default=None, help="max | mean (repeatable)")
    ap.add_argument("--limit", type=int, default=None, help="first N pairs per task")
    args = ap.parse_args(argv)
    tasks = args.task or [t.name for t in TASKS]
    try:
        for task in tasks:
            rows = {f"baseline-{m}": evaluate_task(args.data, task, baseline(m), limit=args.limit) for m in args.method or ["mean", "max"]}
            print(f"\n## {task}\n\n{markdown_table(rows)}")
    except (FileNotFoundError, ValueError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
