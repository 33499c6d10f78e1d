"""The learned memory manager: features, a small pointer network in numpy, no model call.

Registers itself as ``learned`` in the policy registry; ``make_policy("learned")`` loads the
checkpoint shipped with the package, ``make_policy(path)`` any checkpoint from
``colony policy train``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memory import Candidate, Decision, Operation, ScoredMemory
from memory.errors import InvalidInputError
from policies._baselines import DUPLICATE_SIMILARITY, repeated
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


class LearnedPolicy:
    """Decides with the trained network: argmax over ADD, NOOP, UPDATE(i), DELETE(i).

    One rule follows it: the network's ADD of a candidate that only repeats a neighbour (see
    :func:`policies._baselines.repeated`; cosine >= ``duplicate_similarity``, the heuristic's
    threshold) is a NOOP. Trained with a cost per stored item, the network still ADDs most
    verbatim repeats; the rule stores 5-12% fewer items on the synthetic held-out sets at
    the same or better recall (benchmarks/README, twelfth round). Its UPDATE of a repeat
    stands: that refreshes the memory and keeps the new turn in its provenance.

    Attributes:
        network: The weights.
        meta: What the checkpoint recorded (seed, training settings, validation figures).
        duplicate_similarity: From this cosine up a repeat by the same speaker is a NOOP.
    """

    duplicate_similarity: float = DUPLICATE_SIMILARITY

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
        of a repeat is a NOOP."""
        logits, _ = self.network.decide(*joined_features(candidate, neighbours))
        best = max(logits)
        action = logits.index(best)
        if action == 0 and (known := repeated(candidate, neighbours, self.duplicate_similarity)):
            hit, similarity = known
            return Decision(
                Operation.NOOP, target=hit.record.id, confidence=similarity, reason="repeat"
            )
        confidence = 1.0 / sum(math.exp(logit - best) for logit in logits)
        return decision_for(action, candidate, neighbours, confidence=confidence, reason="learned")


def _factory(checkpoint: Path | None = None, **options: Any) -> LearnedPolicy:
    if options:
        raise InvalidInputError(f"the learned policy takes only checkpoint=, got {sorted(options)}")
    return LearnedPolicy.from_checkpoint(checkpoint)


register_policy("learned", _factory, replace=True)
