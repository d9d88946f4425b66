"""Quality gate, part 2: the diffusion table (noisy sources) and the registration table.

Diffusion, per task and noise level sigma (default {0, 15, 25}/255; Gaussian, added to both 8-bit
sources, rounded and clipped, fixed seed): PSNR (peak 255, evaluator greyscale) to the *reference*
= the registered composite of the clean sources (strength 0), for
- the composite of the noisy sources (strength 0),
- at the gate's levels 15 and 25: the best Gaussian pre-blur (sigma_b chosen per task and level on
  these pairs, favouring the baseline) followed by the composite,
- the refined output at each strength of ``--strengths``,
- with ``--denoise-from``: what ``fccf fuse --denoise`` gives, the strength taken per pair from the
  card's rule (``noise.denoise_strength_for``) and the sources' estimated noise;
and Qabf of each against the clean sources. Per noisy level, ``best`` is the strength (0 = the
composite) of the highest mean PSNR: on the validation split, the card's denoise rule. Gate: on noisy
sources the refined output beats both baselines in PSNR while its Qabf stays >= 95% of the
clean-source result at the same strength.

Registration: B is misaligned by a random smooth field (affine + elastic, |g| <= 8 px, fixed
seed; fccf_train.degrade); the predicted flow of the (a, b) pass must cut the mean end-point error
to the true inverse field by >= 70%, and the fused output's Qabf (against the aligned sources)
must stay >= 95% of the aligned case.

CLI (writes training/reports/diffusion.{json,md}, registration.{json,md})::

    /usr/bin/python3 -m fccf_train.robustness diffusion --checkpoint ... --pairs 4
    /usr/bin/python3 -m fccf_train.robustness registration --checkpoint ... --pairs 6
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from .degrade import random_deformation
from .evaluate import list_pairs
from .gate import (DEFAULT_STEPS, REPORTS, SHARED, evenly_spaced, load_at_defaults, use_checkpoint_split, validation_pairs,
                   write_report)
from .images import evaluator_grey, load_image
from .infer import fuse_images, resample_cubic
from .metrics import qabf
from .model import FusionNet
from .noise import denoise_strength, rules_from_report
from .tasks import TASKS
from .warp import warp

NOISE_LEVELS = (0, 15, 25)
# the levels the gate judges (blur + composite baseline, Qabf ratio); other levels only inform the denoise rule
GATE_LEVELS = (15, 25)
REFINE_STRENGTHS = (0.05, 0.1, 0.2)
BLUR_SIGMAS = (0.5, 0.8, 1.2, 1.6, 2.2)
MAX_MISALIGN_PX = 8.0


def psnr255(x: np.ndarray, ref: np.ndarray) -> float:
    m = float(np.mean((x - ref) ** 2))
    return float("inf") if m == 0 else float(10 * np.log10(255.0**2 / m))


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    if sigma == 0:
        return img
    return np.clip(np.round(img.astype(np.float64) + rng.normal(0.0, sigma, img.shape)), 0, 255).astype(np.uint8)


def blur(img: np.ndarray, s: float) -> np.ndarray:
    sig = (s, s, 0) if img.ndim == 3 else (s, s)
    return np.clip(np.round(gaussian_filter(img.astype(np.float64), sig, mode="reflect")), 0, 255).astype(np.uint8)


def _subset(root: str, task: str, n: int, split: str = "test") -> list:  # type: ignore[type-arg]
    """n pairs evenly spaced by name: of the whole root (test) or of its validation split (val)."""
    return evenly_spaced(validation_pairs(root, task) if split == "val" else list_pairs(root, task), n)


def diffusion_table(model: FusionNet, test_root: str, n_pairs: int, steps: int, log=print, tasks: list[str] | None = None,  # type: ignore[no-untyped-def]
                    strategies: dict[str, str] | None = None, registers: dict[str, str | None] | None = None,
                    strengths: tuple[float, ...] = REFINE_STRENGTHS, split: str = "test",
                    levels: tuple[int, ...] = NOISE_LEVELS,
                    denoise_rows: dict[str, list[dict[str, float]]] | None = None) -> dict[str, object]:
    """``levels`` must include 0 (the clean-source Qabf each noisy result is compared with). With
    ``denoise_rows`` (the card's per-task rule, ``noise.denoise_strength_for``) each level also gets
    an ``auto`` entry: the strength chosen from the sources' estimated noise, as ``fccf fuse --denoise``
    does, with the mean estimate."""
    if 0 not in levels:
        raise ValueError("the noise levels must include 0")
    out: dict[str, object] = {}
    for t in [t for t in TASKS if tasks is None or t.name in tasks]:
        pairs = _subset(test_root, t.name, n_pairs, split)
        acc: dict[str, dict[str, list[float]]] = {}

        def add(level: int, key: str, psnr: float, q: float) -> None:
            d = acc.setdefault(f"{level}/{key}", {"psnr": [], "qabf": []})
            d["psnr"].append(psnr)
            d["qabf"].append(q)

        st, reg = (strategies or {}).get(t.name), (registers or {}).get(t.name)

        def fuse(a: np.ndarray, b: np.ndarray, strength: float, seed: int = 0) -> np.ndarray:
            return fuse_images(model, a, b, t.name, strength, steps, seed=seed, strategy=st, register=reg).image

        for i, p in enumerate(pairs):
            a, b = load_image(p.path_a), load_image(p.path_b)
            ga, gb = evaluator_grey(a), evaluator_grey(b)
            ref = evaluator_grey(fuse(a, b, 0.0))
            for level in levels:
                rng = np.random.default_rng(1000 * i + level)
                an, bn = add_noise(a, level, rng), add_noise(b, level, rng)

                def score(img: np.ndarray) -> tuple[float, float]:
                    g = evaluator_grey(img)
                    return psnr255(g, ref), qabf(g, ga, gb)

                done: dict[float, tuple[float, float]] = {0.0: score(fuse(an, bn, 0.0))}
                add(level, "composite", *done[0.0])
                if level in GATE_LEVELS:
                    for s in BLUR_SIGMAS:
                        add(level, f"blur{s}", *score(fuse(blur(an, s), blur(bn, s), 0.0)))
                for s in strengths:
                    done[s] = score(fuse(an, bn, s, seed=i))
                    add(level, f"refine{s}", *done[s])
                if denoise_rows is not None:
                    s_auto, est = denoise_strength(denoise_rows.get(t.name, []), an, bn)
                    got = done[s_auto] if s_auto in done else score(fuse(an, bn, s_auto, seed=i))
                    add(level, "auto", *got)
                    acc[f"{level}/auto"].setdefault("sigma_est", []).append(est)
                    acc[f"{level}/auto"].setdefault("strength", []).append(s_auto)
        means = {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in acc.items()}
        rows: dict[str, object] = {}
        for level in levels:
            row: dict[str, object] = {"composite": means[f"{level}/composite"]}
            if level in GATE_LEVELS:
                best = max(BLUR_SIGMAS, key=lambda s: means[f"{level}/blur{s}"]["psnr"])
                row["blur_composite"] = {**means[f"{level}/blur{best}"], "sigma": best}
            for s in strengths:
                r = dict(means[f"{level}/refine{s}"])
                if level in GATE_LEVELS:
                    clean_q = means[f"0/refine{s}"]["qabf"]
                    r["beats_composite"] = r["psnr"] > means[f"{level}/composite"]["psnr"]
                    r["beats_blur"] = r["psnr"] > row["blur_composite"]["psnr"]  # type: ignore[index]
                    r["qabf_ratio"] = r["qabf"] / clean_q if clean_q else float("nan")
                    r["pass"] = bool(r["beats_composite"] and r["beats_blur"] and r["qabf_ratio"] >= 0.95)
                row[f"refine {s}"] = r
            if f"{level}/auto" in means:
                row["auto"] = means[f"{level}/auto"]
            # the strength (0 = the composite) of the highest mean PSNR at this level: the card's denoise rule
            if level > 0:
                cand = {0.0: means[f"{level}/composite"]["psnr"], **{s: means[f"{level}/refine{s}"]["psnr"] for s in strengths}}
                row["best"] = max(cand, key=lambda s: (cand[s], -s))
            rows[str(level)] = row
        out[t.name] = {"pairs": [p.name for p in pairs], "strengths": list(strengths), "levels": rows}
        log(f"{t.name}: " + "; ".join(
            f"sigma {lv}: comp {rows[str(lv)]['composite']['psnr']:.2f} dB"  # type: ignore[index]
            + (f", blur {rows[str(lv)]['blur_composite']['psnr']:.2f}" if lv in GATE_LEVELS else "")  # type: ignore[index]
            + "".join(f", s{s} {rows[str(lv)][f'refine {s}']['psnr']:.2f}" for s in strengths)  # type: ignore[index]
            for lv in levels))
    return out


def diffusion_markdown(res: dict[str, object]) -> str:
    lines = [
        "## Diffusion table (PSNR dB to the composite of the clean sources / Qabf vs clean sources)",
        "",
        "Composite = strength 0. Blur = best-sigma Gaussian pre-blur of both sources, then composite. "
        "Refine s = DPM-Solver++ 2M from the noised composite at strength s. "
        f"pass = beats composite and blur in PSNR and Qabf >= 95% of the clean-source result at that strength.",
        "",
    ]
    for task, r in res.items():
        assert isinstance(r, dict)
        strengths = r.get("strengths", REFINE_STRENGTHS)
        auto = any("auto" in row for row in r["levels"].values())
        lines += [f"### {task} ({len(r['pairs'])} pairs)", "",
                  "| sigma | composite | blur+composite | " + " | ".join(f"refine {s}" for s in strengths)
                  + (" | --denoise (noise estimate, strength) | best" if auto else " | best") + " | gate |",
                  "|---|---|---|" + "---|" * len(strengths) + ("---|---|" if auto else "---|") + "---|"]
        for level, row in r["levels"].items():
            c = row["composite"]
            bl = row.get("blur_composite")
            cells = [f"{c['psnr']:.2f} / {c['qabf']:.3f}", f"{bl['psnr']:.2f} / {bl['qabf']:.3f} (σ {bl['sigma']})" if bl else "-"]
            ok = []
            for s in strengths:
                x = row[f"refine {s}"]
                mark = ""
                if "pass" in x:
                    mark = " ✓" if x["pass"] else ""
                    ok.append(x["pass"])
                cells.append(f"{x['psnr']:.2f} / {x['qabf']:.3f}{mark}")
            if auto:
                a = row.get("auto")
                cells.append(f"{a['psnr']:.2f} / {a['qabf']:.3f} ({a['sigma_est']:.1f}, {a['strength']:.4g})" if a else "-")
            cells.append("-" if "best" not in row else "composite" if row["best"] == 0 else f"refine {row['best']}")
            gate = "-" if not ok else ("pass" if any(ok) else "MISS")
            lines.append(f"| {level}/255 | " + " | ".join(cells) + f" | {gate} |")
        lines.append("")
    return "\n".join(lines)


def _warp_image(img: np.ndarray, g: torch.Tensor) -> np.ndarray:
    x = torch.from_numpy(img.astype(np.float32))
    x = x[None, None] if img.ndim == 2 else x.permute(2, 0, 1)[None]
    y = warp(x, g)[0]
    y = y[0] if img.ndim == 2 else y.permute(1, 2, 0)
    return np.clip(np.round(y.numpy()), 0, 255).astype(np.uint8)


def misalignment(h: int, w: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth field g (training's affine + elastic family) rescaled so its largest displacement is
    U(4, 8) px, and its inverse (the flow the network must find) by the same fixed-point iteration."""
    g, _ = random_deformation(1, h, w, gen, max_px=MAX_MISALIGN_PX, p_identity=0.0)
    peak = float(g.norm(dim=1).max())
    target = MAX_MISALIGN_PX * (0.5 + 0.5 * float(torch.rand(1, generator=gen)))
    g = g * (target / max(peak, 1e-6))
    flow = -g
    for _ in range(10):
        flow = -warp(g, flow)
    return g, flow


def registration_table(model: FusionNet, test_root: str, n_pairs: int, steps: int, strengths: dict[str, float], log=print,  # type: ignore[no-untyped-def]
                       tasks: list[str] | None = None, strategies: dict[str, str] | None = None,
                       register: str | None = None, registers: dict[str, str | None] | None = None) -> dict[str, object]:
    """``register`` forces the classical pre-registration for every task; otherwise each task uses
    its default from ``registers``."""
    out: dict[str, object] = {}
    for t in [t for t in TASKS if tasks is None or t.name in tasks]:
        gen = torch.Generator().manual_seed(20261125 + t.id)
        pairs = _subset(test_root, t.name, n_pairs)
        rows = []
        for i, p in enumerate(pairs):
            a, b = load_image(p.path_a), load_image(p.path_b)
            h, w = a.shape[:2]
            g, flow_true = misalignment(h, w, gen)
            b_mis = _warp_image(b, g)
            s = strengths[t.name]
            ga, gb = evaluator_grey(a), evaluator_grey(b)
            st, reg = (strategies or {}).get(t.name), register or (registers or {}).get(t.name)
            aligned = fuse_images(model, a, b, t.name, s, steps, seed=i, strategy=st, register=reg)
            mis = fuse_images(model, a, b_mis, t.name, s, steps, seed=i, strategy=st, register=reg)
            # the ceiling: B_mis resampled back with the true field, as the pre-registration would with
            # zero registration error (what the misalignment's own resampling leaves recoverable)
            b_true = resample_cubic(b_mis, flow_true[0])
            ceiling = fuse_images(model, a, b_true, t.name, s, steps, seed=i, strategy=st)
            ft = flow_true[0].numpy()
            epe0 = float(np.mean(np.linalg.norm(ft, axis=0)))
            epe = float(np.mean(np.linalg.norm(mis.flow - ft, axis=0)))
            q_al = qabf(evaluator_grey(aligned.image), ga, gb)
            q_mis = qabf(evaluator_grey(mis.image), ga, gb)
            q_true = qabf(evaluator_grey(ceiling.image), ga, gb)
            rows.append({"pair": p.name, "epe0": epe0, "epe": epe, "qabf_aligned": q_al, "qabf_misaligned": q_mis,
                         "qabf_true_field": q_true})
        epe0 = float(np.mean([r["epe0"] for r in rows]))
        epe = float(np.mean([r["epe"] for r in rows]))
        q_al = float(np.mean([r["qabf_aligned"] for r in rows]))
        q_mis = float(np.mean([r["qabf_misaligned"] for r in rows]))
        q_true = float(np.mean([r["qabf_true_field"] for r in rows]))
        red = 1 - epe / epe0
        summary = {"epe_before": epe0, "epe_after": epe, "reduction": red, "qabf_aligned": q_al, "qabf_misaligned": q_mis,
                   "qabf_ratio": q_mis / q_al, "pass_epe": red >= 0.70, "pass_qabf": q_mis / q_al >= 0.95,
                   "qabf_true_field": q_true, "qabf_true_field_ratio": q_true / q_al}
        out[t.name] = {"pairs": rows, "summary": summary}
        log(f"{t.name}: EPE {epe0:.2f} -> {epe:.2f} px ({red:.0%}), Qabf {q_al:.3f} -> {q_mis:.3f}")
    return out


def registration_markdown(res: dict[str, object], register: str | None = None) -> str:
    title = "## Registration (synthetic misalignment up to 8 px, default strength)"
    if register:
        title = (f"## Registration with the classical pre-registration forced for every task (`register={register}`: "
                 f"`fccf fuse --register {register}`), synthetic misalignment up to 8 px, default strength")
    lines = [title, "",
             "Ceiling: the misaligned B resampled back with the true field (the pre-registration's cubic warp, no",
             "registration error), then fused: the Qabf a perfect registration reaches, since the misalignment's own",
             "bilinear resampling and 8-bit rounding remove detail that no registration restores.", "",
             "| task | pairs | EPE before (px) | EPE after (px) | reduction (>= 70%) | Qabf aligned | Qabf misaligned + flow | ratio (>= 95%) | ceiling: true field (ratio) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for task, r in res.items():
        assert isinstance(r, dict)
        s = r["summary"]
        lines.append(f"| {task} | {len(r['pairs'])} | {s['epe_before']:.2f} | {s['epe_after']:.2f} | {s['reduction']:.0%}"
                     f"{'' if s['pass_epe'] else ' MISS'} | {s['qabf_aligned']:.3f} | {s['qabf_misaligned']:.3f} | "
                     f"{s['qabf_ratio']:.2%}{'' if s['pass_qabf'] else ' MISS'} | "
                     f"{s['qabf_true_field']:.3f} ({s['qabf_true_field_ratio']:.1%}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.robustness", description=__doc__.split("\n\n")[0])
    ap.add_argument("part", choices=["diffusion", "registration"])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--test", default=str(SHARED / "data" / "test"))
    ap.add_argument("--pairs", type=int, default=4, help="fixed subset size per task (evenly spaced by name)")
    ap.add_argument("--split", choices=["test", "val"], default="test",
                    help="diffusion: the test root, or the validation split of --train (the checkpoint's split; for choosing, never test)")
    ap.add_argument("--train", default=str(SHARED / "data" / "train"))
    ap.add_argument("--strengths", default=",".join(str(s) for s in REFINE_STRENGTHS),
                    help="diffusion: comma-separated refinement strengths")
    ap.add_argument("--levels", default=",".join(str(s) for s in NOISE_LEVELS),
                    help="diffusion: comma-separated Gaussian noise sigmas (8-bit), including 0")
    ap.add_argument("--denoise-from", default=None,
                    help="diffusion: a validation diffusion report (JSON); adds the --denoise column, its per-level rule applied to each pair's estimated noise")
    ap.add_argument("--name", default=None, help="diffusion: report stem (default diffusion, or diffusion-val with --split val)")
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--out", default=str(REPORTS))
    ap.add_argument("--tasks", default=None, help="comma-separated subset of tasks (dry runs)")
    ap.add_argument("--merge", action="store_true",
                    help="the --tasks rows replace theirs in the existing report instead of rewriting it")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--register", default=None, choices=["ngf", "auto"],
                    help="registration: force the classical pre-registration for every task, always (ngf) or when it finds a displacement (auto); writes registration-<mode>.{json,md}")
    args = ap.parse_args(argv)
    tasks = args.tasks.split(",") if args.tasks else None
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        model, st, strat, regs = load_at_defaults(args.checkpoint, out / "strengths.json")
        if args.part == "diffusion":
            strengths = tuple(float(x) for x in args.strengths.split(","))
            if args.split == "val":
                use_checkpoint_split([args.checkpoint])
            root = args.train if args.split == "val" else args.test
            levels = tuple(int(x) for x in args.levels.split(","))
            rules = rules_from_report(json.loads(Path(args.denoise_from).read_text())) if args.denoise_from else None
            res = diffusion_table(model, root, args.pairs, args.steps, tasks=tasks, strategies=strat, registers=regs,
                                  strengths=strengths, split=args.split, levels=levels, denoise_rows=rules)
            markdown = diffusion_markdown
        else:
            res = registration_table(model, args.test, args.pairs, args.steps, st, tasks=tasks, strategies=strat,
                                     register=args.register, registers=regs)
            markdown = partial(registration_markdown, register=args.register)
        stem = args.part + (f"-{args.register}" if args.part == "registration" and args.register else "")
        if args.part == "diffusion":
            stem = args.name or ("diffusion-val" if args.split == "val" else "diffusion")
        meta = {"checkpoint": args.checkpoint, "steps": args.steps, "pairs_per_task": args.pairs, "tasks": res}
        print(write_report(out, stem, meta, markdown, merge=args.merge))
    except (FileNotFoundError, ValueError) as exc:
        print(f"robustness: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
