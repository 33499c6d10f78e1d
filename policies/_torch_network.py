"""The learned policy's network in torch, for training only (inference is numpy, `_network`).

Mirrors :class:`policies._network.Network` layer by layer, so weights move both ways.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from policies._network import Network

__all__ = ["TorchNetwork"]


class TorchNetwork(nn.Module):
    """Batched forward pass returning masked logits and values."""

    def __init__(self, net: Network) -> None:
        super().__init__()
        self.cand_dim, self.neigh_dim, self.k = net.cand_dim, net.neigh_dim, net.k
        self.params = nn.ParameterDict(
            {name: nn.Parameter(torch.tensor(np.asarray(w))) for name, w in net.weights.items()}
        )

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``obs`` (B, D) -> masked logits (B, 2 + 2K) and values (B,)."""
        p = self.params
        c, f, k = self.cand_dim, self.neigh_dim, self.k
        cand = obs[:, :c]
        neigh = obs[:, c : c + k * f].reshape(-1, k, f)
        mask = obs[:, c + k * f : c + k * f + k]
        h_c = torch.relu(cand @ p["Wc"].T + p["bc"])
        joined = torch.cat([neigh, cand.unsqueeze(1).expand(-1, k, c)], dim=2)
        h_n = torch.relu(joined @ p["Wn"].T + p["bn"])
        live = mask > 0
        counts = live.sum(dim=1, keepdim=True).clamp(min=1)
        pooled = (h_n * live.unsqueeze(2)).sum(dim=1) / counts
        g = torch.cat([h_c, pooled], dim=1)
        head = g @ p["Wg"].T + p["bg"]
        pointer = h_n @ p["Wp"].T + p["bp"]
        pointer = pointer.masked_fill((mask < 1.0).unsqueeze(2), -1e9)
        logits = torch.cat([head, pointer.transpose(1, 2).reshape(-1, 2 * k)], dim=1)
        value = (g @ p["Wv"].T + p["bv"]).squeeze(1)
        return logits, value

    def to_numpy(self) -> Network:
        """The current weights as a numpy :class:`Network`."""
        weights = {
            name: w.detach().cpu().numpy().astype(np.float32) for name, w in self.params.items()
        }
        return Network(self.cand_dim, self.neigh_dim, self.k, weights)
