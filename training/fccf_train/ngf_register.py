"""A classical registration baseline for the registration gate: ``ngf.register_ngf`` (normalised
gradient fields) on the gate's own misalignments.

Not part of the default output (inference runs it only when asked: ``register="ngf"``): it
measures what a non-learned, content-based registration of B onto A reaches on the gate's own misalignments (same pairs, same seeds as ``robustness.registration_table``),
so the learned branch has a reference, and it shows where the gate can be met at all (see
``pair_alignment``: content alignment differs from the datasets' own for VI-IR, SPECT- and PET-MRI).

CLI (writes training/reports/registration-ngf-baseline.{json,md})::

    /usr/bin/python3 -m fccf_train.ngf_register --pairs 1000
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .gate import REPORTS, SHARED
from .images import evaluator_grey, load_image
from .ngf import register_ngf
from .robustness import _subset, _warp_image, misalignment
from .tasks import TASKS


def baseline_table(test_root: str, n_pairs: int, log=print) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out: dict[str, object] = {}
    for t in TASKS:
        gen = torch.Generator().manual_seed(20261125 + t.id)  # as robustness.registration_table
        rows = []
        t0 = time.time()
        for p in _subset(test_root, t.name, n_pairs):
            a, b = load_image(p.path_a), load_image(p.path_b)
            g, flow_true = misalignment(a.shape[0], a.shape[1], gen)
            b_mis = _warp_image(b, g)
            ga = evaluator_grey(a) / 255
            flow = register_ngf(ga, evaluator_grey(b_mis) / 255)
            drift = register_ngf(ga, evaluator_grey(b) / 255)  # the original pair, as given
            ft = flow_true[0].numpy()
            rows.append({"pair": p.name, "epe0": float(np.mean(np.linalg.norm(ft, axis=0))),
                         "epe": float(np.mean(np.linalg.norm(flow - ft, axis=0))),
                         "drift": float(np.mean(np.linalg.norm(drift, axis=0)))})
        epe0 = float(np.mean([r["epe0"] for r in rows]))
        epe = float(np.mean([r["epe"] for r in rows]))
        out[t.name] = {"pairs": rows, "summary": {"epe_before": epe0, "epe_after": epe, "reduction": 1 - epe / epe0,
                                                  "drift_on_original": float(np.mean([r["drift"] for r in rows])),
                                                  "seconds_per_pair": (time.time() - t0) / (2 * len(rows))}}
        log(f"{t.name}: EPE {epe0:.2f} -> {epe:.2f} px ({1 - epe / epe0:.0%})")
    return out


def baseline_markdown(res: dict[str, object]) -> str:
    lines = ["## Registration baseline: classical NGF (not the model), same misalignments as the gate", "",
             "`python -m fccf_train.ngf_register` (`ngf.register_ngf`: 4x4 control grid, Adam in float64, 1/4, 1/2 then full resolution,",
             "neighbour smoothness 3e-5 chosen on training pairs); compare the",
             "learned flow's rows in registration.md.", "",
             "Drift: mean |flow| on the original pair (see pair-alignment.md for which test sets are aligned).", "",
             "| task | pairs | EPE before (px) | EPE after (px) | reduction | drift on original (px) | s per run |",
             "|---|---|---|---|---|---|---|"]
    for task, r in res.items():
        s = r["summary"]  # type: ignore[index]
        lines.append(f"| {task} | {len(r['pairs'])} | {s['epe_before']:.2f} | {s['epe_after']:.2f} | "  # type: ignore[index]
                     f"{s['reduction']:.0%} | {s['drift_on_original']:.2f} | {s['seconds_per_pair']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.ngf_register", description=__doc__.split("\n\n")[0])
    ap.add_argument("--test", default=str(SHARED / "data" / "test"))
    ap.add_argument("--pairs", type=int, default=6, help="fixed subset size per task (1000 = all)")
    ap.add_argument("--out", default=str(REPORTS))
    args = ap.parse_args(argv)
    try:
        res = baseline_table(args.test, args.pairs)
    except (FileNotFoundError, ValueError) as exc:
        print(f"ngf_register: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = baseline_markdown(res)
    (out / "registration-ngf-baseline.json").write_text(json.dumps({"pairs_per_task": args.pairs, "tasks": res}, indent=1))
    (out / "registration-ngf-baseline.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
