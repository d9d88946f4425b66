"""How well the dataset's own pairs are aligned: the integer shift of B that maximises the mutual
information with A, per pair.

The registration gate misaligns B by a known field and measures the predicted flow against that
field, which assumes the original pair is aligned. Mutual information (32 bins, 8-bit grey of the
evaluator) is a modality-independent measure of alignment; its peak is where the image content of B
best matches A. Where that peak sits away from (0, 0), a registration that follows the content is
counted as an end-point error of about that size, so the gate cannot tell it from a miss.

CLI (writes training/reports/pair-alignment.{json,md})::

    /usr/bin/python3 -m fccf_train.pair_alignment --split test --radius 4
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .evaluate import list_pairs
from .gate import REPORTS, SHARED
from .images import evaluator_grey, load_image
from .tasks import TASKS

Array = np.ndarray


def binned_mi(a: Array, b: Array, bins: int = 32) -> float:
    """Mutual information (nats) of two uint8 images of one size, values binned into ``bins``."""
    ia = (a.astype(np.int64) * bins) // 256
    ib = (b.astype(np.int64) * bins) // 256
    joint = np.bincount((ia * bins + ib).ravel(), minlength=bins * bins).reshape(bins, bins).astype(np.float64)
    p = joint / joint.sum()
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / (pa @ pb)[nz])).sum())


def best_shift(a: Array, b: Array, radius: int = 4) -> tuple[int, int]:
    """The integer (dx, dy), |dx|, |dy| <= radius, for which b(p + d) best matches a(p) by mutual
    information over the interior (the flow convention of the model: b_aligned(p) = b(p + flow))."""
    h, w = a.shape
    r = radius
    core = a[r:h - r, r:w - r]
    best: tuple[float, int, int] | None = None
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            v = binned_mi(core, b[r + dy:h - r + dy, r + dx:w - r + dx])
            # ties go to the smaller shift, so an uninformative pair reads as aligned
            key = (v, -(dx * dx + dy * dy))
            if best is None or key > (best[0], -(best[1] ** 2 + best[2] ** 2)):
                best = (v, dx, dy)
    assert best is not None
    return best[1], best[2]


def alignment_table(root: str | Path, radius: int = 4, log=print) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out: dict[str, object] = {}
    for t in TASKS:
        rows = []
        for p in list_pairs(root, t.name):
            dx, dy = best_shift(evaluator_grey(load_image(p.path_a)), evaluator_grey(load_image(p.path_b)), radius)
            rows.append({"pair": p.name, "dx": dx, "dy": dy})
        off = np.array([[r["dx"], r["dy"]] for r in rows], dtype=np.float64)
        norm = np.hypot(off[:, 0], off[:, 1])
        summary = {
            "pairs": len(rows),
            "mean_offset_px": float(norm.mean()),
            "aligned_fraction": float(np.mean(norm == 0)),
            "within_1px_fraction": float(np.mean(norm <= 1.5)),
            "mean_dx": float(off[:, 0].mean()),
            "mean_dy": float(off[:, 1].mean()),
        }
        out[t.name] = {"summary": summary, "pairs": rows}
        log(f"{t.name}: mean |offset| {summary['mean_offset_px']:.2f} px, at (0, 0) {summary['aligned_fraction']:.0%}")
    return out


def alignment_markdown(res: dict[str, object], split: str, radius: int) -> str:
    lines = [
        f"## Alignment of the dataset's own pairs ({split} split)", "",
        f"Integer shift of B (|dx|, |dy| <= {radius} px) that maximises the mutual information with A "
        "(32 bins, evaluator grey), per pair: `python -m fccf_train.pair_alignment`.", "",
        "| task | pairs | mean offset (px) | at (0, 0) | within 1 px | mean (dx, dy) |", "|---|---|---|---|---|---|",
    ]
    for task, r in res.items():
        s = r["summary"]  # type: ignore[index]
        lines.append(f"| {task} | {s['pairs']} | {s['mean_offset_px']:.2f} | {s['aligned_fraction']:.0%} | "
                     f"{s['within_1px_fraction']:.0%} | ({s['mean_dx']:+.1f}, {s['mean_dy']:+.1f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.pair_alignment", description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", choices=["test", "train"])
    ap.add_argument("--radius", type=int, default=4)
    ap.add_argument("--out", default=str(REPORTS))
    args = ap.parse_args(argv)
    root = SHARED / "data" / args.split
    try:
        res = alignment_table(root, args.radius)
    except (FileNotFoundError, ValueError) as exc:
        print(f"pair_alignment: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = alignment_markdown(res, args.split, args.radius)
    (out / "pair-alignment.json").write_text(json.dumps({"split": args.split, "radius": args.radius, "tasks": res}, indent=1))
    (out / "pair-alignment.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
