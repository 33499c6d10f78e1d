"""The learned policy's network: numpy inference, and the same network in torch for training.

Pointer-style: every neighbour is scored by shared weights, so the network picks *which*
memory an UPDATE or DELETE acts on as well as the operation.

    h_c   = relu(Wc . cand + bc)                         candidate encoding     (H)
    h_i   = relu(Wn . [neigh_i, cand] + bn)               neighbour i encoding   (H)
    g     = [h_c, masked mean of h_i]
    ADD, NOOP       = Wg . g + bg                         two global logits
    UPDATE_i, DELETE_i = Wp . h_i + bp                    two logits per neighbour (masked)
    value           = Wv . g + bv

The mask is 1 for a neighbour that may be a target, ``CONTEXT`` (0.5) for one that is only
read (pooled, never pointed at), 0 for padding. Inference (:meth:`Network.decide`) computes
the same layers with the weights rearranged into two products.

Action ids (as :mod:`policies._features`): 0 = ADD, 1 = NOOP, 2 + i = UPDATE neighbour i,
2 + K + i = DELETE neighbour i.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Network", "action_count", "split_observation"]

_NEG = -1e9


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
        logits, _ = self.forward(cand, neigh, mask)
        return logits

    def forward(
        self, cand: np.ndarray, neigh: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """Masked action logits and the value estimate for one observation (see ``logits``)."""
        joined = np.empty((self.k, self.neigh_dim + self.cand_dim + 1), np.float32)
        joined[:, : self.neigh_dim] = neigh
        joined[:, self.neigh_dim : -1] = cand
        joined[:, -1] = 1.0
        logits, value = self.decide(joined, mask.tolist())
        return np.array(logits, np.float32), value

    def decide(self, joined: np.ndarray, mask: Sequence[float]) -> tuple[list[float], float]:
        """Logits and value from the joined input, in three numpy calls: a decision's hot path.

        Args:
            joined: One row per neighbour slot: ``[neigh_i, cand, 1]``, shape (K, F + C + 1),
                as :func:`policies._features.joined_features` builds it.
            mask: As for :meth:`logits`, as Python floats.

        The layers are those of the module docstring, rearranged so that one product
        computes both encoders (each row of ``h`` is ``[h_i, h_c]``, the 1 brings the biases)
        and a second one every head's share of each row. A small numpy call costs more than
        its arithmetic, above all when a decision runs between a search and a write that
        evict the caches, so the few sums left are done in Python.
        """
        encoder, heads, (b_add, b_noop, b_update, b_delete, b_value) = self._fused
        rows = (np.maximum(joined @ encoder, 0.0) @ heads).tolist()
        # Per row: UPDATE_i, DELETE_i; then ADD, NOOP, value from h_i (pooled over live
        # neighbours) and from h_c (the same in every row).
        first, slots = rows[0], list(zip(rows, mask, strict=True))
        add, noop, value = b_add + first[5], b_noop + first[6], b_value + first[7]
        live = [row for row, m in slots if m > 0.0]
        if live:
            add += sum(row[2] for row in live) / len(live)
            noop += sum(row[3] for row in live) / len(live)
            value += sum(row[4] for row in live) / len(live)
        update = [
            row[0] + b_update if m >= 1.0 else _NEG for row, m in zip(rows, mask, strict=True)
        ]
        delete = [
            row[1] + b_delete if m >= 1.0 else _NEG for row, m in zip(rows, mask, strict=True)
        ]
        return [add, noop, *update, *delete], value

    @cached_property
    def _fused(self) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
        """The weights laid out for :meth:`decide`.

        ``encoder`` (F + C + 1, 2H) maps ``[neigh_i, cand, 1]`` to ``[h_i, h_c]`` before the
        relu; ``heads`` (2H, 8) maps that to UPDATE_i, DELETE_i, then ADD, NOOP, value from
        h_i, then ADD, NOOP, value from h_c.
        """
        w = self.weights
        f, hidden = self.neigh_dim, w["bc"].size
        encoder = np.zeros((f + self.cand_dim + 1, 2 * hidden), np.float32)
        encoder[:f, :hidden] = w["Wn"][:, :f].T
        encoder[f:-1, :hidden] = w["Wn"][:, f:].T
        encoder[f:-1, hidden:] = w["Wc"].T
        encoder[-1] = np.concatenate([w["bn"], w["bc"]])
        heads = np.zeros((2 * hidden, 8), np.float32)
        heads[:hidden, 0:2] = w["Wp"].T
        heads[:hidden, 2:4] = w["Wg"][:, hidden:].T
        heads[:hidden, 4] = w["Wv"][0, hidden:]
        heads[hidden:, 5:7] = w["Wg"][:, :hidden].T
        heads[hidden:, 7] = w["Wv"][0, :hidden]
        biases = (*map(float, w["bg"]), *map(float, w["bp"]), float(w["bv"][0]))
        return encoder, heads, biases

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
