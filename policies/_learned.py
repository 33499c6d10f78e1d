"""The learned memory manager: features, a small pointer network in numpy, no model call.

Registers itself as ``learned`` in the policy registry; ``make_policy("learned")`` loads the
checkpoint shipped with the package, ``make_policy(path)`` any checkpoint from
``colony policy train``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from memory import Candidate, Decision, Operation, ScoredMemory
from memory.errors import InvalidInputError
from policies._baselines import repeated
from policies._features import (
    CANDIDATE_FEATURES,
    NEIGHBOUR_FEATURES,
    K,
    decision_for,
    joined_features,
)
from policies._network import Network
from policies._registry import register_policy

__all__ = ["SHIPPED_CHECKPOINT", "LearnedPolicy"]

SHIPPED_CHECKPOINT = Path(__file__).with_name("checkpoints") / "learned.npz"

REPEAT_SIMILARITY = 0.91
"""Cosine from which the learned policy's ADD of a same-speaker repeat is an UPDATE of it.

Measured on LoCoMo (benchmarks/README, thirteenth round): 0.93 / 0.92 / 0.91 / 0.90 store
330 / 326 / 320 / 314 memories of conv-30 at the same recall; 0.90 loses a question of
conv-26, the training conversation."""


class LearnedPolicy:
    """Decides with the trained network: argmax over ADD, NOOP, UPDATE(i), DELETE(i).

    One rule follows it: the network's ADD of a candidate that only repeats a neighbour (see
    :func:`policies._baselines.repeated`; cosine >= ``repeat_similarity``) is an UPDATE of
    that neighbour, as the network's own UPDATE of a repeat is: the memory takes the new
    wording (the old one stays in its history) and keeps both turns in its provenance. Such
    an UPDATE ``restates`` its target: the fact has not changed, so the memory keeps its
    world time (``valid_from``). Trained with a cost per stored item, the network still
    ADDs most verbatim repeats; the rule stores 5-12% fewer items on the synthetic held-out
    sets and 3% fewer on conv-30 at the same recall (benchmarks/README, twelfth and
    thirteenth rounds). It acts from a lower cosine than the heuristic's NOOP of a
    near-duplicate (0.93), which drops the new turn.

    Attributes:
        network: The weights.
        meta: What the checkpoint recorded (seed, training settings, validation figures).
        repeat_similarity: From this cosine up a repeat by the same speaker updates the
            memory it repeats instead of being stored beside it.
    """

    repeat_similarity: float = REPEAT_SIMILARITY

    def __init__(self, network: Network, *, meta: dict[str, Any] | None = None) -> None:
        expected = (len(CANDIDATE_FEATURES), len(NEIGHBOUR_FEATURES), K)
        found = (network.cand_dim, network.neigh_dim, network.k)
        if found != expected:
            raise InvalidInputError(
                f"checkpoint was trained on features {found} (candidate, neighbour, K) but this "
                f"version computes {expected}; retrain with `colony policy train`"
            )
        self.network = network
        self.meta = dict(meta or {})

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None) -> LearnedPolicy:
        """Load ``path`` (default: the checkpoint shipped in ``policies/checkpoints``)."""
        target = Path(path) if path is not None else SHIPPED_CHECKPOINT
        if not target.is_file():
            raise InvalidInputError(
                f"no learned-policy checkpoint at {target}; train one with "
                "`colony policy train --out PATH`"
            )
        try:
            network, meta = Network.load(target)
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidInputError(f"{target} is not a learned-policy checkpoint: {exc}") from exc
        return cls(network, meta=meta)

    @property
    def name(self) -> str:
        """Recorded in the history of every change."""
        return "learned"

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        """The network's most likely action, with its probability as the confidence; an ADD
        of a repeat updates the memory it repeats."""
        logits, _ = self.network.decide(*joined_features(candidate, neighbours))
        best = max(logits)
        action = logits.index(best)
        if action == 0 and (known := repeated(candidate, neighbours, self.repeat_similarity)):
            hit, similarity = known
            return Decision(
                Operation.UPDATE,
                target=hit.record.id,
                confidence=similarity,
                reason="repeat",
                restates=True,
            )
        confidence = 1.0 / sum(math.exp(logit - best) for logit in logits)
        decision = decision_for(
            action, candidate, neighbours, confidence=confidence, reason="learned"
        )
        if decision.operation is Operation.UPDATE:
            known = repeated(candidate, neighbours, self.repeat_similarity)
            if known is not None and known[0].record.id == decision.target:
                return replace(decision, restates=True)
        return decision


def _factory(checkpoint: Path | None = None, **options: Any) -> LearnedPolicy:
    if options:
        raise InvalidInputError(f"the learned policy takes only checkpoint=, got {sorted(options)}")
    return LearnedPolicy.from_checkpoint(checkpoint)


register_policy("learned", _factory, replace=True)
