"""How much Qabf an output keeps at a given PSNR to the clean fusion: a bound for the diffusion
gate's Qabf clause, which asks a refined output from noisy sources to beat the baselines in PSNR
*and* keep Qabf within 5% of the clean-source result.

On each task's validation pairs the clean composite F (the default output of the clean sources) is
degraded in two ways, each scaled to an exact PSNR to F: white Gaussian noise (what a denoiser leaves
when it under-smooths) and Gaussian blur (what it leaves when it over-smooths); a real residual mixes
them and more. The table gives Qabf(degraded) / Qabf(F) against the clean sources, so it shows which
PSNR an output with such a residual needs for the clause, next to the PSNR the shipped refiner reaches
on the same split (``reports/diffusion-val.json``). No model is chosen here.

CLI (writes training/reports/qabf-bound.{json,md})::

    /usr/bin/python3 -m fccf_train.qabf_bound --checkpoint runs/lowt-grow/checkpoint.pt
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from .gate import DEFAULT_STEPS, REPORTS, SHARED, load_at_defaults, use_checkpoint_split, validation_pairs
from .images import evaluator_grey, load_image
from .infer import fuse_images
from .metrics import qabf
from .robustness import GATE_LEVELS, psnr255
from .tasks import TASKS

PSNRS = (24.0, 27.0, 30.0, 33.0, 36.0, 40.0, 45.0)


def with_noise_at(ref: np.ndarray, psnr: float, rng: np.random.Generator) -> np.ndarray:
    """ref (float, 0..255) plus white Gaussian noise scaled so the result's PSNR to ref is exactly ``psnr``."""
    n = rng.normal(0.0, 1.0, ref.shape)
    n *= (255.0 / 10 ** (psnr / 20)) / np.sqrt(np.mean(n * n))
    return ref + n


def blurred_at(ref: np.ndarray, psnr: float) -> np.ndarray | None:
    """ref blurred by the Gaussian whose PSNR to ref is ``psnr`` (bisection on sigma in [0.05, 8]);
    None when even sigma 8 stays above it (a nearly flat image)."""
    lo, hi = 0.05, 8.0
    if psnr255(gaussian_filter(ref, hi, mode="reflect"), ref) > psnr:
        return None
    for _ in range(40):
        mid = (lo + hi) / 2
        if psnr255(gaussian_filter(ref, mid, mode="reflect"), ref) > psnr:
            lo = mid
        else:
            hi = mid
    return gaussian_filter(ref, (lo + hi) / 2, mode="reflect")


def bound_table(model, train_root: str, steps: int, strategies: dict[str, str], registers: dict[str, str | None],  # type: ignore[no-untyped-def]
                tasks: list[str] | None = None, log=print) -> dict[str, object]:
    out: dict[str, object] = {}
    for t in [t for t in TASKS if tasks is None or t.name in tasks]:
        pairs = validation_pairs(train_root, t.name)
        rows: dict[str, list[float]] = {}
        for i, p in enumerate(pairs):
            a, b = load_image(p.path_a), load_image(p.path_b)
            ga, gb = evaluator_grey(a), evaluator_grey(b)
            ref = evaluator_grey(fuse_images(model, a, b, t.name, 0.0, steps, strategy=strategies.get(t.name),
                                             register=registers.get(t.name)).image).astype(np.float64)
            q0 = qabf(ref, ga, gb)
            rng = np.random.default_rng(i)
            for psnr in PSNRS:
                rows.setdefault(f"noise {psnr:g}", []).append(qabf(with_noise_at(ref, psnr, rng), ga, gb) / q0)
                bl = blurred_at(ref, psnr)
                if bl is not None:
                    rows.setdefault(f"blur {psnr:g}", []).append(qabf(bl, ga, gb) / q0)
        out[t.name] = {"pairs": len(pairs), "qabf_ratio": {k: float(np.mean(v)) for k, v in rows.items()},
                       "blur_pairs": {k: len(v) for k, v in rows.items() if k.startswith("blur")}}
        log(f"{t.name}: " + ", ".join(f"{k} {v:.1%}" for k, v in out[t.name]["qabf_ratio"].items()))  # type: ignore[index]
    return out


def refiner_cells(report: dict[str, object], task: str, level: int) -> tuple[float, float] | None:
    """(best refined PSNR at ``level``, the Qabf fraction of F it must keep there) from a diffusion
    report (``robustness.diffusion_table``): the gate compares with the clean sources refined at the
    same strength, so the fraction is 0.95 x Qabf(clean refined) / Qabf(F) at the best strength."""
    levels = report["tasks"][task]["levels"]  # type: ignore[index]
    cells, clean = levels.get(str(level)), levels.get("0")
    if not cells or not clean:
        return None
    key = max((k for k in cells if k.startswith("refine")), key=lambda k: cells[k]["psnr"])
    return float(cells[key]["psnr"]), 0.95 * clean[key]["qabf"] / clean["composite"]["qabf"]


def psnr_for(ratios: dict[str, float], kind: str, need: float) -> str:
    """The PSNR at which the ``kind`` curve reaches ``need`` (linear between the measured PSNRs)."""
    pts = [(p, ratios[f"{kind} {p:g}"]) for p in PSNRS if f"{kind} {p:g}" in ratios]
    for (p0, r0), (p1, r1) in zip(pts, pts[1:]):
        if r0 >= need:
            return f"<= {p0:g} dB"
        if r1 >= need:
            return f"{p0 + (need - r0) / (r1 - r0) * (p1 - p0):.1f} dB"
    return f"> {pts[-1][0]:g} dB" if pts else "-"


def bound_markdown(res: dict[str, object], val_report: dict[str, object] | None) -> str:
    cols = [f"{kind} {p:g}" for kind in ("noise", "blur") for p in PSNRS]
    lines = ["## Qabf kept at a given PSNR to the clean fusion (validation pairs)", "",
             "Qabf(degraded F) / Qabf(F) against the clean sources, F = the default output of the clean sources,",
             "degraded by white noise or by Gaussian blur scaled to the PSNR (dB) in the column.", "",
             "| task | pairs | " + " | ".join(cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for task, r in res.items():
        q = r["qabf_ratio"]  # type: ignore[index]
        lines.append(f"| {task} | {r['pairs']} | " + " | ".join(f"{q[c]:.1%}" if c in q else "-" for c in cols) + " |")  # type: ignore[index]
    if val_report is None:
        return "\n".join(lines)
    lines += ["", "### What the gate's Qabf clause needs, next to what the refiner reaches (`diffusion-val.json`)", "",
              "The clause compares with the clean sources refined at the same strength, whose Qabf is already below F's,",
              "so at the refiner's best strength it needs 0.95 x Qabf(clean refined) / Qabf(F) of F's Qabf. The PSNR",
              "columns say where a white-noise or a blur residual keeps that much (a real residual mixes the two and more).", "",
              "| task | noise | needed (of F's Qabf) | PSNR needed, noise residual | PSNR needed, blur residual | refiner's PSNR |",
              "|---|---|---|---|---|---|"]
    for task, r in res.items():
        for lv in GATE_LEVELS:
            got = refiner_cells(val_report, task, lv)
            if got is None:
                continue
            psnr, need = got
            q = r["qabf_ratio"]  # type: ignore[index]
            lines.append(f"| {task} | {lv}/255 | {need:.1%} | {psnr_for(q, 'noise', need)} | {psnr_for(q, 'blur', need)} | {psnr:.1f} dB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.qabf_bound", description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--train", default=str(SHARED / "data" / "train"))
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--out", default=str(REPORTS))
    ap.add_argument("--tasks", default=None, help="comma-separated subset of tasks")
    args = ap.parse_args(argv)
    out = Path(args.out)
    try:
        use_checkpoint_split([args.checkpoint])
        model, _, strat, regs = load_at_defaults(args.checkpoint, out / "strengths.json")
        res = bound_table(model, args.train, args.steps, strat, regs, tasks=args.tasks.split(",") if args.tasks else None)
    except (FileNotFoundError, ValueError) as exc:
        print(f"qabf_bound: {exc}", file=sys.stderr)
        return 2
    val = out / "diffusion-val.json"
    md = bound_markdown(res, json.loads(val.read_text()) if val.is_file() else None)
    (out / "qabf-bound.json").write_text(json.dumps({"checkpoint": args.checkpoint, "psnrs": PSNRS, "tasks": res}, indent=1))
    (out / "qabf-bound.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
