"""Ship rule: should a retrained checkpoint replace the shipped one? Decided on validation, never test.

Both models run at their own defaults (strategy, strength, pre-registration, network flow: each
model's strengths.json) on the candidate's validation split, and each task is scored as the gate
scores it (wins over the validation mean and max rules; a task passes with >= 6 and >= 4). The
candidate replaces the current model when it passes at least as many tasks and, on a tie, has at
least as many wins. The split is the candidate's because it is held out from the candidate; the
current model may have trained on part of it, a bias in its favour, never against it.

CLI (writes compare.json and compare.md to --out)::

    /usr/bin/python3 -m fccf_train.compare \\
        --candidate runs/s13-val16-focus/checkpoint-3500.pt --candidate-strengths reports/strengths.json \\
        --current runs/s9-focus/checkpoint-3500.pt --current-strengths reports/s9-focus-strengths.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from . import gate
from .tasks import TASKS


def validation_score(model: gate.FusionNet, strengths: Path, refs: dict[str, tuple[list[gate.Pair], dict[str, dict[str, float]]]],
                     steps: int, log=print) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """One model at the defaults of ``strengths`` on the validation pairs of ``refs`` (task ->
    ``gate.validation_refs``): per task the wins over the validation mean and max rules, whether it
    meets the gate's counts, and its metrics."""
    st, strat = gate.read_defaults(strengths)
    regs = gate.read_registers(strengths)
    model.set_network_flow(gate.read_network_flow(strengths))
    rows: dict[str, object] = {}
    for task, (pairs, rule_means) in refs.items():
        got = gate.evaluate_model(model, pairs, st[task], steps, strategy=strat[task], register=regs[task])
        c = gate.validation_counts(got, rule_means)
        rows[task] = {**c, "pairs": len(pairs), "metrics": got}
        log(f"  {task}: {c['vs_mean']}/8 vs mean, {c['vs_max']}/8 vs max on {len(pairs)} validation pairs")
    return {"tasks": rows, "passed": sum(bool(r["pass"]) for r in rows.values()),  # type: ignore[index]
            "wins": sum(int(r["wins"]) for r in rows.values())}  # type: ignore[index]


def compare(candidate: str, candidate_strengths: Path, current: str, current_strengths: Path,
            train_root: str | Path, steps: int = gate.DEFAULT_STEPS, tasks: list[str] | None = None,
            log=print) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Both models scored on the candidate's validation split; ``ship_candidate`` applies the rule.

    Example::

        res = compare("runs/new/checkpoint.pt", Path("reports/strengths.json"),
                      "runs/old/checkpoint.pt", Path("old-strengths.json"), "../shared/data/train")
        res["ship_candidate"]  # -> True when the new model passes as many tasks with as many wins
    """
    val_min = gate.use_checkpoint_split([candidate])
    # the rules' scores on the split are the same for both models: computed once
    refs = {t.name: gate.validation_refs(train_root, t.name) for t in TASKS if tasks is None or t.name in tasks}
    scores = {}
    for label, ck, sj in (("candidate", candidate, candidate_strengths), ("current", current, current_strengths)):
        log(f"{label}: {ck} at the defaults of {sj}")
        scores[label] = dict(checkpoint=ck, strengths=str(sj), **validation_score(gate.load_model(ck), sj, refs, steps, log))
    new, old = scores["candidate"], scores["current"]
    ship = (new["passed"], new["wins"]) >= (old["passed"], old["wins"])
    log(f"candidate {new['passed']} tasks / {new['wins']} wins, current {old['passed']} / {old['wins']}: "
        + ("ship the candidate" if ship else "keep the current model"))
    return {"val_min": val_min, "steps": steps, "rule": "candidate passes >= as many validation gate tasks, then has >= as many wins",
            "candidate": new, "current": old, "ship_candidate": ship}


def compare_markdown(res: dict[str, object]) -> str:
    """The comparison as one table: tasks passed, wins, and per task wins vs mean / vs max."""
    names = list(res["candidate"]["tasks"])  # type: ignore[index]
    lines = ["| model | tasks passed | wins (vs mean + vs max) | " + " | ".join(names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for label in ("current", "candidate"):
        r = res[label]
        assert isinstance(r, dict)
        cells = " | ".join(f"{r['tasks'][n]['vs_mean']}/{r['tasks'][n]['vs_max']}" for n in names)
        lines.append(f"| {label} (`{r['checkpoint']}`) | {r['passed']} | {r['wins']} | {cells} |")
    lines.append("")
    lines.append(f"Validation split: --val-min {res['val_min']} (the candidate's). Verdict: "
                 + ("ship the candidate." if res["ship_candidate"] else "keep the current model."))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidate", required=True, help="the retrained checkpoint")
    ap.add_argument("--candidate-strengths", required=True, help="its strengths.json (gate strengths/flow/register)")
    ap.add_argument("--current", required=True, help="the shipped model's checkpoint")
    ap.add_argument("--current-strengths", required=True, help="the strengths.json it was shipped with")
    ap.add_argument("--train", default=str(gate.SHARED / "data" / "train"))
    ap.add_argument("--steps", type=int, default=gate.DEFAULT_STEPS)
    ap.add_argument("--out", default=str(gate.REPORTS))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--tasks", default=None, help="comma-separated subset of tasks (dry runs; the rule uses all)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    try:
        for p in (args.candidate_strengths, args.current_strengths):
            if not Path(p).is_file():
                raise FileNotFoundError(f"{p}: no strengths.json here (written by `python -m fccf_train.gate strengths`)")
        res = compare(args.candidate, Path(args.candidate_strengths), args.current, Path(args.current_strengths), args.train,
                      args.steps, args.tasks.split(",") if args.tasks else None)
    except (FileNotFoundError, ValueError) as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(res, indent=1))
    md = compare_markdown(res)
    (out / "compare.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
