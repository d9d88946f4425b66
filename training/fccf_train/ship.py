"""Ship a trained checkpoint: ONNX graphs, parity check, speed, parity fixtures and the card in models/.

Run after the gate reports exist (training/reports/{strengths,fusion,diffusion,registration}.json;
missing ones are left out of the card and listed under quality.missing)::

    /usr/bin/python3 -m fccf_train.ship --checkpoint training/runs/main/checkpoint.pt --name fccf-small

Example (from Python)::

    card = ship(Path("training/runs/main/checkpoint.pt"), "fccf-small", Path("models"))
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from .card import build_card, write_card
from .evaluate import list_pairs
from .export import OrtModel, check_parity, export_graphs, gflops, measure_speed
from .gate import (DEFAULT_STEPS, REPO, REPORTS, SHARED, load_model, max_strength_of, read_defaults, read_network_flow,
                   read_registers)
from .images import load_image
from .model import FusionNet
from .noise import denoise_strength, rules_from_report
from .robustness import add_noise
from .parity import FLOAT_TOLERANCE, crop, replay_case, write_case
from .tasks import STRATEGIES

MAX_BYTES = 20 * 1024 * 1024
PARITY_TOL = 1e-4
# (task, pair index in the sorted test list, crop y, x, h, w, strength or None = task default, steps, seed)
PARITY_CASES = (
    ("VI-IR", 0, 120, 200, 37, 52, None, 4, 1),
    ("VI-IR", 3, 40, 60, 24, 40, 0.0, 4, 0),
    ("MED-SPECT", 0, 100, 90, 40, 44, None, 4, 2),
    ("MED-CT", 1, 80, 80, 33, 33, 0.3, 5, 3),
    ("MEF", 2, 60, 100, 30, 45, None, 4, 4),
    ("MFF", 1, 200, 200, 41, 38, 0.2, 3, 5),
)


# a case with Gaussian noise (sigma, 8-bit) added to both crops, its strength chosen by the card's
# denoise rule from the noise estimate: (task, pair index, crop y, x, h, w, sigma, steps, seed)
DENOISE_CASE = ("VI-IR", 3, 40, 60, 48, 64, 25.0, 4, 8)

# cases run with a classical pre-registration whatever the card's default (infer.fuse_images
# register=...; the same fields, then the mode), so engines test both modes against the reference:
# a crop big enough for the 1/4-resolution level, and the MEF case with "auto"
REGISTER_CASES = (("MFF", 1, 100, 100, 96, 128, 0.0, 4, 6, "ngf"), ("MEF", 2, 60, 100, 30, 45, None, 4, 4, "auto"))


def _elapsed(path: Path, ck: dict[str, object]) -> float:
    """Training seconds up to the checkpoint; snapshots written before they carried it are looked up
    in the run's metrics.jsonl."""
    if "elapsed" in ck:
        return float(ck["elapsed"])  # type: ignore[arg-type]
    log = path.parent / "metrics.jsonl"
    best = 0.0
    if log.is_file():
        for line in log.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("kind") == "train" and rec["step"] <= ck["step"]:  # type: ignore[operator]
                best = float(rec["time"])
    return best


def _lineage(args: dict[str, object]) -> list[dict[str, object]]:
    """The checkpoints a fine-tune started from (``train --init``), nearest first, each with its own
    training time, so the card can state the total. Relative paths are read from training/."""
    chain: list[dict[str, object]] = []
    init = args.get("init")
    while isinstance(init, str) and len(chain) < 10:
        path = Path(init) if Path(init).is_absolute() else REPO / "training" / init
        if not path.is_file():
            chain.append({"checkpoint": init, "wall_minutes": None})
            break
        ck = torch.load(path, map_location="cpu")
        chain.append({"checkpoint": str(path.relative_to(REPO)) if REPO in path.parents else str(path),
                      "step": ck.get("step"), "wall_minutes": round(_elapsed(path, ck) / 60, 1)})
        if ck.get("recovered"):  # recovered from a shipped card (fccf_train.recover): its lineage is the card's
            chain[-1]["recovered_from"] = ck["recovered"]["card"]
            chain += list(ck["recovered"].get("initialised_from", []))
            break
        init = (ck.get("args") or {}).get("init")
    return chain


def _report(reports: Path, name: str) -> dict[str, object] | None:
    p = reports / f"{name}.json"
    return json.loads(p.read_text()) if p.is_file() else None


def _markdown(reports: Path, name: str) -> str | None:
    p = reports / f"{name}.md"
    return p.read_text() if p.is_file() else None


def ship(checkpoint: Path, name: str, out: Path, steps: int = DEFAULT_STEPS, reports: Path = REPORTS, log=print, label: str | None = None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    model = load_model(checkpoint)
    ck = torch.load(checkpoint, map_location="cpu")
    strengths_rep = _report(reports, "strengths")
    if strengths_rep is None:
        raise FileNotFoundError(f"{reports / 'strengths.json'}: run `python -m fccf_train.gate strengths` first")
    strengths, strategies = read_defaults(reports / "strengths.json")
    args = ck.get("args", {}) or {}
    max_strength = max_strength_of(args)
    over = {t: v for t, v in strengths.items() if v > max_strength}
    if over:
        raise ValueError(f"default strengths {over} exceed the model's max_strength {max_strength} "
                         "(its denoiser was trained only at low t): rerun `gate strengths` for this checkpoint")
    denoise = denoise_rules(reports, checkpoint, max_strength)
    registers = read_registers(reports / "strengths.json")
    model.set_network_flow(read_network_flow(reports / "strengths.json"))  # baked into the encoder graph
    graphs = export_graphs(model, out, name)
    size = graphs.encoder.path.stat().st_size + graphs.denoiser.path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"graphs are {size / 1e6:.1f} MB together, over the 20 MB limit")
    diffs = check_parity(model, graphs, h=56, w=72)
    log(f"parity ONNX vs PyTorch: {diffs}")
    if max(diffs.values()) > PARITY_TOL:
        raise ValueError(f"ONNX differs from PyTorch by {max(diffs.values()):.2e} (> {PARITY_TOL})")
    load_before = os.getloadavg()[0]
    speed = measure_speed(model, graphs, runs=20)
    flops = gflops(model)
    log(f"speed 640x480: {speed}; GFLOPs: {flops}")
    enc_ms, den_ms = float(speed["encoder_ms"]), float(speed["denoiser_step_ms"])  # type: ignore[arg-type]
    measured = {
        "onnx_bytes": size,
        "onnx_parity_max_abs_diff": diffs,
        "gflops_640x480": flops,
        "speed_640x480": {
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in speed.items()},
            "full_forward_ms": round(enc_ms + den_ms, 2),
            "hierarchical_sample_ms_estimate": round(3 * enc_ms + steps * den_ms, 1),
            "hierarchical_sample_min_ms_estimate": round(3 * float(speed["encoder_min_ms"]) + steps * float(speed["denoiser_step_min_ms"]), 1),  # type: ignore[arg-type]
            "runtime": "onnxruntime-node 1.30.0, CPU (2 cores), 2 intra-op threads, batch 1; 3 alternating rounds of 20 runs per "
                       "graph: median of the round medians, min of all runs, rounds_ms = [encoder, denoiser] median per round",
            "load_average_before": round(load_before, 2),
        },
    }
    # parity fixtures
    pdir = out / "parity"
    if pdir.exists():
        shutil.rmtree(pdir)
    cases = []
    # each case at the card's default strategy; a strategy-conditioned model also gets the first case
    # with the other strategy, so engines test their strategy option against the reference
    runs = [(c, strategies[c[0]]) for c in PARITY_CASES]
    if model.cfg.strategies:
        first = PARITY_CASES[0]
        runs.append((first, next(x for x in STRATEGIES if x != strategies[first[0]])))
    all_runs = [(c, st, registers[c[0]]) for c, st in runs] + [(c[:-1], strategies[c[0]], c[-1]) for c in REGISTER_CASES]
    for (task, idx, y, x, h, w, s, n_steps, seed), strategy, register in all_runs:
        cid = write_parity_case(model, pdir, task, idx, (y, x, h, w), strengths[task] if s is None else min(s, max_strength),
                                n_steps, seed, strategy, register)
        if cid not in cases:  # a register case may repeat a default one
            cases.append(cid)
    if denoise:
        task = DENOISE_CASE[0]
        cases.append(write_denoise_case(model, pdir, denoise[task], strategies[task], registers[task]))
    # the fixtures must be reachable by an ONNX engine: replay them on the exported graphs
    ort_model = OrtModel(graphs, model.cfg)
    replay = {cid: replay_case(ort_model, pdir / cid) for cid in cases}
    worst = max(max(r["fused"], r["composite"], r["mask"]) for r in replay.values())
    log(f"parity fixtures replayed in onnxruntime-node: max float diff {worst:.2e}, "
        f"max PNG diff {max(r['png'] for r in replay.values()):.0f}")
    if worst > FLOAT_TOLERANCE:
        raise ValueError(f"parity fixtures replayed on ONNX differ by {worst:.2e} (> {FLOAT_TOLERANCE})")
    (pdir / "index.json").write_text(json.dumps({"model": name, "cases": cases, "onnx_replay_max_diff": replay}, indent=1))
    training = {
        "checkpoint": label or (str(checkpoint.relative_to(REPO)) if REPO in checkpoint.parents else str(checkpoint)),
        "weights": "EMA",
        "step": ck.get("step"),
        "wall_minutes": round(_elapsed(checkpoint, ck) / 60, 1),
        "data": "../shared/data/train, all 8 tasks (validation split held out: fccf_train.split, sha256 of <TASK>/<name> mod 100 < 10"
                + (f", topped up to min({args['val_min']}, a fifth of the task) per task)" if args.get("val_min") else ")"),
        "hardware": "2 shared CPU cores (PyTorch 1.13 CPU)",
        "args": {k: args.get(k) for k in ("steps", "batch", "crop", "lr", "weighting", "seed", "subset", "val_min", "mask_target", "focus_weight",
                                                   "freeze_encoder", "tune_embedding", "weight", "fresh_denoiser", "diffusion_input", "x0_fusion", "low_t_share", "x0_edge") if k in args},
    }
    lineage = _lineage(args)
    if lineage:
        training["initialised_from"] = lineage
        minutes = [x["wall_minutes"] for x in lineage]
        if all(isinstance(m, float) for m in minutes):
            training["total_wall_minutes"] = round(float(training["wall_minutes"]) + sum(minutes), 1)  # type: ignore[arg-type]
    quality: dict[str, object] = {"strength_selection": "validation split (strategy, strength and classical pre-registration per task); candidates and scores in training/reports/strengths.json"}
    missing = []
    for part in ("fusion", "diffusion", "registration", "rl_vs_fixed"):
        rep, md = _report(reports, part), _markdown(reports, part)
        if rep is None:
            missing.append(part)
            continue
        quality[part] = {"tables_markdown": md, "summary": _summary(part, rep)}
    if missing:
        quality["missing"] = missing
    quality["misses"] = gate_misses(reports)
    full = enc_ms + den_ms
    if full > 40.0 or den_ms > 20.0:
        quality["misses"].append(  # type: ignore[union-attr]
            f"speed at 640x480: encoder {enc_ms:.1f} ms + denoiser step {den_ms:.1f} ms = {full:.1f} ms per full forward; "
            "budget 40 ms per full forward and 20 ms per denoiser step")
    if denoise:
        quality["denoise_selection"] = (
            "validation split with Gaussian noise on both sources: per task and noise level the strength (0 = the composite) "
            "of the highest mean PSNR to the clean-source composite (training/reports/diffusion-val.{json,md}); "
            "fccf fuse --denoise takes the level nearest the sources' estimated noise")
    card = build_card(name, graphs, model, strengths, steps, measured, training, quality, default_strategies=strategies,
                      default_registers=registers, max_strength=max_strength, denoise=denoise)
    card["parity_fixtures"] = {"dir": "parity", "cases": cases, "python_reference": "training/fccf_train/infer.py"}
    write_card(out / f"{name}.json", card)
    log(f"wrote {out / (name + '.json')} ({len(cases)} parity cases, {size / 1e6:.2f} MB of ONNX)")
    return card


def denoise_rules(reports: Path, checkpoint: Path, max_strength: float) -> dict[str, list[dict[str, float]]] | None:
    """Per task, the card's ``denoise`` rule: for each noise level of the validation report
    (`robustness diffusion --split val`), the strength chosen there (0 = the composite), if that report
    exists; it must be of this checkpoint and within its max_strength."""
    rep = _report(reports, "diffusion-val")
    if rep is None:
        return None
    named = Path(str(rep["checkpoint"]))
    # the report names the checkpoint as given on the command line, usually relative to training/
    candidates = {named.resolve(), (REPO / "training" / named).resolve()} if not named.is_absolute() else {named.resolve()}
    if checkpoint.resolve() not in candidates:
        raise ValueError(f"{reports / 'diffusion-val.json'} is of {rep['checkpoint']}, not {checkpoint}: "
                         "rerun `robustness diffusion --split val` for this checkpoint")
    out = rules_from_report(rep)
    over = {t: [r["strength"] for r in rows if r["strength"] > max_strength] for t, rows in out.items()}
    over = {t: v for t, v in over.items() if v}
    if over:
        raise ValueError(f"{reports / 'diffusion-val.json'}: strengths {over} exceed the model's max_strength {max_strength}")
    return out


def _test_crops(task: str, idx: int, box: tuple[int, int, int, int]):  # type: ignore[no-untyped-def]
    """The test pair ``idx`` of ``task`` and its two crops ``box`` = (y, x, h, w)."""
    p = list_pairs(SHARED / "data" / "test", task)[idx]
    return p, crop(load_image(p.path_a), *box), crop(load_image(p.path_b), *box)


def write_parity_case(model: FusionNet, pdir: Path, task: str, idx: int, box: tuple[int, int, int, int], strength: float,
                      n_steps: int, seed: int, strategy: str, register: str | None) -> str:
    """One parity case from a crop of a test pair; returns its folder name."""
    p, a, b = _test_crops(task, idx, box)
    y, x, h, w = box
    cid = f"{task.lower()}-{p.name}-{strategy}-s{strength:g}-n{n_steps}" + (f"-{register}" if register else "")
    write_case(model, pdir / cid, a, b, task, strength, n_steps, seed,
               note=f"crop {w}x{h} at ({x},{y}) of test/{task}/{p.name}", strategy=strategy, register=register)
    return cid


def write_denoise_case(model: FusionNet, pdir: Path, rule: list[dict[str, float]], strategy: str,
                       register: str | None) -> str:
    """The DENOISE_CASE fixture: noisy crops, strength from the rule and their noise estimate."""
    task, idx, y, x, h, w, sigma, n_steps, seed = DENOISE_CASE
    p, a, b = _test_crops(task, idx, (y, x, h, w))
    rng = np.random.default_rng(seed)
    a, b = add_noise(a, sigma, rng), add_noise(b, sigma, rng)
    strength, _ = denoise_strength(rule, a, b)
    cid = f"{task.lower()}-{p.name}-{strategy}-denoise{sigma:g}-s{strength:g}-n{n_steps}"
    write_case(model, pdir / cid, a, b, task, strength, n_steps, seed, strategy=strategy, register=register, denoise=True,
               note=f"crop {w}x{h} at ({x},{y}) of test/{task}/{p.name}, Gaussian noise std {sigma:g} added to both "
                    "(seeded), strength from the card's denoise rule")
    return cid


def gate_misses(reports: Path) -> list[str]:
    """One plain sentence per missed gate, with the margin."""
    out: list[str] = []
    fus = _report(reports, "fusion")
    if fus:
        for t, r in fus["tasks"].items():  # type: ignore[union-attr]
            for m, v in r["verdict"].items():
                if not v["pass"]:
                    out.append(f"fusion {t}: beats {m} on {v['count']}/8 metrics, gate needs {v['needed']} (short by {v['needed'] - v['count']})")
    reg = _report(reports, "registration")
    if reg:
        for t, r in reg["tasks"].items():  # type: ignore[union-attr]
            s = r["summary"]
            if not s["pass_epe"]:
                out.append(f"registration {t}: EPE reduced by {s['reduction']:.0%} ({s['epe_before']:.2f} -> {s['epe_after']:.2f} px), gate needs 70%")
            if not s["pass_qabf"]:
                ceiling = f" (the true field itself reaches {s['qabf_true_field_ratio']:.1%})" if "qabf_true_field_ratio" in s else ""
                out.append(f"registration {t}: Qabf misaligned/aligned {s['qabf_ratio']:.2%}, gate needs >= 95%{ceiling}")
    dif = _report(reports, "diffusion")
    if dif:
        for t, r in dif["tasks"].items():  # type: ignore[union-attr]
            for lv, row in r["levels"].items():
                if "blur_composite" not in row:  # not a gate level (clean, or informing the denoise rule only)
                    continue
                refs = [(k, v) for k, v in row.items() if k.startswith("refine")]
                if any(v.get("pass") for _, v in refs):
                    continue
                k, best = max(refs, key=lambda kv: kv[1]["psnr"])
                out.append(
                    f"diffusion {t} sigma {lv}/255: best refine ({k}) {best['psnr']:.2f} dB vs composite {row['composite']['psnr']:.2f} dB "
                    f"and blur+composite {row['blur_composite']['psnr']:.2f} dB, Qabf ratio {best['qabf_ratio']:.1%} (gate: beat both, ratio >= 95%)")
    return out


def _summary(part: str, rep: dict[str, object]) -> object:
    tasks = rep.get("tasks", rep)
    if part == "fusion":
        return {t: {"strength": r["strength"], "verdict": {m: f"{v['count']}/8 (need {v['needed']})" for m, v in r["verdict"].items()},
                    "pass": all(v["pass"] for v in r["verdict"].values())} for t, r in tasks.items()}  # type: ignore[union-attr]
    if part == "registration":
        return {t: r["summary"] for t, r in tasks.items()}  # type: ignore[union-attr]
    if part == "diffusion":
        full = all(len(r["pairs"]) == len(list_pairs(SHARED / "data" / "test", t)) for t, r in tasks.items())  # type: ignore[union-attr]
        return {"pairs": {t: len(r["pairs"]) for t, r in tasks.items()},  # type: ignore[union-attr]
                "subset": "the full test split" if full else "a fixed subset of the test split (pairs evenly spaced by name), to fit the CPU budget",
                "reference": "PSNR (peak 255, evaluator greyscale) to the registered composite of the clean sources; Qabf against the clean sources",
                "pass": {t: {lv: any(v.get("pass", False) for k, v in row.items() if k.startswith("refine"))
                             for lv, row in r["levels"].items() if lv != "0"} for t, r in tasks.items()}}  # type: ignore[union-attr]
    return rep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.ship", description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--name", required=True, help="model name: models/<name>.{encoder,denoiser}.onnx and <name>.json")
    ap.add_argument("--out", default=str(REPO / "models"))
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--reports", default=str(REPORTS))
    ap.add_argument("--label", default=None, help="checkpoint name for the card when --checkpoint is a copy")
    args = ap.parse_args(argv)
    try:
        ship(Path(args.checkpoint).resolve(), args.name, Path(args.out), args.steps, Path(args.reports), label=args.label)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"ship: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
