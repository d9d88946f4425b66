"""Exploration-to-stability loss weighting (Diff-FCCF's RL idea, made real).

Every ``period`` training steps a small Gaussian policy picks log-multipliers u (centred, so the
overall loss scale stays put) for the base weights of the loss terms: w_i = base_i * exp(u_i).
State: per term log of its relative loss (EMA / first EMA), its recent trend, the current u and
training progress. Reward (computed from UNWEIGHTED relative losses, so lowering a weight cannot
fake progress): the drop of the mean log relative loss over the period, minus a penalty on
imbalance (spread of log relative losses) and on volatility (std of the per-step total).
Update: REINFORCE with an EMA baseline and an entropy bonus. Exploration, i.e. the policy's
standard deviation and the entropy bonus, decays from ``sigma_start`` to ``sigma_end`` with
progress, so the weights settle.

Example::

    w = RLWeighting(["diff", "ssim"], [1.0, 1.0])
    weights = w.weights()                        # tensor of current weights
    w.observe({"diff": 0.3, "ssim": 0.5})        # each step, unweighted term values
    if w.due(step): w.update(progress=step / total)
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn


class Policy(nn.Module):
    def __init__(self, state_dim: int, n_terms: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(state_dim, 32), nn.Tanh(), nn.Linear(32, n_terms))
        nn.init.zeros_(self.net[2].weight)
        nn.init.zeros_(self.net[2].bias)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(s)) * 1.5


class RLWeighting:
    def __init__(
        self,
        names: list[str],
        base: list[float],
        period: int = 25,
        seed: int = 0,
        sigma_start: float = 0.6,
        sigma_end: float = 0.05,
        entropy_start: float = 0.02,
        lr: float = 3e-3,
        ema: float = 0.9,
        balance_coef: float = 0.1,
        steady_coef: float = 0.5,
        warmup: int = 10,
    ) -> None:
        self.names = names
        self.base = torch.tensor(base, dtype=torch.float32)
        self.n = len(names)
        self.period = period
        self.sigma_start, self.sigma_end, self.entropy_start = sigma_start, sigma_end, entropy_start
        self.ema_k = ema
        self.balance_coef, self.steady_coef = balance_coef, steady_coef
        self.gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.policy = Policy(3 * self.n + 1, self.n)
        self.opt = torch.optim.Adam(self.policy.parameters(), lr=lr)
        self.u = torch.zeros(self.n)
        self.ema: torch.Tensor | None = None
        self.ref: torch.Tensor | None = None
        self.ema_at_action: torch.Tensor | None = None
        self.prev_trend = torch.zeros(self.n)
        self.totals: list[float] = []
        self.pending: tuple[torch.Tensor, torch.Tensor, float] | None = None  # state, action, sigma
        self.baseline: float | None = None
        self.trajectory: list[dict[str, Any]] = []
        self.steps_seen = 0
        self.warmup = warmup

    def weights(self) -> torch.Tensor:
        return self.base * torch.exp(self.u)

    def sigma(self, progress: float) -> float:
        p = min(max(progress, 0.0), 1.0)
        return self.sigma_end + (self.sigma_start - self.sigma_end) * 0.5 * (1 + math.cos(math.pi * p))

    def observe(self, values: dict[str, float]) -> None:
        v = torch.tensor([max(float(values[k]), 1e-8) for k in self.names])
        self.ema = v if self.ema is None else self.ema_k * self.ema + (1 - self.ema_k) * v
        self.steps_seen += 1
        if self.ref is None and self.steps_seen >= self.warmup:
            self.ref = self.ema.clone()
        if self.ref is not None:
            self.totals.append(float(torch.log(v / self.ref).mean()))

    def due(self, step: int) -> bool:
        return self.ref is not None and step > 0 and step % self.period == 0

    def _state(self, progress: float) -> torch.Tensor:
        assert self.ema is not None and self.ref is not None
        lr_ = torch.log(self.ema / self.ref)
        return torch.cat([lr_, self.prev_trend, self.u, torch.tensor([progress])]).float()

    def update(self, progress: float, step: int) -> dict[str, Any]:
        """Close the running period (reward + policy gradient step) and choose new weights."""
        assert self.ema is not None and self.ref is not None
        log_rel = torch.log(self.ema / self.ref)
        record: dict[str, Any] = {"step": step, "weights": self.weights().tolist(), "sigma": self.sigma(progress)}
        if self.pending is not None and self.ema_at_action is not None:
            state, action, sigma = self.pending
            trend = log_rel - torch.log(self.ema_at_action / self.ref)
            improvement = -float(trend.mean())
            imbalance = float(log_rel.std())
            volatility = float(torch.tensor(self.totals).std()) if len(self.totals) > 1 else 0.0
            reward = 100 * improvement - self.balance_coef * imbalance - self.steady_coef * volatility
            self.baseline = reward if self.baseline is None else 0.9 * self.baseline + 0.1 * reward
            adv = reward - self.baseline
            mu = self.policy(state)
            dist = torch.distributions.Normal(mu, sigma)
            ent_coef = self.entropy_start * sigma / self.sigma_start
            loss = -(adv * dist.log_prob(action).sum()) - ent_coef * dist.entropy().sum()
            self.opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.policy.parameters(), 1.0)
            self.opt.step()
            self.prev_trend = trend
            record.update(reward=reward, baseline=self.baseline, improvement=improvement,
                          imbalance=imbalance, volatility=volatility)
        sigma = self.sigma(progress)
        state = self._state(progress)
        with torch.no_grad():
            mu = self.policy(state)
        action = mu + sigma * torch.randn(self.n, generator=self.gen)
        u = (action - action.mean()).clamp(-1.5, 1.5)
        self.u = u
        self.pending = (state, action, sigma)
        self.ema_at_action = self.ema.clone()
        self.totals = []
        record["new_weights"] = self.weights().tolist()
        self.trajectory.append(record)
        return record

    def set_u(self, u: torch.Tensor) -> None:
        """Adopt multipliers chosen elsewhere (DDP: rank 0 decides, the others follow)."""
        self.u = u.clone()

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(), "opt": self.opt.state_dict(), "u": self.u, "ema": self.ema,
            "ref": self.ref, "ema_at_action": self.ema_at_action, "prev_trend": self.prev_trend,
            "pending": self.pending, "baseline": self.baseline, "trajectory": self.trajectory,
            "gen": self.gen.get_state(), "steps_seen": self.steps_seen, "totals": self.totals,
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.policy.load_state_dict(d["policy"])
        self.opt.load_state_dict(d["opt"])
        for k in ("u", "ema", "ref", "ema_at_action", "prev_trend", "pending", "baseline", "trajectory",
                  "steps_seen", "totals"):
            setattr(self, k, d[k])
        self.gen.set_state(d["gen"])
