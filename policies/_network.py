"""The learned policy's network: numpy inference, and the same network in torch for training.

Pointer-style: every neighbour is scored by shared weights, so the network picks *which*
memory an UPDATE or DELETE acts on as well as the operation.

    h_c   = relu(Wc . cand + bc)                         candidate encoding     (H)
    h_i   = relu(Wn . [neigh_i, cand] + bn)               neighbour i encoding   (H)
    g     = [h_c, masked mean of h_i]
    ADD, NOOP       = Wg . g + bg                         two global logits
    UPDATE_i, DELETE_i = Wp . h_i + bp                    two logits per neighbour (masked)

The mask is 1 for a neighbour that may be a target, ``CONTEXT`` (0.5) for one that is only
read (pooled, never pointed at), 0 for padding.
    value           = Wv . g + bv

Action ids (as :mod:`policies._features`): 0 = ADD, 1 = NOOP, 2 + i = UPDATE neighbour i,
2 + K + i = DELETE neighbour i.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Network", "action_count", "split_observation"]

_NEG = np.float32(-1e9)


def action_count(k: int) -> int:
    """Actions for ``k`` neighbours: ADD, NOOP, then UPDATE/DELETE per neighbour."""
    return 2 + 2 * k


def split_observation(
    obs: np.ndarray, cand_dim: int, neigh_dim: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a flat observation (or a batch of them) into candidate, neighbours and mask."""
    cand = obs[..., :cand_dim]
    neigh = obs[..., cand_dim : cand_dim + k * neigh_dim].reshape(*obs.shape[:-1], k, neigh_dim)
    mask = obs[..., cand_dim + k * neigh_dim : cand_dim + k * neigh_dim + k]
    return cand, neigh, mask


@dataclass(frozen=True)
class Network:
    """The weights, in numpy; :meth:`logits` runs the forward pass without torch."""

    cand_dim: int
    neigh_dim: int
    k: int
    weights: Mapping[str, np.ndarray]

    @classmethod
    def init(cls, cand_dim: int, neigh_dim: int, k: int, hidden: int, seed: int) -> Network:
        """Small random weights (the training starts from these)."""
        rng = np.random.default_rng(seed)

        def dense(n_in: int, n_out: int, scale: float = 1.0) -> np.ndarray:
            return (rng.standard_normal((n_out, n_in)) * scale / np.sqrt(n_in)).astype(np.float32)

        weights = {
            "Wc": dense(cand_dim, hidden),
            "bc": np.zeros(hidden, np.float32),
            "Wn": dense(neigh_dim + cand_dim, hidden),
            "bn": np.zeros(hidden, np.float32),
            "Wg": dense(2 * hidden, 2, 0.01),
            "bg": np.zeros(2, np.float32),
            "Wp": dense(hidden, 2, 0.01),
            "bp": np.zeros(2, np.float32),
            "Wv": dense(2 * hidden, 1),
            "bv": np.zeros(1, np.float32),
        }
        return cls(cand_dim, neigh_dim, k, weights)

    def logits(self, cand: np.ndarray, neigh: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Masked action logits for one observation.

        Args:
            cand: Candidate features, shape (C,).
            neigh: Neighbour features, shape (K, F).
            mask: 1 for a possible target, 0.5 for a neighbour only read, 0 for padding,
                shape (K,).
        """
        g, h_n = self._encode(cand, neigh, mask)
        return self._action_logits(g, h_n, mask)

    def forward(
        self, cand: np.ndarray, neigh: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """Masked action logits and the value estimate for one observation (see ``logits``)."""
        g, h_n = self._encode(cand, neigh, mask)
        w = self.weights
        return self._action_logits(g, h_n, mask), float(w["Wv"][0] @ g + w["bv"][0])

    def _encode(
        self, cand: np.ndarray, neigh: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        # A decision is a few dozen small numpy calls, so each one saved counts.
        w = self.weights
        h_c = np.maximum(w["Wc"] @ cand + w["bc"], 0.0)
        # Wn . [neigh_i, cand] split in two: the candidate's share is the same for every i.
        wn_neigh, wn_cand = self._neighbour_weights
        h_n = np.maximum(neigh @ wn_neigh + (wn_cand @ cand + w["bn"]), 0.0)
        live = (mask > 0).astype(np.float32)
        pooled = (live @ h_n) / max(1.0, float(live.sum()))
        return np.concatenate([h_c, pooled]), h_n

    def _action_logits(self, g: np.ndarray, h_n: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.weights
        out = np.empty(2 + 2 * self.k, np.float32)
        out[:2] = w["Wg"] @ g + w["bg"]
        pointer = h_n @ w["Wp"].T + w["bp"]  # (K, 2): UPDATE_i, DELETE_i
        pointer[mask < 1.0] = _NEG
        out[2:] = pointer.T.reshape(-1)
        return out

    @cached_property
    def _neighbour_weights(self) -> tuple[np.ndarray, np.ndarray]:
        wn = self.weights["Wn"]
        return np.ascontiguousarray(wn[:, : self.neigh_dim].T), wn[:, self.neigh_dim :]

    def save(self, path: str | Path, **meta: Any) -> Path:
        """Write the weights and ``meta`` (figures, features, seed) to an ``.npz`` file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        header = {"cand_dim": self.cand_dim, "neigh_dim": self.neigh_dim, "k": self.k, **meta}
        arrays: dict[str, Any] = {"__meta__": np.array(json.dumps(header)), **self.weights}
        np.savez(target, **arrays)
        return target if target.suffix == ".npz" else target.with_suffix(target.suffix + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> tuple[Network, dict[str, Any]]:
        """Read a checkpoint written by :meth:`save`; returns the network and its metadata."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            weights = {
                name: data[name].astype(np.float32) for name in data.files if name != "__meta__"
            }
        net = cls(int(meta["cand_dim"]), int(meta["neigh_dim"]), int(meta["k"]), weights)
        return net, meta
