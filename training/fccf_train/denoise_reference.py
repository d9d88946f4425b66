"""A classical reference for the diffusion gate: non-local means on each noisy source, then the composite.

The gate asks the refined output of noisy sources to beat the composite and a blur + composite in
PSNR to the clean fusion, *and* to keep Qabf within 5% of the clean-source result. This module asks
whether a good classical denoiser does better on either count: scikit-image's non-local means (fast
mode, 5x5 patches, 13x13 search window, the true noise sigma given, filter strength h = factor x sigma),
applied to each source, then the model's composite (strength 0), exactly as the gate's blur baseline.

The factor is chosen per task and noise level on the validation split (highest mean PSNR), then the
chosen one is measured on the test split with the gate's own noisy sources (same pairs, same seeds as
``robustness.diffusion_table``), next to ``fccf fuse --denoise`` and the blur baseline from
``reports/diffusion.json``. Qabf is against the clean sources and given as a fraction of the clean
composite's (F's), the denominator the clause uses for a strength-0 output. Nothing is shipped from
here; it tells whether the Qabf clause is within reach of a classical denoiser.

CLI (writes training/reports/denoise-reference.{json,md,jpg}; needs Debian's python3-skimage)::

    /usr/bin/python3 -m fccf_train.denoise_reference --checkpoint runs/lowt-grow/checkpoint.pt
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .gate import DEFAULT_STEPS, REPORTS, SHARED, load_at_defaults, use_checkpoint_split
from .images import evaluator_grey, load_image
from .infer import fuse_images
from .metrics import qabf
from .noise import denoise_strength, rules_from_report
from .robustness import GATE_LEVELS, _subset, add_noise, blur, psnr255
from .tasks import TASKS

H_FACTORS = (0.3, 0.45, 0.6, 0.8)
# the gate's diffusion table runs with --pairs 1000: every pair of the split, in the same order
ALL_PAIRS = 1000


def nlm(img: np.ndarray, sigma: float, factor: float) -> np.ndarray:
    """Non-local means of an 8-bit image (H, W) or (H, W, C) with known noise ``sigma`` (8-bit units) and
    h = factor x sigma; 8-bit out, rounded and clipped like the gate's blur baseline."""
    from skimage.restoration import denoise_nl_means  # a report-only dependency: import where used

    out = denoise_nl_means(img.astype(np.float64), h=factor * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                           fast_mode=True, channel_axis=-1 if img.ndim == 3 else None)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def nlm_rows(fuse: Callable[[str, np.ndarray, np.ndarray], np.ndarray], root: str, split: str,
             factors: Callable[[str, int], tuple[float, ...]], tasks: list[str] | None = None,
             log: Callable[[str], None] = print) -> dict[str, object]:
    """Per task: the pairs, the clean composite's Qabf, and per gate level and factor the mean PSNR to
    the clean composite and Qabf (clean sources) of NLM + composite. ``fuse(task, a, b)`` is the
    composite; ``factors(task, level)`` the factors to try."""
    out: dict[str, object] = {}
    for t in [t for t in TASKS if tasks is None or t.name in tasks]:
        pairs = _subset(root, t.name, ALL_PAIRS, split)
        acc: dict[str, list[tuple[float, float]]] = {}
        q_clean: list[float] = []
        for i, p in enumerate(pairs):
            a, b = load_image(p.path_a), load_image(p.path_b)
            ga, gb = evaluator_grey(a), evaluator_grey(b)
            ref = evaluator_grey(fuse(t.name, a, b))
            q_clean.append(qabf(ref, ga, gb))
            for level in GATE_LEVELS:
                # the gate's noisy sources: robustness.diffusion_table's seed for pair i and this level
                rng = np.random.default_rng(1000 * i + level)
                an, bn = add_noise(a, level, rng), add_noise(b, level, rng)
                for f in factors(t.name, level):
                    g = evaluator_grey(fuse(t.name, nlm(an, level, f), nlm(bn, level, f)))
                    acc.setdefault(f"{level}/{f}", []).append((psnr255(g, ref), qabf(g, ga, gb)))
        levels = {str(lv): {k.split("/")[1]: {"psnr": float(np.mean([x[0] for x in v])), "qabf": float(np.mean([x[1] for x in v]))}
                            for k, v in acc.items() if k.startswith(f"{lv}/")} for lv in GATE_LEVELS}
        out[t.name] = {"pairs": [p.name for p in pairs], "qabf_clean": float(np.mean(q_clean)), "levels": levels}
        log(f"{t.name} ({split}, {len(pairs)} pairs): " + "; ".join(
            f"{lv}/255 " + ", ".join(f"h {f}: {r['psnr']:.2f} dB" for f, r in levels[str(lv)].items()) for lv in GATE_LEVELS))
    return out


def choose_factors(rows: dict[str, object]) -> dict[str, dict[str, float]]:
    """Per task and level the factor of the highest mean PSNR; on a tie the gentler (smaller) one."""
    chosen: dict[str, dict[str, float]] = {}
    for task, row in rows.items():
        chosen[task] = {lv: max((float(f) for f in cells), key=lambda f: (cells[str(f)]["psnr"], -f))
                        for lv, cells in row["levels"].items()}  # type: ignore[index]
    return chosen


def reference_markdown(res: dict[str, object], diffusion: dict[str, object] | None) -> str:
    """The test table: blur + composite and ``--denoise`` (from the gate's diffusion report, when given)
    next to NLM + composite; PSNR to the clean composite, Qabf as a fraction of the clean composite's."""
    lines = ["## A classical reference for the diffusion gate: non-local means + composite (test split)", "",
             "NLM (scikit-image, true sigma, h = factor x sigma, the factor chosen per task and level on validation) on",
             "each noisy source, then the composite. PSNR (dB) to the composite of the clean sources; Qabf against the",
             "clean sources, as a fraction of the clean composite's (the clause needs >= 95% of the clean result at",
             "the same strength: of F's for a composite, a little less for the refiner, see `diffusion.md`).",
             "Centre crops of one test pair per task at 25/255: `denoise-reference.jpg`.", "",
             "| task | noise | pairs | blur + composite | `--denoise` (refiner): PSNR, Qabf of F's | NLM + composite: h, PSNR, Qabf of F's | NLM - refiner |",
             "|---|---|---|---|---|---|---|"]
    tasks: dict[str, object] = res["tasks"]  # type: ignore[assignment]
    nlm_q: list[float] = []
    ref_q: list[float] = []
    wins: list[bool] = []
    for task, row in tasks.items():
        chosen: dict[str, float] = res["chosen"][task]  # type: ignore[index]
        q0 = row["qabf_clean"]  # type: ignore[index]
        for lv in GATE_LEVELS:
            f = chosen[str(lv)]
            cell = row["levels"][str(lv)][str(f)]  # type: ignore[index]
            blur = ref = diff = "-"
            drow = (diffusion or {}).get("tasks", {}).get(task, {}).get("levels", {}).get(str(lv))  # type: ignore[union-attr]
            if drow:
                blur = f"{drow['blur_composite']['psnr']:.2f}"
                if "auto" in drow:
                    ref = f"{drow['auto']['psnr']:.2f}, {drow['auto']['qabf'] / q0:.1%}"
                    diff = f"{cell['psnr'] - drow['auto']['psnr']:+.2f} dB"
            lines.append(f"| {task} | {lv}/255 | {len(row['pairs'])} | {blur} | {ref} | "  # type: ignore[index,arg-type]
                         f"{f:g}, {cell['psnr']:.2f}, {cell['qabf'] / q0:.1%} | {diff} |")
            nlm_q.append(cell["qabf"] / q0)  # type: ignore[operator]
            if drow and "auto" in drow:
                wins.append(cell["psnr"] > drow["auto"]["psnr"])
                ref_q.append(drow["auto"]["qabf"] / q0)  # type: ignore[operator]
    lines += ["", f"NLM + composite keeps {min(nlm_q):.0%}-{max(nlm_q):.0%} of the clean composite's Qabf"
              + (f", `--denoise` {min(ref_q):.0%}-{max(ref_q):.0%}; NLM has the higher PSNR in {sum(wins)} of {len(wins)} cells." if wins else ".")]
    return "\n".join(lines)


FIGURE_TASKS = ("VI-IR", "MED-PET", "MEF", "MFF")
FIGURE_CROP = 192


def centre_crop(img: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` window (the whole side where the image is smaller)."""
    h, w = img.shape[:2]
    y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[y:y + size, x:x + size]


def reference_figure(fuse: Callable[[str, np.ndarray, np.ndarray, float], np.ndarray], root: str,
                     res: dict[str, object], diffusion: dict[str, object], rules: dict[str, list[dict[str, float]]],
                     out_jpg: Path, level: int = 25, tasks: tuple[str, ...] = FIGURE_TASKS) -> None:
    """Centre crops of each task's first test pair at ``level``: the clean composite, the noisy composite,
    the best blur + composite, ``--denoise`` and NLM + composite, with their PSNR to the clean composite.
    ``fuse(task, a, b, strength)`` is the model's output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    rows = [t for t in tasks if t in res["tasks"] and t in diffusion.get("tasks", {})]  # type: ignore[operator,union-attr]
    cols = ["clean composite", "noisy composite", "blur + composite", "fccf --denoise", "NLM + composite"]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.6 * len(cols), 2.75 * len(rows)), squeeze=False)
    for r, task in enumerate(rows):
        pair = _subset(root, task, ALL_PAIRS, "test")[0]  # pair 0 of the report, drawn with pair 0's seed
        a, b = load_image(pair.path_a), load_image(pair.path_b)
        rng = np.random.default_rng(1000 * 0 + level)  # the gate's draw for pair 0
        an, bn = add_noise(a, level, rng), add_noise(b, level, rng)
        ref = fuse(task, a, b, 0.0)
        sb = float(diffusion["tasks"][task]["levels"][str(level)]["blur_composite"]["sigma"])  # type: ignore[index]
        s_auto, est = denoise_strength(rules.get(task, []), an, bn)
        f = res["chosen"][task][str(level)]  # type: ignore[index]
        outs = [ref, fuse(task, an, bn, 0.0), fuse(task, blur(an, sb), blur(bn, sb), 0.0), fuse(task, an, bn, s_auto),
                fuse(task, nlm(an, level, f), nlm(bn, level, f), 0.0)]
        notes = [f"{task} {pair.name}", "", f"sigma_b {sb:g}", f"strength {s_auto:g} (est. {est:.1f})", f"h {f:g} sigma"]
        g_ref = evaluator_grey(ref)
        for c, (img, note) in enumerate(zip(outs, notes)):
            ax = axes[r][c]
            crop = centre_crop(img, FIGURE_CROP)
            ax.imshow(crop, cmap="gray" if crop.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            psnr = "" if c == 0 else f"\n{psnr255(evaluator_grey(img), g_ref):.2f} dB"
            ax.set_title((cols[c] if r == 0 else "") + psnr, fontsize=9)
            ax.set_xlabel(note, fontsize=8)
    fig.suptitle(f"Gaussian noise {level}/255 on both sources: PSNR to the composite of the clean sources (centre crops)", fontsize=10)
    fig.tight_layout()
    tmp = out_jpg.with_suffix(".tmp.jpg")
    fig.savefig(tmp, dpi=80, pil_kwargs={"quality": 88})
    plt.close(fig)
    tmp.replace(out_jpg)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.denoise_reference", description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--train", default=str(SHARED / "data" / "train"))
    ap.add_argument("--test", default=str(SHARED / "data" / "test"))
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--out", default=str(REPORTS))
    ap.add_argument("--tasks", default=None, help="comma-separated subset of tasks")
    ap.add_argument("--figure-only", action="store_true", help="redraw denoise-reference.jpg from the existing report")
    args = ap.parse_args(argv)
    out = Path(args.out)
    tasks = args.tasks.split(",") if args.tasks else None
    try:
        use_checkpoint_split([args.checkpoint])
        model, _, strat, regs = load_at_defaults(args.checkpoint, out / "strengths.json")

        def fuse_at(task: str, a: np.ndarray, b: np.ndarray, strength: float) -> np.ndarray:
            return fuse_images(model, a, b, task, strength, args.steps, strategy=strat.get(task), register=regs.get(task)).image

        def fuse(task: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return fuse_at(task, a, b, 0.0)

        if args.figure_only:
            res = json.loads((out / "denoise-reference.json").read_text())
        else:
            val = nlm_rows(fuse, args.train, "val", lambda t, lv: H_FACTORS, tasks)
            chosen = choose_factors(val)
            test = nlm_rows(fuse, args.test, "test", lambda t, lv: (chosen[t][str(lv)],), tasks)
            res = {"checkpoint": args.checkpoint, "factors": list(H_FACTORS), "chosen": chosen, "validation": val, "tasks": test}
        dpath, vpath = out / "diffusion.json", out / "diffusion-val.json"
        diffusion = json.loads(dpath.read_text()) if dpath.is_file() else None
        if not args.figure_only:
            md = reference_markdown(res, diffusion)
            (out / "denoise-reference.json").write_text(json.dumps(res, indent=1))
            (out / "denoise-reference.md").write_text(md + "\n")
            print(md)
        if diffusion is not None and vpath.is_file():
            reference_figure(fuse_at, args.test, res, diffusion, rules_from_report(json.loads(vpath.read_text())),
                             out / "denoise-reference.jpg")
    except (FileNotFoundError, ValueError, ImportError) as exc:
        print(f"denoise_reference: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
