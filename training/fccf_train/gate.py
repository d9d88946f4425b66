"""Quality gate, part 1: default strengths (validation split) and the fusion table (test split).

Fusion gate (issue 4): per task, the default output's 8 metrics against the reference rows of
../shared/REFERENCE-RESULTS.md: beat baseline-mean on >= 6 of 8, baseline-max and IFCNN on >= 4
of 8 each (strictly higher; every metric is higher-is-better).

CLI (writes training/reports/selection.json, strengths.json, fusion.json and fusion.md)::

    /usr/bin/python3 -m fccf_train.gate select --checkpoint runs/main/checkpoint-5000.pt,runs/main/checkpoint.pt
    /usr/bin/python3 -m fccf_train.gate strengths --checkpoint training/runs/main/checkpoint.pt
    /usr/bin/python3 -m fccf_train.gate flow --checkpoint training/runs/main/checkpoint.pt
    /usr/bin/python3 -m fccf_train.gate register --checkpoint training/runs/main/checkpoint.pt
    /usr/bin/python3 -m fccf_train.gate fusion --checkpoint training/runs/main/checkpoint.pt
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .evaluate import Pair, baseline, list_pairs, score_pair
from .images import load_image
from .infer import auto_registers, fuse_images
from .metrics import METRICS_GATE
from .model import FusionNet, ModelConfig
from .split import set_min_pairs, validation_names
from .step import LOW_T_STRENGTH
from .tasks import STRATEGIES, TASKS, task_by_name

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
REPORTS = REPO / "training" / "reports"
REFERENCE = SHARED / "REFERENCE-RESULTS.md"
STRENGTH_CANDIDATES = (0.0, 0.05, 0.1, 0.2, 0.3)
DEFAULT_STEPS = 4
GATE_RULES = {"baseline-mean": 6, "baseline-max": 4, "IFCNN": 4}


def load_model(path: str | Path, use_ema: bool = True) -> FusionNet:
    """FusionNet from a training checkpoint (the EMA weights by default)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no checkpoint here (training writes training/runs/<name>/checkpoint.pt)")
    ck = torch.load(p, map_location="cpu")
    if not isinstance(ck, dict) or "config" not in ck or "model" not in ck:
        raise ValueError(f"{p}: not an fccf training checkpoint (expected keys model, ema, config)")
    model = FusionNet(ModelConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["ema"] if use_ema and ck.get("ema") is not None else ck["model"])
    return model.eval()


def use_checkpoint_split(paths: list[str]) -> int:
    """Apply the validation split the checkpoints were trained with (``--val-min``, recorded in their
    args; 0 before it existed) and return it; checkpoints trained on different splits are refused,
    since one split cannot be held out from all of them."""
    got = set()
    for path in paths:
        ck = torch.load(Path(path), map_location="cpu") if Path(path).is_file() else {}
        got.add(int((ck.get("args") or {}).get("val_min", 0) or 0))
    if len(got) > 1:
        raise ValueError(f"the checkpoints were trained with different validation splits (--val-min {sorted(got)}); compare runs of one split")
    n = got.pop() if got else 0
    set_min_pairs(n)
    return n


def reference_rows(path: Path = REFERENCE) -> dict[str, dict[str, dict[str, float]]]:
    """task -> method -> metric -> value, parsed from REFERENCE-RESULTS.md."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    task = None
    cols: list[str] = []
    for line in path.read_text().splitlines():
        m = re.match(r"^## (\S+)", line)
        if m:
            task = m.group(1)
            out[task] = {}
            continue
        if task and line.startswith("| method"):
            cols = [c.strip() for c in line.strip("|").split("|")]
            continue
        if task and line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[task][cells[0]] = {c: float(v) for c, v in zip(cols[1:], cells[1:])}
    return out


def wins(mine: dict[str, float], ref: dict[str, float]) -> list[str]:
    """Metrics (of the gate's 8) where `mine` is strictly better (all are higher-is-better)."""
    return [m for m in METRICS_GATE if mine[m] > ref[m]]


def validation_counts(got: dict[str, float], refs: dict[str, dict[str, float]]) -> dict[str, object]:
    """Wins of ``got`` over the validation mean and max rules, whether they meet the gate's counts,
    and their total: the score every validation choice compares."""
    wm, wx = len(wins(got, refs["mean"])), len(wins(got, refs["max"]))
    return {"vs_mean": wm, "vs_max": wx, "pass": wm >= GATE_RULES["baseline-mean"] and wx >= GATE_RULES["baseline-max"],
            "wins": wm + wx}


def _split_pairs(root: str | Path, task: str, held_out: bool) -> list[Pair]:
    pairs = list_pairs(root, task)
    val = validation_names(task, [p.name for p in pairs])
    return [p for p in pairs if (p.name in val) == held_out]


def validation_pairs(root: str | Path, task: str) -> list[Pair]:
    """The pairs of one task under a training root that form its validation split."""
    return _split_pairs(root, task, held_out=True)


def training_pairs(root: str | Path, task: str) -> list[Pair]:
    """The pairs of one task under a training root that are not in its validation split."""
    return _split_pairs(root, task, held_out=False)


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}


def evaluate_model(model: FusionNet, pairs: list[Pair], strength: float, steps: int, seed: int = 0,
                   strategy: str | None = None, register: str | None = None) -> dict[str, float]:
    rows = []
    for i, p in enumerate(pairs):
        a, b = load_image(p.path_a), load_image(p.path_b)
        res = fuse_images(model, a, b, p.task, strength, steps, seed=seed + i, strategy=strategy, register=register)
        rows.append(score_pair(res.image, a, b))
    return _mean(rows)


def _tasks(names: list[str] | None) -> list:  # type: ignore[type-arg]
    return [t for t in TASKS if names is None or t.name in names]


def validation_refs(train_root: str | Path, task: str) -> tuple[list[Pair], dict[str, dict[str, float]]]:
    """A task's validation pairs and the mean of the 8 metrics of the mean and max rules on them
    (what every validation choice counts wins against)."""
    pairs = validation_pairs(train_root, task)
    if not pairs:
        raise ValueError(f"{train_root}/{task}: empty validation split")
    refs = {}
    for rule in ("mean", "max"):
        rows = []
        for p in pairs:
            a, b = load_image(p.path_a), load_image(p.path_b)
            rows.append(score_pair(baseline(rule)(a, b), a, b))
        refs[rule] = _mean(rows)
    return pairs, refs


def select_checkpoint(paths: list[str], train_root: str | Path, log=print, tasks: list[str] | None = None,  # type: ignore[no-untyped-def]
                      require_strategies: bool = False) -> dict[str, object]:
    """Model selection on the validation split (never test): each checkpoint's composite (strength 0)
    per task against the validation mean and max rules. Score: tasks meeting the gate's counts on
    validation (>= 6 wins vs mean, >= 4 vs max), then total wins; ties go to the later checkpoint.
    A strategy-conditioned model is scored per task with its better strategy (as its default will be
    chosen on validation too; ties: the task's training default). With ``require_strategies`` only
    strategy-conditioned checkpoints can be selected (the product offers MAX and MEAN for every
    task); the others are still scored, for comparison."""
    refs = {t.name: validation_refs(train_root, t.name) for t in _tasks(tasks)}
    rows: dict[str, object] = {}
    best: tuple[tuple[int, int, int], str] | None = None
    for order, path in enumerate(paths):
        model = load_model(path)
        per_task = {}
        passing = total = 0
        for t in _tasks(tasks):
            pairs, ref = refs[t.name]
            best_t: tuple[tuple[int, int, bool], dict[str, object]] | None = None
            for st in STRATEGIES if model.cfg.strategies else (t.strategy,):
                got = evaluate_model(model, pairs, 0.0, 1, strategy=st)
                c = validation_counts(got, ref)
                key = (int(bool(c["pass"])), int(c["wins"]), st == t.strategy)  # type: ignore[call-overload]
                if best_t is None or key > best_t[0]:
                    best_t = (key, {"vs_mean": c["vs_mean"], "vs_max": c["vs_max"], "strategy": st})
            assert best_t is not None
            passing += best_t[0][0]
            total += best_t[0][1]
            per_task[t.name] = best_t[1]
        eligible = model.cfg.strategies or not require_strategies
        rows[path] = {"passing_tasks": passing, "wins": total, "tasks": per_task, "eligible": eligible}
        log(f"{path}: {passing}/{len(refs)} tasks pass on validation, {total} wins " + " ".join(f"{k} {v['vs_mean']}/{v['vs_max']} ({v['strategy']})" for k, v in per_task.items())
            + ("" if eligible else " (not eligible: one strategy per task)"))
        key = (passing, total, order)
        if eligible and (best is None or key > best[0]):
            best = (key, path)
    if best is None:
        raise ValueError("select: no candidate is strategy-conditioned (--require-strategies); train with --model-config '{\"strategies\": true}'")
    log(f"selected {best[1]}")
    return {"selected": best[1], "require_strategies": require_strategies, "candidates": rows}


def choose_strengths(model: FusionNet, train_root: str | Path, steps: int, log=print, tasks: list[str] | None = None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Per task, the candidate (strategy, strength) whose validation output beats the validation mean
    and max rules on the most metrics (ties: the higher mean of the 8 metrics relative to the rules,
    then the lower strength, then the task's training default strategy). Strategies are candidates
    only for a strategy-conditioned model; otherwise each task keeps its training strategy."""
    out: dict[str, object] = {}
    for t in _tasks(tasks):
        pairs, refs = validation_refs(train_root, t.name)
        best = None
        cand_rows = {}
        strategies = STRATEGIES if model.cfg.strategies else (t.strategy,)
        for st in strategies:
            for s in STRENGTH_CANDIDATES:
                got = evaluate_model(model, pairs, s, steps, strategy=st)
                n_wins = int(validation_counts(got, refs)["wins"])  # type: ignore[call-overload]
                rel = float(np.mean([(got[m] - refs[r][m]) / (abs(refs[r][m]) + 1e-9) for r in refs for m in METRICS_GATE]))
                cand_rows[f"{st} {s}"] = {"strategy": st, "strength": s, "metrics": got, "wins": n_wins, "relative": rel}
                key = (n_wins, rel, -s, st == t.strategy)
                if best is None or key > best[0]:
                    best = (key, st, s)
                log(f"  {t.name} {st} s={s}: wins {n_wins}/16 rel {rel:+.4f}")
        assert best is not None
        out[t.name] = {"strength": best[2], "strategy": best[1], "validation_pairs": len(pairs), "baselines": refs,
                       "candidates": cand_rows}
        log(f"{t.name}: default strategy {best[1]}, strength {best[2]} ({len(pairs)} validation pairs)")
    return out


LOW_T_CANDIDATES = (0.0, 0.001, 0.003, 0.01, 0.02)


def max_strength_of(args: dict[str, object]) -> float:
    """The largest strength a checkpoint's denoiser was trained for: LOW_T_STRENGTH when every sample
    was drawn there (``train --low-t-share 1``; fine-tuned from a full-range denoiser it forgets the
    rest), else 1."""
    return LOW_T_STRENGTH if float(args.get("low_t_share") or 0.0) >= 1.0 else 1.0  # type: ignore[arg-type]


def rechoose_strengths(model: FusionNet, train_root: str | Path, steps: int, strategies: dict[str, str],
                       registers: dict[str, str | None], max_strength: float, log=print,  # type: ignore[no-untyped-def]
                       tasks: list[str] | None = None) -> dict[str, dict[str, object]]:
    """The default strength again, for a new denoiser over the same encoder (``train --freeze-encoder``):
    per task, ``choose_strengths``' rule (wins against the validation mean and max rules, then the
    mean relative margin, then the lower strength) over the candidates within ``max_strength``, at
    the task's chosen strategy, network flow and pre-registration (choices made at strength 0, which
    the encoder alone decides)."""
    cands = [s for s in (STRENGTH_CANDIDATES if max_strength >= 1.0 else LOW_T_CANDIDATES) if s <= max_strength]
    out: dict[str, dict[str, object]] = {}
    for t in _tasks(tasks):
        pairs, refs = validation_refs(train_root, t.name)
        rows: dict[str, object] = {}
        best = None
        for s in cands:
            got = evaluate_model(model, pairs, s, steps, strategy=strategies[t.name], register=registers[t.name])
            n_wins = int(validation_counts(got, refs)["wins"])  # type: ignore[call-overload]
            rel = float(np.mean([(got[m] - refs[r][m]) / (abs(refs[r][m]) + 1e-9) for r in refs for m in METRICS_GATE]))
            rows[str(s)] = {"metrics": got, "wins": n_wins, "relative": rel}
            key = (n_wins, rel, -s)
            if best is None or key > best[0]:
                best = (key, s)
            log(f"  {t.name} s={s}: wins {n_wins}/16 rel {rel:+.4f}")
        assert best is not None
        out[t.name] = {"strength": best[1], "strength_candidates": rows}
        log(f"{t.name}: default strength {best[1]}")
    return out


def read_defaults(path: Path) -> tuple[dict[str, float], dict[str, str]]:
    """(strength, strategy) per task from a strengths.json written by ``choose_strengths``
    (files from before strategies were chosen hold the training strategy implicitly)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: run `python -m fccf_train.gate strengths` first (defaults come from validation)")
    rows = json.loads(path.read_text())["tasks"]
    strengths = {k: float(v["strength"]) for k, v in rows.items()}
    strategies = {k: str(v.get("strategy") or task_by_name(k).strategy) for k, v in rows.items()}
    return strengths, strategies


def read_registers(path: Path) -> dict[str, str | None]:
    """The classical pre-registration per task ("ngf", "auto" or None) from strengths.json (written by
    ``choose_registers``; absent: None)."""
    rows = json.loads(path.read_text())["tasks"] if path.is_file() else {}
    return {t.name: rows.get(t.name, {}).get("register") for t in TASKS}


def read_network_flow(path: Path) -> list[str]:
    """The tasks whose network flow is off (``"network_flow": false`` in strengths.json, written by
    ``choose_strategy_and_flow``; absent: on)."""
    rows = json.loads(path.read_text())["tasks"] if path.is_file() else {}
    return [t.name for t in TASKS if rows.get(t.name, {}).get("network_flow") is False]


def load_at_defaults(checkpoint: str, strengths_json: Path) -> tuple[FusionNet, dict[str, float], dict[str, str], dict[str, str | None]]:
    """The model with the network flow set as strengths.json says, and its per-task default strengths,
    strategies and pre-registrations: what the reports measure the shipped defaults with."""
    model = load_model(checkpoint)
    model.set_network_flow(read_network_flow(strengths_json))
    strengths, strategies = read_defaults(strengths_json)
    return model, strengths, strategies, read_registers(strengths_json)


def write_report(out: Path, stem: str, meta: dict[str, object], markdown: Callable[[dict[str, object]], str],
                 merge: bool = False) -> str:
    """Write ``<stem>.json`` (``meta``, whose ``tasks`` maps task -> rows) and ``<stem>.md`` (``markdown``
    of the tasks); returns the markdown. With ``merge`` (a rerun of some tasks, ``--tasks X --merge``) the
    tasks in ``meta`` replace theirs in the existing report, the others stay, the report's own fields stay
    and ``merged`` records which tasks came from which checkpoint."""
    path = out / f"{stem}.json"
    if merge and path.is_file():
        old = json.loads(path.read_text())
        tasks = {**old["tasks"], **meta["tasks"]}  # type: ignore[dict-item]
        note = {"tasks": list(meta["tasks"]), "checkpoint": meta.get("checkpoint")}  # type: ignore[call-overload]
        meta = {**old, "tasks": {t.name: tasks[t.name] for t in TASKS if t.name in tasks},
                "merged": [*old.get("merged", []), note]}
    path.write_text(json.dumps(meta, indent=1))
    md = markdown(meta["tasks"])  # type: ignore[arg-type]
    (out / f"{stem}.md").write_text(md + "\n")
    return md


MAX_ALIGNED_COST = 0.01
MIN_FLOW_OFF_GAIN = 0.01
MIN_COST_PAIRS = 8


def evenly_spaced(pairs: list[Pair], n: int) -> list[Pair]:
    """At most n of ``pairs``, evenly spaced by position (first and last included), in their order."""
    idx = np.linspace(0, len(pairs) - 1, min(n, len(pairs))).round().astype(int)
    return [pairs[i] for i in sorted(set(idx.tolist()))]


def cost_pairs(train_root: str | Path, task: str) -> tuple[list[Pair], str]:
    """The pairs ``ngf``'s aligned cost is measured on: the validation pairs, topped up to
    ``MIN_COST_PAIRS`` with training pairs evenly spaced by name when there are fewer (PIF has 2; a
    cost on two pairs says little). Returns (pairs, "validation" or "validation+training")."""
    pairs = validation_pairs(train_root, task)
    short = MIN_COST_PAIRS - len(pairs)
    if short <= 0:
        return pairs, "validation"
    extra = training_pairs(train_root, task)
    if not extra:
        return pairs, "validation"
    return pairs + evenly_spaced(extra, short), "validation+training"


def aligned_cost(off: dict[str, float], on: dict[str, float]) -> float:
    """Median relative fall of the eight gate metrics (all higher-is-better) from ``off`` to ``on``:
    0.02 = the middle metric is 2% lower; negative when ``on`` is better. The median, not the mean:
    a metric near zero (SCD of multi-exposure fusions, 0.04-0.2) moves by 100% or more and would
    outweigh the other seven."""
    return float(np.median([(off[k] - on[k]) / max(abs(off[k]), 1e-9) for k in METRICS_GATE]))


def auto_cost(model: FusionNet, train_root: str | Path, task: str, strength: float, steps: int, strategy: str,
              fallback: bool = True) -> tuple[float, str, list[str]]:
    """``aligned_cost`` of ``register="auto"`` against none, measured on the pairs where auto resamples B
    (``infer.auto_registers``), since on the others both outputs are the same bytes: the validation
    pairs where it acts; with none of those and ``fallback``, the training pairs where it acts (the
    network has seen them, but both sides of the comparison use the same network on the same pair);
    0 when it acts on none of the pairs searched. Returns (cost, the split the pairs came from, their
    names): ("validation" | "training", names) or, when it acts nowhere, (the last split searched, [])."""
    splits = ["validation", "training"] if fallback else ["validation"]
    for split in splits:
        pairs = validation_pairs(train_root, task) if split == "validation" else training_pairs(train_root, task)
        acting = [p for p in pairs if auto_registers(load_image(p.path_a), load_image(p.path_b))]
        if acting:
            off = evaluate_model(model, acting, strength, steps, strategy=strategy)
            on = evaluate_model(model, acting, strength, steps, strategy=strategy, register="auto")
            return aligned_cost(off, on), split, [p.name for p in acting]
    return 0.0, splits[-1], []


def choose_registers(model: FusionNet, train_root: str | Path, steps: int, strengths: dict[str, float],
                     strategies: dict[str, str], log=print, tasks: list[str] | None = None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Per task, on the validation split: whether the classical pre-registration becomes the default,
    always (``ngf``) or when it finds a real displacement (``auto``, ``infer.pre_registration_moves``).
    It must cut the end-point error on synthetic misalignments (as the registration gate
    makes them) by at least 10 points more than the network alone, and must not lose fusion quality
    on the pairs as given: neither the gate-count pass nor the total wins against the validation mean
    and max rules (at the task's default strategy and strength) may drop, and the eight gate metrics
    may fall by at most ``MAX_ALIGNED_COST`` (median relative fall) on the pairs the mode changes:
    every validation pair for ``ngf``, topped up with training pairs to ``MIN_COST_PAIRS``
    (``cost_pairs``); the pairs where it acts for ``auto`` (``auto_cost``; a cost averaged over pairs
    it leaves alone, or measured on none, says nothing). The counts alone tie
    too easily on a few validation pairs, and a default that resamples B must not cost users whose
    pairs are already aligned. Of two modes that qualify, the one with the larger EPE reduction wins."""
    from .robustness import _warp_image, misalignment  # robustness imports this module

    out: dict[str, object] = {}
    for t in _tasks(tasks):
        pairs, refs = validation_refs(train_root, t.name)
        st, s = strategies[t.name], strengths[t.name]
        row: dict[str, object] = {}
        for reg in (None, "ngf", "auto"):
            got = evaluate_model(model, pairs, s, steps, strategy=st, register=reg)
            gen = torch.Generator().manual_seed(7000 + t.id)
            e0 = e = 0.0
            for i, p in enumerate(pairs):
                a, b = load_image(p.path_a), load_image(p.path_b)
                g, flow_true = misalignment(a.shape[0], a.shape[1], gen)
                res = fuse_images(model, a, _warp_image(b, g), t.name, s, steps, seed=i, strategy=st, register=reg)
                ft = flow_true[0].numpy()
                e0 += float(np.mean(np.linalg.norm(ft, axis=0)))
                e += float(np.mean(np.linalg.norm(res.flow - ft, axis=0)))
            row[str(reg or "none")] = {**validation_counts(got, refs), "epe_reduction": 1 - e / e0, "metrics": got}
        off = row["none"]
        assert isinstance(off, dict)
        best: str | None = None
        for mode in ("ngf", "auto"):
            on = row[mode]
            assert isinstance(on, dict)
            counts_ok = on["epe_reduction"] >= off["epe_reduction"] + 0.10 and (on["pass"], on["wins"]) >= (off["pass"], off["wins"])
            if mode == "ngf":
                cpairs, where = cost_pairs(train_root, t.name)
                if len(cpairs) == len(pairs):
                    cost = aligned_cost(off["metrics"], on["metrics"])
                else:
                    cost = aligned_cost(evaluate_model(model, cpairs, s, steps, strategy=st),
                                        evaluate_model(model, cpairs, s, steps, strategy=st, register="ngf"))
                names = [p.name for p in cpairs]
            else:  # the training pairs are searched only when the choice depends on them
                cost, where, names = auto_cost(model, train_root, t.name, s, steps, st, fallback=counts_ok)
            on["aligned_cost"], on["cost_pairs"] = cost, {"split": where, "names": names}
            ok = counts_ok and cost <= MAX_ALIGNED_COST
            # of two that qualify, the one that removes more of the misalignment
            if ok and (best is None or on["epe_reduction"] > row[best]["epe_reduction"]):  # type: ignore[index]
                best = mode
            log(f"{t.name}: {mode} {'qualifies' if ok else 'does not qualify'} (EPE reduction {off['epe_reduction']:.0%} -> "
                f"{on['epe_reduction']:.0%}, wins {off['wins']} -> {on['wins']}, pass {off['pass']} -> {on['pass']}, aligned cost {cost:+.1%} "
                f"on {len(names)} {where} pairs)")
        out[t.name] = {"register": best, "validation": row}
        log(f"{t.name}: register {best or 'none'}")
    return out


def choose_strategy_and_flow(model: FusionNet, train_root: str | Path, steps: int, strengths: dict[str, float],
                             strategies: dict[str, str], log=print, tasks: list[str] | None = None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Per task, on the validation pairs as given: the strategy and whether the network's own flow
    stays on, chosen together at the task's strength (they interact: on VI-NIR MEAN loses with the
    flow on and wins with it off). On aligned pairs a flow that drifts only resamples B (multi-focus
    pairs, whose defocus differences look like shifts, move by 0.6 px on average). Candidates: each
    strategy the model knows x (flow on, off); the best meets the gate counts, then has the most
    wins against the validation mean and max rules. On equal counts the incumbent (the strategy of
    ``strategies``, flow on: the network as trained) stays unless a candidate raises the eight gate
    metrics by at least ``MIN_FLOW_OFF_GAIN`` (median relative rise), the larger rise first. With one
    strategy this is the flow rule alone. Runs before ``choose_registers``, which then judges the
    classical stage with these settings."""
    out: dict[str, object] = {}
    before = model.network_flow_off()
    try:
        for t in _tasks(tasks):
            pairs, refs = validation_refs(train_root, t.name)
            s, incumbent = strengths[t.name], strategies[t.name]
            known = STRATEGIES if model.cfg.strategies else (t.strategy,)
            # the incumbent first, so that it is the reference of every gain and wins exact ties
            order = [(incumbent, "on"), (incumbent, "off")] + [(st, f) for st in known if st != incumbent for f in ("on", "off")]
            row: dict[str, dict[str, object]] = {}
            for st, mode in order:
                model.set_network_flow([t.name] if mode == "off" else [])
                got = evaluate_model(model, pairs, s, steps, strategy=st)
                row[f"{st} {mode}"] = {"strategy": st, "network_flow": mode == "on", **validation_counts(got, refs), "metrics": got}
            ref = row[f"{incumbent} on"]["metrics"]
            best_key: tuple[bool, int, float] | None = None
            best = f"{incumbent} on"
            for name, r in row.items():
                gain = -aligned_cost(ref, r["metrics"])  # type: ignore[arg-type]
                r["gain"] = gain
                key = (bool(r["pass"]), int(r["wins"]), gain if gain >= MIN_FLOW_OFF_GAIN else 0.0)  # type: ignore[call-overload]
                if best_key is None or key > best_key:
                    best_key, best = key, name
            chosen = row[best]
            out[t.name] = {"strategy": chosen["strategy"], "strengths_strategy": incumbent, "network_flow": chosen["network_flow"],
                           "network_flow_validation": row}
            log(f"{t.name}: {best} (" + ", ".join(f"{k}: {r['vs_mean']}/{r['vs_max']}, {r['gain']:+.1%}" for k, r in row.items()) + ")")
    finally:
        model.set_network_flow(before)
    return out


def fusion_table(model: FusionNet, test_root: str | Path, strengths: dict[str, float], steps: int, log=print, tasks: list[str] | None = None,  # type: ignore[no-untyped-def]
                 strategies: dict[str, str] | None = None, registers: dict[str, str | None] | None = None) -> dict[str, object]:
    refs = reference_rows()
    out: dict[str, object] = {}
    for t in _tasks(tasks):
        t0 = time.time()
        pairs = list_pairs(test_root, t.name)
        strategy = (strategies or {}).get(t.name)
        register = (registers or {}).get(t.name)
        mine = evaluate_model(model, pairs, strengths[t.name], steps, strategy=strategy, register=register)
        verdict = {}
        for method, need in GATE_RULES.items():
            ref = refs[t.name].get(method)
            if ref is None:
                continue
            w = wins(mine, ref)
            verdict[method] = {"wins": w, "count": len(w), "needed": need, "pass": len(w) >= need}
        out[t.name] = {"pairs": len(pairs), "strength": strengths[t.name], "strategy": strategy or t.strategy, "register": register,
                       "network_flow": t.name not in model.network_flow_off(), "metrics": mine, "verdict": verdict,
                       "seconds": round(time.time() - t0, 1)}
        log(f"{t.name}: " + ", ".join(f"{k} {v['count']}/8" for k, v in verdict.items()))
    return out


def fusion_markdown(res: dict[str, object]) -> str:
    refs = reference_rows()
    cols = METRICS_GATE + ("AG",)
    lines = ["## Fusion gate (test split, default strategy and strength, DPM-Solver++ 2M)", ""]
    summary = ["| task | strategy | strength | vs mean (>= 6) | vs max (>= 4) | vs IFCNN (>= 4) | pass |", "|---|---|---|---|---|---|---|"]
    for task, r in res.items():
        assert isinstance(r, dict)
        v = r["verdict"]
        ok = all(x["pass"] for x in v.values())
        cells = [f"{v[m]['count']}/8" if m in v else "-" for m in GATE_RULES]
        how = r.get("strategy", "-") + (f" + {r['register']} registration" if r.get("register") else "")
        how += ", network flow off" if r.get("network_flow") is False else ""
        summary.append(f"| {task} | {how} | {r['strength']} | " + " | ".join(cells) + f" | {'yes' if ok else 'NO'} |")
    lines += summary + [""]
    for task, r in res.items():
        assert isinstance(r, dict)
        lines += [f"### {task} ({r['pairs']} pairs)", "", "| method | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
        lines.append("| **fccf (ours)** | " + " | ".join(f"{r['metrics'][c]:.3f}" for c in cols) + " |")
        for m in GATE_RULES:
            if m in refs[task]:
                lines.append(f"| {m} | " + " | ".join(f"{refs[task][m][c]:.3f}" for c in cols) + " |")
        lines.append("")
    return "\n".join(lines)


def defaults_markdown(rows: dict[str, dict[str, object]]) -> str:
    """The per-task defaults of a strengths.json (``choose_strengths``, ``choose_strategy_and_flow``,
    ``choose_registers``) with the validation evidence for each, as one table."""
    lines = ["## Defaults chosen on the validation split (`reports/strengths.json`)", "",
             "Register candidates: EPE reduction on synthetic misalignments, gate wins on the pairs as given "
             "(none first), median relative fall of the eight metrics on the pairs the mode changes (`gate.aligned_cost`, `gate.auto_cost`).", "",
             "| task | validation pairs | strategy | strength | network flow | none | ngf | auto | register |",
             "|---|---|---|---|---|---|---|---|---|"]

    def cand(v: dict[str, object]) -> str:
        out = f"{v['epe_reduction']:.0%}, {v['wins']} wins"
        if "aligned_cost" in v:
            where = v.get("cost_pairs") or {}
            assert isinstance(where, dict)
            n = len(where.get("names", []))
            out += f", cost {v['aligned_cost']:+.1%} on {n} {where.get('split', 'validation')} pairs"
        return out

    for task, r in rows.items():
        flow = r.get("network_flow")
        fv = r.get("network_flow_validation") or {}
        assert isinstance(fv, dict)
        if "on" in fv:  # strengths.json files from before strategy and flow were chosen together
            evidence = f" (wins {fv['on']['wins']} -> {fv['off']['wins']} without it)"
        else:
            evidence = " (wins vs mean/max: " + ", ".join(f"{k} {v['vs_mean']}/{v['vs_max']}" for k, v in fv.items()) + ")" if fv else ""
        flow_cell = "-" if flow is None else ("on" if flow else "off") + evidence
        val = r.get("validation") or {}
        assert isinstance(val, dict)
        regs = [cand(val[m]) if m in val else "-" for m in ("none", "ngf", "auto")]
        lines.append(f"| {task} | {r.get('validation_pairs', '-')} | {r.get('strategy', '-')} | {r.get('strength', '-')} | {flow_cell} | "
                     + " | ".join(regs) + f" | {r.get('register') or 'none'} |")
    return "\n".join(lines)


def rl_comparison(models: dict[str, FusionNet], test_root: str | Path, strengths: dict[str, float], steps: int, log=print,  # type: ignore[no-untyped-def]
                  strategies: dict[str, str] | None = None) -> dict[str, object]:
    """Test-split metrics of several checkpoints (e.g. RL vs fixed loss weights) at the same strategies and strengths,
    without the classical pre-registration (it is a per-task engine default, not part of what the runs learned)."""
    refs = reference_rows()
    out: dict[str, object] = {}
    for t in TASKS:
        pairs = list_pairs(test_root, t.name)
        row: dict[str, object] = {}
        for label, model in models.items():
            got = evaluate_model(model, pairs, strengths[t.name], steps, strategy=(strategies or {}).get(t.name))
            row[label] = {"metrics": got, "wins_vs_mean": len(wins(got, refs[t.name]["baseline-mean"])),
                          "wins_vs_max": len(wins(got, refs[t.name]["baseline-max"]))}
            log(f"{t.name} {label}: " + " ".join(f"{m} {got[m]:.3f}" for m in METRICS_GATE))
        out[t.name] = row
    return out


def rl_markdown(res: dict[str, object]) -> str:
    cols = METRICS_GATE
    lines = ["## RL loss weighting vs fixed weights (test split, same strategies, strengths and sampler; the network's "
             "own flow only, without the classical pre-registration, so the two runs differ only in their weights)", "",
             "| task | run | " + " | ".join(cols) + " | wins vs mean | wins vs max |", "|---|---|" + "---|" * (len(cols) + 2)]
    for task, row in res.items():
        assert isinstance(row, dict)
        for label, r in row.items():
            lines.append(f"| {task} | {label} | " + " | ".join(f"{r['metrics'][c]:.3f}" for c in cols)
                         + f" | {r['wins_vs_mean']}/8 | {r['wins_vs_max']}/8 |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fccf_train.gate", description=__doc__.split("\n\n")[0])
    ap.add_argument("part", choices=["select", "strengths", "restrength", "flow", "register", "fusion", "rl"],
                    help="restrength: only the default strength again, for a denoiser trained over the same (frozen) encoder")
    ap.add_argument("--checkpoint", required=True, help="select: comma-separated candidates")
    ap.add_argument("--train", default=str(SHARED / "data" / "train"))
    ap.add_argument("--test", default=str(SHARED / "data" / "test"))
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--out", default=str(REPORTS))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--tasks", default=None, help="comma-separated subset of tasks (dry runs; the gate uses all)")
    ap.add_argument("--merge", action="store_true",
                    help="fusion: the --tasks rows replace theirs in the existing report instead of rewriting it")
    ap.add_argument("--compare", default=None, help="rl: the fixed-weight checkpoint to compare with --checkpoint")
    ap.add_argument("--require-strategies", action="store_true",
                    help="select: only strategy-conditioned checkpoints (MAX and MEAN per task) can be selected")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = args.tasks.split(",") if args.tasks else None
    try:
        use_checkpoint_split(args.checkpoint.split(",") + ([args.compare] if args.compare else []))
        if args.part == "select":
            res = select_checkpoint(args.checkpoint.split(","), args.train, tasks=tasks, require_strategies=args.require_strategies)
            (out / "selection.json").write_text(json.dumps(res, indent=1))
            return 0
        model = load_model(args.checkpoint)
        if args.part == "strengths":
            res = choose_strengths(model, args.train, args.steps, tasks=tasks)
            (out / "strengths.json").write_text(json.dumps({"checkpoint": args.checkpoint, "steps": args.steps, "tasks": res}, indent=1))
        else:
            st, strat = read_defaults(out / "strengths.json")
            regs = read_registers(out / "strengths.json")
            if args.part != "rl":  # the RL comparison is of the networks as trained
                model.set_network_flow(read_network_flow(out / "strengths.json"))
        if args.part == "restrength":
            sj = out / "strengths.json"
            doc = json.loads(sj.read_text())
            ck_args = torch.load(args.checkpoint, map_location="cpu").get("args") or {}
            res = rechoose_strengths(model, args.train, args.steps, strat, regs, max_strength_of(ck_args), tasks=tasks)
            for task, r in res.items():
                doc["tasks"][task].update(r)
            doc["strength_checkpoint"] = args.checkpoint
            sj.write_text(json.dumps(doc, indent=1))
        choose = {"flow": choose_strategy_and_flow, "register": choose_registers}.get(args.part)
        if choose is not None:  # per-task defaults chosen on validation, added to strengths.json
            sj = out / "strengths.json"
            doc = json.loads(sj.read_text())
            if args.part == "flow":  # its incumbent is the strategy `gate strengths` chose, also when rerun
                strat = {k: str(v.get("strengths_strategy", strat[k])) for k, v in doc["tasks"].items()}
            for task, r in choose(model, args.train, args.steps, st, strat, tasks=tasks).items():
                doc["tasks"][task].update(r)  # type: ignore[union-attr]
            sj.write_text(json.dumps(doc, indent=1))
        if args.part in ("strengths", "restrength", "flow", "register"):
            (out / "defaults.md").write_text(defaults_markdown(json.loads((out / "strengths.json").read_text())["tasks"]) + "\n")
        if args.part == "rl":
            if not args.compare:
                raise ValueError("rl: pass --compare <fixed-weight checkpoint>")
            res = rl_comparison({"RL weighting": model, "fixed weights": load_model(args.compare)}, args.test, st, args.steps, strategies=strat)
            meta = {"checkpoints": {"RL weighting": args.checkpoint, "fixed weights": args.compare}, "steps": args.steps, "tasks": res}
            (out / "rl_vs_fixed.json").write_text(json.dumps(meta, indent=1))
            md = rl_markdown(res)
            (out / "rl_vs_fixed.md").write_text(md + "\n")
            print(md)
        elif args.part == "fusion":
            res = fusion_table(model, args.test, st, args.steps, tasks=tasks, strategies=strat, registers=regs)
            print(write_report(out, "fusion", {"checkpoint": args.checkpoint, "steps": args.steps, "tasks": res},
                               fusion_markdown, merge=args.merge))
    except (FileNotFoundError, ValueError) as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
