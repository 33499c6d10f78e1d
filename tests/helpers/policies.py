"""Scripted memory policies for tests."""

from __future__ import annotations

from collections.abc import Sequence

from memory import Candidate, Decision, Operation, ScoredMemory


class RestatingPolicy:
    """ADDs into an empty store; afterwards UPDATEs the best neighbour, marked as restating it."""

    name = "restating"

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        if not neighbours:
            return Decision(Operation.ADD)
        return Decision(Operation.UPDATE, target=neighbours[0].record.id, restates=True)
