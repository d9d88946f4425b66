"""Training loop: single process or DDP under torchrun (gloo on CPU, nccl on GPU).

Run outputs go to ``--out`` (default ``training/runs/<name>``): ``log.txt``, ``metrics.jsonl``,
``checkpoint.pt`` (latest, rewritten every ``--ckpt-minutes``), ``checkpoint-<step>.pt`` snapshots,
``curves.png`` and, with ``--weighting rl``, ``rl_trajectory.json`` / ``rl_trajectory.png``.
Checkpoint keys: ``model`` and ``ema`` (FusionNet state dicts; export the ``ema`` one),
``config`` (ModelConfig dict), ``step``, ``args``, optimiser / RL / RNG state for ``--resume``.

Example::

    /usr/bin/python3 -m fccf_train.train --data /work/shared/data/train --name demo --steps 2000
    torchrun --standalone --nproc_per_node 2 --redirects 1 --tee 1 -m fccf_train.train --data ... --steps 100
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from .data import CropSampler, DataError, list_pairs
from .split import set_min_pairs
from .model import FusionNet, ModelConfig, count_params
from .plots import plot_curves, plot_rl
from .rl import RLWeighting
from .step import DIFFUSION_INPUTS, MASK_TARGETS, TERMS, TrainStep
from .tasks import STRATEGIES, graph_task_id, task_by_name

FIXED_WEIGHTS = {"diff": 2.0, "ssim": 1.0, "grad": 4.0, "int": 2.0, "flow": 1.0}
RUNS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="fccf_train.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="dataset root in the shared layout (e.g. .../data/train)")
    p.add_argument("--name", default="run", help="run name; outputs in training/runs/<name>")
    p.add_argument("--out", default=None, help="output folder (overrides --name)")
    p.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    p.add_argument("--steps", type=int, default=4000, help="schedule length in steps (LR cosine, RL decay)")
    p.add_argument("--minutes", type=float, default=0.0,
                   help="wall-time budget (0 = none); the schedules follow whichever of steps and minutes ends first, "
                        "so only --minutes 0 gives a bit-reproducible run")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weighting", choices=["rl", "fixed"], default="rl")
    p.add_argument("--weight", action="append", default=[], metavar="TERM=W",
                   help=f"override a loss term's base weight ({', '.join(f'{k}={v:g}' for k, v in FIXED_WEIGHTS.items())}); repeatable")
    p.add_argument("--mask-target", choices=list(MASK_TARGETS), default="registered",
                   help="what the fusion losses judge the mask by: A blended with B as registered, with the aligned B, "
                        "aligned plus a focus-map pull on multi-focus pairs, or that plus an exposure pull on multi-exposure pairs (step.TrainStep)")
    p.add_argument("--focus-weight", type=float, default=1.0,
                   help="with --mask-target focus or guided: weight of the mask pulls (losses.focus_mask_loss, losses.exposure_map)")
    p.add_argument("--diffusion-input", choices=list(DIFFUSION_INPUTS), default="registered",
                   help="what x_t is noised from: the noisy composite with B as the network registered it, or with the "
                        "aligned B (input and target then differ only by noise; step.TrainStep)")
    p.add_argument("--x0-fusion", type=float, default=1.0,
                   help="weight of the fusion losses on the denoiser's x0 estimate (0: the diffusion loss alone trains it)")
    p.add_argument("--x0-edge", type=float, default=0.0,
                   help="weight of the edge term (losses.edge_loss) added to the diffusion loss: the x0 estimate's "
                        "Sobel derivatives against the target's")
    p.add_argument("--low-t-share", type=float, default=0.0,
                   help="share of samples at strength 0.02 (t <= 20), where the denoiser removes the sources' noise")
    p.add_argument("--freeze-encoder", action="store_true",
                   help="train only the denoiser: the encoder, and so the strength-0 composite, stays as initialised")
    p.add_argument("--tune-embedding", action="store_true",
                   help="with --tasks and --init: train only those tasks' task-embedding rows (every strategy's); every other "
                        "weight, and every other task's output, stays exactly as initialised")
    p.add_argument("--fresh-denoiser", action="store_true",
                   help="with --init: the denoiser starts from a fresh initialisation (seeded by --seed), the encoder from the checkpoint")
    p.add_argument("--rl-period", type=int, default=25, help="steps between policy decisions")
    p.add_argument("--rl-warmup", type=int, default=10, help="steps before the reference loss levels are taken")
    p.add_argument("--threads", type=int, default=0, help="torch threads per process (0 = torch default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-config", default="{}",
                   help='JSON overrides of the ModelConfig defaults, e.g. \'{"enc": [8, 20, 48]}\'')
    p.add_argument("--ckpt-minutes", type=float, default=3.0)
    p.add_argument("--snapshot-every", type=int, default=500, help="keep checkpoint-<step>.pt every N steps")
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--init", default=None,
                   help="start from this checkpoint's EMA weights (fine-tuning: fresh optimiser, schedule and step count)")
    p.add_argument("--subset", choices=["train", "all"], default="train", help="'train' holds out the validation split")
    p.add_argument("--val-min", type=int, default=0,
                   help="validation pairs per task at least min(N, a fifth of the task) (split.set_min_pairs); 0 = the 10%% rule")
    return p.parse_args(argv)


def base_weights(overrides: list[str]) -> dict[str, float]:
    """FIXED_WEIGHTS with ``TERM=W`` overrides (``--weight flow=0``: a task whose flow is off at inference)."""
    out = dict(FIXED_WEIGHTS)
    for item in overrides:
        term, _, value = item.partition("=")
        if term not in out:
            raise DataError(f"--weight {item}: unknown term {term!r}; known: {', '.join(out)}")
        try:
            w = float(value)
        except ValueError:
            raise DataError(f"--weight {item}: the weight must be a number >= 0, e.g. --weight {term}=0") from None
        if not w >= 0:
            raise DataError(f"--weight {item}: the weight must be a number >= 0, e.g. --weight {term}=0")
        out[term] = w
    return out


def atomic_save(obj: Any, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1
        if self.ddp:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            dist.init_process_group(backend)
            self.rank, self.world = dist.get_rank(), dist.get_world_size()
        else:
            self.rank, self.world = 0, 1
        if args.threads:
            torch.set_num_threads(args.threads)
        self.out = args.out or os.path.join(RUNS_DIR, args.name)
        os.makedirs(self.out, exist_ok=True)
        tasks = args.tasks.split(",") if args.tasks else None
        set_min_pairs(args.val_min)
        pairs = list_pairs(args.data, args.subset, tasks)
        self.sampler = CropSampler(pairs, args.crop, seed=args.seed * 1000 + self.rank)
        val_pairs = list_pairs(args.data, "val", tasks) if args.subset == "train" else pairs
        self.n_pairs = (len(pairs), len(val_pairs) if args.subset == "train" else 0)
        vs = CropSampler(val_pairs, args.crop, seed=12345)
        self.val_batches = [vs.batch(args.batch) for _ in range(4)]
        torch.manual_seed(args.seed)
        init = torch.load(args.init, map_location="cpu") if args.init and not args.resume else None
        resumed = os.path.join(self.out, "checkpoint.pt")
        # a resumed run keeps its own architecture (a fine-tune's comes from its --init, not the defaults)
        own = torch.load(resumed, map_location="cpu")["config"] if args.resume and os.path.exists(resumed) else None
        base_cfg = {**ModelConfig().to_dict(), **(init["config"] if init else own or {})}
        self.net = FusionNet(ModelConfig.from_dict({**base_cfg, **json.loads(args.model_config)}))
        if init:
            self.net.load_for_finetune(init["ema"])
            if args.fresh_denoiser:
                torch.manual_seed(args.seed)
                self.net.denoiser.load_state_dict(FusionNet(self.net.cfg).denoiser.state_dict())
        self.ema = copy.deepcopy(self.net).eval()
        for p_ in self.ema.parameters():
            p_.requires_grad_(False)
        if args.freeze_encoder:
            for p_ in self.net.encoder.parameters():
                p_.requires_grad_(False)
        self.kept_rows: torch.Tensor | None = None
        if args.tune_embedding:
            if not tasks or not args.init:
                raise DataError("--tune-embedding needs --tasks (whose embedding rows are trained) and --init (the model to tune)")
            for p_ in self.net.parameters():
                p_.requires_grad_(False)
            self.net.encoder.task_emb.weight.requires_grad_(True)
            self.kept_rows = torch.ones(self.net.encoder.task_emb.num_embeddings, dtype=torch.bool)
            strategies = STRATEGIES if self.net.cfg.strategies else (None,)
            for name in tasks:
                for st in strategies:
                    self.kept_rows[graph_task_id(task_by_name(name), st, self.net.cfg.strategies)] = False
        self.trained = [p_ for p_ in self.net.parameters() if p_.requires_grad]
        self.ema_pairs = [(pe, pn) for pe, pn in zip(self.ema.parameters(), self.net.parameters()) if pn.requires_grad]
        step_mod = self.train_step(self.net)
        self.step_mod = DDP(step_mod) if self.ddp else step_mod
        self.opt = torch.optim.AdamW(self.trained, lr=args.lr, weight_decay=1e-4)
        self.gen = torch.Generator().manual_seed(args.seed * 1000 + 7 + self.rank)
        self.base_weights = base_weights(args.weight)
        base = [self.base_weights[k] for k in TERMS]
        self.rl = RLWeighting(list(TERMS), base, period=args.rl_period, seed=args.seed,
                              warmup=args.rl_warmup) if args.weighting == "rl" else None
        self.step = 0
        self.elapsed = 0.0
        self.log_f = open(os.path.join(self.out, "log.txt"), "a") if self.rank == 0 else None
        self.metrics_f = open(os.path.join(self.out, "metrics.jsonl"), "a") if self.rank == 0 else None
        if args.resume:
            self.load(os.path.join(self.out, "checkpoint.pt"))
        # the other tasks' rows, restored after every update: AdamW's decay and the EMA's arithmetic would
        # otherwise move them by rounding
        self.kept_values = self.net.encoder.task_emb.weight.detach().clone() if self.kept_rows is not None else None

    def log(self, msg: str) -> None:
        if self.rank == 0 and self.log_f:
            line = f"{time.strftime('%H:%M:%S')} {msg}"
            print(line, flush=True)
            self.log_f.write(line + "\n")
            self.log_f.flush()

    def weights(self) -> torch.Tensor:
        return self.rl.weights() if self.rl else torch.tensor([self.base_weights[k] for k in TERMS])

    def progress(self) -> float:
        p = self.step / self.args.steps
        if self.args.minutes:
            p = max(p, self.elapsed / (self.args.minutes * 60))
        return min(p, 1.0)

    def lr_at(self, step: int) -> float:
        warm = 100
        if step < warm:
            return self.args.lr * (step + 1) / warm
        return self.args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * self.progress())))

    def state(self) -> dict[str, Any]:
        return {
            "model": self.net.state_dict(), "ema": self.ema.state_dict(), "config": self.net.cfg.to_dict(),
            "opt": self.opt.state_dict(), "step": self.step, "elapsed": self.elapsed, "args": vars(self.args),
            "rl": self.rl.state_dict() if self.rl else None, "gen": self.gen.get_state(),
            "sampler_rng": self.sampler.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
        }

    def load(self, path: str) -> None:
        if not os.path.exists(path):
            raise DataError(f"{path}: no checkpoint to resume from; run without --resume first")
        ck = torch.load(path, map_location="cpu")
        self.net.load_state_dict(ck["model"])
        self.ema.load_state_dict(ck["ema"])
        self.opt.load_state_dict(ck["opt"])
        self.step, self.elapsed = ck["step"], ck["elapsed"]
        if self.rl and ck["rl"]:
            self.rl.load_state_dict(ck["rl"])
        if self.rank == 0:
            self.gen.set_state(ck["gen"])
            self.sampler.rng.bit_generator.state = ck["sampler_rng"]
            torch.set_rng_state(ck["torch_rng"])
        self.log(f"resumed from {path} at step {self.step}")

    def save(self) -> None:
        if self.rank != 0:
            return
        st = self.state()
        atomic_save(st, os.path.join(self.out, "checkpoint.pt"))
        if self.step % self.args.snapshot_every == 0:
            atomic_save({k: st[k] for k in ("model", "ema", "config", "step", "elapsed", "args")},
                        os.path.join(self.out, f"checkpoint-{self.step}.pt"))
        self.write_reports()

    def write_reports(self) -> None:
        if self.rank != 0:
            return
        plot_curves(os.path.join(self.out, "metrics.jsonl"), os.path.join(self.out, "curves.png"),
                    f"{os.path.basename(self.out)} ({self.args.weighting})")
        if self.rl:
            with open(os.path.join(self.out, "rl_trajectory.json"), "w") as f:
                json.dump({"terms": list(TERMS), "base_weights": self.rl.base.tolist(),
                           "trajectory": self.rl.trajectory}, f)
            plot_rl(self.rl.trajectory, list(TERMS), os.path.join(self.out, "rl_trajectory.png"))

    def train_step(self, net: FusionNet) -> TrainStep:
        a = self.args
        return TrainStep(net, mask_target=a.mask_target, focus_weight=a.focus_weight, diffusion_input=a.diffusion_input,
                         x0_fusion=a.x0_fusion, low_t_share=a.low_t_share, x0_edge=a.x0_edge)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        gen = torch.Generator().manual_seed(999)
        step_mod = self.train_step(self.ema)
        acc: dict[str, float] = {}
        for b in self.val_batches:
            out = step_mod(b["a"], b["b"], b["task"], b["chan"], gen)
            for k, v in out.items():
                acc[k] = acc.get(k, 0.0) + float(v) / len(self.val_batches)
        return acc

    def train(self) -> None:
        args = self.args
        self.log(f"start: {count_params(self.net.encoder)} encoder + {count_params(self.net.denoiser)} denoiser "
                 f"params, world {self.world}, weighting {args.weighting}, step {self.step}/{args.steps}, "
                 f"{self.n_pairs[0]} training pairs, {self.n_pairs[1]} held out (--val-min {args.val_min})")
        t_last_ck = time.time()
        t0 = time.time() - self.elapsed
        ema_decay = 0.998
        while self.progress() < 1.0:
            batch = self.sampler.batch(args.batch)
            for g in self.opt.param_groups:
                g["lr"] = self.lr_at(self.step)
            terms = self.step_mod(batch["a"], batch["b"], batch["task"], batch["chan"], self.gen)
            w = self.weights()
            loss = sum(w[i] * terms[k] for i, k in enumerate(TERMS))
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite loss at step {self.step}: { {k: float(v) for k, v in terms.items()} }")
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.trained, 1.0)
            self.opt.step()
            with torch.no_grad():
                d = min(ema_decay, (1 + self.step) / (10 + self.step))
                for pe, pn in self.ema_pairs:
                    pe.mul_(d).add_(pn.detach(), alpha=1 - d)
                if self.kept_rows is not None and self.kept_values is not None:
                    for emb in (self.net.encoder.task_emb.weight, self.ema.encoder.task_emb.weight):
                        emb[self.kept_rows] = self.kept_values[self.kept_rows]
            self.step += 1
            vals = torch.tensor([float(terms[k]) for k in TERMS])
            if self.ddp:
                dist.all_reduce(vals)
                vals /= self.world
            if self.rl:
                self.rl.observe({k: float(vals[i]) for i, k in enumerate(TERMS)})
                if self.rl.due(self.step):
                    rec = self.rl.update(progress=self.progress(), step=self.step)
                    if self.ddp:
                        u = self.rl.u.clone()
                        dist.broadcast(u, 0)
                        self.rl.set_u(u)
                    if "reward" in rec:
                        self.log(f"rl step {self.step}: reward {rec['reward']:.3f} sigma {rec['sigma']:.3f} "
                                 f"weights {[round(x, 3) for x in rec['new_weights']]}")
            self.elapsed = time.time() - t0
            if self.rank == 0 and (self.step % args.log_every == 0 or self.step == 1):
                row = {"kind": "train", "step": self.step, "time": round(self.elapsed, 1), "lr": self.lr_at(self.step),
                       "loss": float(loss), **{k: float(vals[i]) for i, k in enumerate(TERMS)},
                       "epe": float(terms["epe"]), "epe0": float(terms["epe0"]), "weights": w.tolist()}
                self.metrics_f.write(json.dumps(row) + "\n")
                self.metrics_f.flush()
                if self.step % (args.log_every * 5) == 0 or self.step == 1:
                    self.log(f"step {self.step} loss {float(loss):.4f} " +
                             " ".join(f"{k} {row[k]:.4f}" for k in (*TERMS, "epe", "epe0")) +
                             f" {self.elapsed / 60:.1f} min")
            if self.rank == 0 and self.step % args.val_every == 0:
                v = self.validate()
                self.metrics_f.write(json.dumps({"kind": "val", "step": self.step, **v}) + "\n")
                self.metrics_f.flush()
                self.log("val " + " ".join(f"{k} {x:.4f}" for k, x in v.items()))
            if time.time() - t_last_ck >= args.ckpt_minutes * 60 or self.step % args.snapshot_every == 0:
                self.save()
                t_last_ck = time.time()
        self.save()
        self.log(f"done at step {self.step}, {self.elapsed / 60:.1f} min")
        if self.ddp:
            # DDP keeps replicas identical by averaging gradients; verify it rather than trust it
            flat = torch.cat([p_.detach().flatten() for p_ in self.net.parameters()])
            spread = flat.clone()
            dist.all_reduce(spread, op=dist.ReduceOp.MAX)
            low = flat.clone()
            dist.all_reduce(low, op=dist.ReduceOp.MIN)
            self.log(f"ddp replicas max parameter spread {float((spread - low).abs().max()):.3g} over {self.world} processes")
            dist.barrier()
            dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        Run(args).train()
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
