"""A classical registration baseline for the registration gate: normalised gradient fields (NGF).

Not part of the model: it measures what a non-learned, content-based registration of B onto A
reaches on the gate's own misalignments (same pairs, same seeds as ``robustness.registration_table``),
so the learned branch has a reference, and it shows where the gate can be met at all (see
``pair_alignment``: content alignment differs from the datasets' own for VI-IR, SPECT- and PET-MRI).

Method: the flow is a bilinear interpolation of a ``grid`` x ``grid`` control grid (which holds any
affine map exactly); Adam maximises the mean squared cosine between the gradient fields of A and of
warped B, ``(<dA, dB> / (|dA|_e |dB|_e))^2`` with ``|v|_e = sqrt(|v|^2 + e^2)`` and e a fraction of
A's mean gradient, on a Gaussian pyramid (1/4 then 1/2 resolution). Pixels where either image is
saturated (< 3% or > 97% of full scale) are left out, since they carry no gradient.

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
import torch.nn.functional as F

from .gate import REPORTS, SHARED
from .images import evaluator_grey, load_image
from .robustness import _subset, _warp_image, misalignment
from .tasks import TASKS
from .warp import warp


def _grad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    gx = F.pad(x[..., :, 2:] - x[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
    gy = F.pad(x[..., 2:, :] - x[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
    return gx, gy


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = int(3 * sigma + 0.5)
    k = torch.exp(-torch.arange(-r, r + 1.0) ** 2 / (2 * sigma * sigma))
    k = k / k.sum()
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))


def register_ngf(a: np.ndarray, b: np.ndarray, grid: int = 4, iters: int = 100, eps_factor: float = 0.5) -> np.ndarray:
    """Flow [2, H, W] (pixels, dx then dy) with b(p + flow(p)) ~ a(p), for 8-bit grey a and b."""
    ta = torch.from_numpy(a.astype(np.float32) / 255)[None, None]
    tb = torch.from_numpy(b.astype(np.float32) / 255)[None, None]
    h, w = a.shape
    ctrl = torch.zeros(1, 2, grid, grid, requires_grad=True)
    for scale, n_iter in ((4, iters), (2, iters // 2)):
        hs, ws = max(h // scale, 8), max(w // scale, 8)
        sa = F.interpolate(_blur(ta, scale / 2), size=(hs, ws), mode="area")
        sb = F.interpolate(_blur(tb, scale / 2), size=(hs, ws), mode="area")
        gx, gy = _grad(sa)
        eps = eps_factor * float(torch.sqrt(gx * gx + gy * gy).mean()) + 1e-6
        na = torch.sqrt(gx * gx + gy * gy + eps * eps)
        nax, nay = gx / na, gy / na
        opt = torch.optim.Adam([ctrl], lr=0.3 / scale)
        for _ in range(n_iter):
            flow = F.interpolate(ctrl, size=(hs, ws), mode="bilinear", align_corners=True) / scale
            bw = warp(sb, flow)
            bx, by = _grad(bw)
            nb = torch.sqrt(bx * bx + by * by + eps * eps)
            valid = ((sa > 0.03) & (sa < 0.97) & (bw > 0.03) & (bw < 0.97)).float()
            loss = -(((nax * bx + nay * by) / nb) ** 2 * valid).sum() / (valid.sum() + 1)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return F.interpolate(ctrl, size=(h, w), mode="bilinear", align_corners=True)[0].numpy()


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
            flow = register_ngf(evaluator_grey(a), evaluator_grey(b_mis))
            ft = flow_true[0].numpy()
            rows.append({"pair": p.name, "epe0": float(np.mean(np.linalg.norm(ft, axis=0))),
                         "epe": float(np.mean(np.linalg.norm(flow - ft, axis=0)))})
        epe0 = float(np.mean([r["epe0"] for r in rows]))
        epe = float(np.mean([r["epe"] for r in rows]))
        out[t.name] = {"pairs": rows, "summary": {"epe_before": epe0, "epe_after": epe, "reduction": 1 - epe / epe0,
                                                  "seconds_per_pair": (time.time() - t0) / len(rows)}}
        log(f"{t.name}: EPE {epe0:.2f} -> {epe:.2f} px ({1 - epe / epe0:.0%})")
    return out


def baseline_markdown(res: dict[str, object]) -> str:
    lines = ["## Registration baseline: classical NGF (not the model), same misalignments as the gate", "",
             "`python -m fccf_train.ngf_register` (4x4 control grid, Adam, 1/4 then 1/2 resolution); compare the",
             "learned flow's rows in registration.md.", "",
             "| task | pairs | EPE before (px) | EPE after (px) | reduction | s per pair |", "|---|---|---|---|---|---|"]
    for task, r in res.items():
        s = r["summary"]  # type: ignore[index]
        lines.append(f"| {task} | {len(r['pairs'])} | {s['epe_before']:.2f} | {s['epe_after']:.2f} | "  # type: ignore[index]
                     f"{s['reduction']:.0%} | {s['seconds_per_pair']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.ngf_register", description=__doc__.split("\n\n")[0])
    ap.add_argument("--test", default=str(SHARED / "data" / "test"))
    ap.add_argument("--pairs", type=int, default=6, help="fixed subset size per task (1000 = all)")
    ap.add_argument("--out", default=str(REPORTS))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
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
