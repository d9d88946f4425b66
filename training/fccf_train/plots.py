"""PNG plots of training curves and of the RL weight / reward trajectory (matplotlib, Agg backend)."""
from __future__ import annotations

import json
import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _smooth(v: list[float], k: int = 20) -> list[float]:
    out, acc = [], 0.0
    for i, x in enumerate(v):
        acc = x if i == 0 else 0.95 * acc + 0.05 * x
        out.append(acc)
    return out


def plot_curves(metrics_jsonl: str, out_png: str, title: str) -> None:
    rows = [json.loads(line) for line in open(metrics_jsonl) if line.strip()]
    train = [r for r in rows if r.get("kind") == "train"]
    val = [r for r in rows if r.get("kind") == "val"]
    if not train:
        return
    terms = [k for k in ("diff", "ssim", "grad", "int", "flow", "epe") if k in train[0]]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for k in terms:
        axes[0].plot([r["step"] for r in train], _smooth([r[k] for r in train]), label=k)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_title(f"{title}: training terms (unweighted, smoothed)")
    axes[0].legend()
    for k in terms:
        if val and k in val[0]:
            axes[1].plot([r["step"] for r in val], [r[k] for r in val], marker="o", label=k)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("step")
    axes[1].set_title("validation terms (fixed crops, EMA weights)")
    if val:
        axes[1].legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(out_png) or ".", exist_ok=True)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def plot_rl(trajectory: list[dict[str, Any]], names: list[str], out_png: str) -> None:
    if not trajectory:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    steps = [r["step"] for r in trajectory]
    for i, n in enumerate(names):
        axes[0].plot(steps, [r["new_weights"][i] for r in trajectory], label=n)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_title("loss-term weights chosen by the policy")
    axes[0].legend()
    rs = [(r["step"], r["reward"], r["baseline"]) for r in trajectory if "reward" in r]
    if rs:
        axes[1].plot([x[0] for x in rs], [x[1] for x in rs], ".", alpha=0.5, label="reward")
        axes[1].plot([x[0] for x in rs], [x[2] for x in rs], label="baseline")
    ax2 = axes[1].twinx()
    ax2.plot(steps, [r["sigma"] for r in trajectory], "k--", label="policy sigma")
    ax2.set_ylabel("sigma (exploration)")
    axes[1].set_xlabel("step")
    axes[1].set_title("reward, baseline and exploration")
    axes[1].legend(loc="upper left")
    fig.tight_layout()
    os.makedirs(os.path.dirname(out_png) or ".", exist_ok=True)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
