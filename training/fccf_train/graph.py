"""Chebyshev graph convolution over the bottleneck positions (Diff-FCCF's graph layer, done with dense ops).

Graph: nodes are bottleneck positions. Edges: the 4-neighbour grid (weight 1) plus cross-modal
similarity edges inside a 3x3 window, w(p, q) = 0.5 * (s(A_p, B_q) + s(A_q, B_p)) with
s = exp((cos - 1) / tau) of per-modality descriptors, which is symmetric by construction.
Filters: y = sum_k Theta_k T_k(L~) x, K = 3 (T0..T3), on the scaled normalised Laplacian
L~ = 2 L / lambda_max - I with lambda_max = 2, i.e. L~ = -D^-1/2 W D^-1/2.
Neighbour access is padding + slicing, so the layer is size independent and exports to ONNX.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

OFFSETS: tuple[tuple[int, int], ...] = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
GRID = {(-1, 0), (1, 0), (0, -1), (0, 1)}


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[..., i, j] = x[..., i + dy, j + dx], zero outside."""
    if dy == 0 and dx == 0:
        return x
    h, w = x.shape[-2], x.shape[-1]
    p = F.pad(x, (1, 1, 1, 1))
    return p[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]


def _slice(p: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """From a 1-padded map, the values at (i + dy, j + dx) of the unpadded grid (0 outside)."""
    return p[..., 1 + dy : p.shape[-2] - 1 + dy, 1 + dx : p.shape[-1] - 1 + dx]


class ChebGraphLayer(nn.Module):
    def __init__(self, channels: int, desc_channels: int, order: int = 3, tau: float = 0.25) -> None:
        # desc_channels documents the descriptor width the edges are computed from (no weights depend on it)
        super().__init__()
        self.order = order
        self.tau = tau
        self.theta = nn.ModuleList([nn.Conv2d(channels, channels, 1, bias=(k == 0)) for k in range(order + 1)])

    def edge_weights(self, da: torch.Tensor, db: torch.Tensor) -> list[torch.Tensor]:
        """One weight map [N,1,H,W] per offset: w(p, p + o). Also zero where p + o is outside."""
        da = F.normalize(da, dim=1)
        db = F.normalize(db, dim=1)
        pa, pb = F.pad(da, (1, 1, 1, 1)), F.pad(db, (1, 1, 1, 1))
        ones = F.pad(torch.ones_like(da[:, :1]), (1, 1, 1, 1))
        ws = []
        for dy, dx in OFFSETS:
            qa, qb, inside = _slice(pa, dy, dx), _slice(pb, dy, dx), _slice(ones, dy, dx)
            s_ab = torch.exp(((da * qb).sum(1, keepdim=True) - 1.0) / self.tau)
            s_ba = torch.exp(((qa * db).sum(1, keepdim=True) - 1.0) / self.tau)
            w = 0.5 * (s_ab + s_ba)
            if (dy, dx) in GRID:
                w = w + 1.0
            ws.append(w * inside)
        return ws

    def forward(self, x: torch.Tensor, da: torch.Tensor, db: torch.Tensor) -> torch.Tensor:
        ws = self.edge_weights(da, db)
        deg = torch.stack(ws, 0).sum(0)
        dinv = deg.clamp(min=1e-6).rsqrt()

        def lap(v: torch.Tensor) -> torch.Tensor:
            u = v * dinv
            pu = F.pad(u, (1, 1, 1, 1))
            acc = torch.zeros_like(v)
            for (dy, dx), w in zip(OFFSETS, ws):
                acc = acc + w * _slice(pu, dy, dx)
            return -acc * dinv

        t_prev, t_cur = x, lap(x)
        out = self.theta[0](t_prev) + self.theta[1](t_cur)
        for k in range(2, self.order + 1):
            t_next = 2.0 * lap(t_cur) - t_prev
            out = out + self.theta[k](t_next)
            t_prev, t_cur = t_cur, t_next
        return out
