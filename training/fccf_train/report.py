"""Copy a run's small reports into training/reports/ and summarise it (JSON).

Example::

    /usr/bin/python3 -m fccf_train.report runs/r3-rl16 runs/r3-fixed

writes ``reports/<run>-curves.png``, ``reports/<run>-rl_trajectory.{json,png}`` (RL runs) and
``reports/<run>-summary.json`` (steps, wall time, final weights, last validation terms).
"""
from __future__ import annotations

import json
import os
import shutil
import sys

REPORTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reports")


def summarise(run_dir: str) -> dict[str, object]:
    rows = [json.loads(x) for x in open(os.path.join(run_dir, "metrics.jsonl")) if x.strip()]
    train = [r for r in rows if r["kind"] == "train"]
    val = [r for r in rows if r["kind"] == "val"]
    if not train:
        raise ValueError(f"{run_dir}: metrics.jsonl has no training rows yet")
    last = train[-1]
    return {
        "run": os.path.basename(os.path.normpath(run_dir)),
        "steps": last["step"],
        "minutes": round(last["time"] / 60, 1),
        "final_weights": last["weights"],
        "first_val": val[0] if val else None,
        "last_val": val[-1] if val else None,
    }


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python3 -m fccf_train.report <run-dir>...", file=sys.stderr)
        return 2
    os.makedirs(REPORTS, exist_ok=True)
    for run_dir in argv:
        if not os.path.exists(os.path.join(run_dir, "metrics.jsonl")):
            print(f"error: {run_dir}: no metrics.jsonl (not a training run folder)", file=sys.stderr)
            return 2
        name = os.path.basename(os.path.normpath(run_dir))
        for f in ("curves.png", "rl_trajectory.json", "rl_trajectory.png"):
            src = os.path.join(run_dir, f)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(REPORTS, f"{name}-{f}"))
        with open(os.path.join(REPORTS, f"{name}-summary.json"), "w") as fh:
            json.dump(summarise(run_dir), fh, indent=1)
        print(f"{name}: reports written to {REPORTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
