"""The noise schedule: one definition used by training, the Python reference sampler and the card.

Linear betas from 1e-4 to 0.02 over T = 1000 training steps (DDPM); the denoiser predicts x0
(prediction type ``sample``). Forward process: x_t = sqrt(abar_t) * x0 + sqrt(1 - abar_t) * eps.
Inference starts at t_start = strength * (T - 1) from the noised composite; strength 0 = composite.
``t`` may be fractional: abar is linearly interpolated in log space between integer steps.

Example::

    from fccf_train.schedule import SCHEDULE
    x_t = SCHEDULE.q_sample(x0, t, eps)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

T_TRAIN = 1000
BETA_START = 1e-4
BETA_END = 0.02
PREDICTION = "sample"  # x0, diffusers' name for it


@dataclass(frozen=True)
class Schedule:
    num_train_timesteps: int = T_TRAIN
    beta_start: float = BETA_START
    beta_end: float = BETA_END
    beta_schedule: str = "linear"
    prediction_type: str = PREDICTION
    betas: torch.Tensor = field(init=False, repr=False, compare=False)
    alphas_cumprod: torch.Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        betas = torch.linspace(self.beta_start, self.beta_end, self.num_train_timesteps, dtype=torch.float64)
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "alphas_cumprod", torch.cumprod(1.0 - betas, 0))

    def abar(self, t: torch.Tensor) -> torch.Tensor:
        """alpha-bar at (possibly fractional) t in [0, T-1], float32, same shape as t."""
        t = t.to(torch.float64).clamp(0, self.num_train_timesteps - 1)
        lo = t.floor().long()
        hi = (lo + 1).clamp(max=self.num_train_timesteps - 1)
        w = t - lo.to(torch.float64)
        la = torch.log(self.alphas_cumprod)
        return torch.exp(la[lo] * (1 - w) + la[hi] * w).to(torch.float32)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        a = self.abar(t).view(-1, *([1] * (x0.dim() - 1))).to(x0.device)
        return a.sqrt() * x0 + (1 - a).sqrt() * eps

    def card(self) -> dict[str, object]:
        return {
            "beta_schedule": self.beta_schedule,
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
            "num_train_timesteps": self.num_train_timesteps,
            "prediction_type": self.prediction_type,
        }


SCHEDULE = Schedule()


def stage_of(frac: torch.Tensor, hi: torch.Tensor | float, lo: torch.Tensor | float) -> torch.Tensor:
    """Stage index per sample from t / t_start: 0 = (b, b), 1 = (a, b), 2 = (a, a)."""
    frac = torch.as_tensor(frac)
    s = torch.ones_like(frac, dtype=torch.long)
    s = torch.where(frac > torch.as_tensor(hi), torch.zeros_like(s), s)
    s = torch.where(frac <= torch.as_tensor(lo), torch.full_like(s, 2), s)
    return s
