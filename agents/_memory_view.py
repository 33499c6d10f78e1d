"""The shared memory as one agent sees it, for tools that read or write it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memory import (
    AppliedDecision,
    Candidate,
    MemoryPolicy,
    MemoryRecord,
    MemoryService,
    Namespace,
    Principal,
    ScoredMemory,
    Tier,
    validate_namespace,
)

__all__ = ["AgentMemory"]


class AgentMemory:
    """Shared memory bound to one agent's principal; the service enforces its access rules.

    A tool receives it by declaring a parameter annotated ``AgentMemory``: the host injects
    it, and the parameter is hidden from the model's tool schema.

    Attributes:
        principal: Who every call acts as.
        namespace: Where writes go by default (the agent's ``writes``, else its private one).
    """

    def __init__(self, service: MemoryService, principal: Principal, namespace: Namespace) -> None:
        self._service = service
        self.principal = principal
        self.namespace = validate_namespace(namespace)

    def search(
        self,
        query: str,
        *,
        namespace: Namespace = (),
        k: int = 5,
        tiers: Sequence[Tier] | None = None,
        budget_words: int | None = None,
    ) -> list[ScoredMemory]:
        """Hybrid search over what the agent may read under ``namespace`` (all by default);
        with ``budget_words``, the ``k`` best hits that fit in that many words."""
        return self._service.search(
            query,
            principal=self.principal,
            namespace_prefix=namespace,
            k=k,
            tiers=tiers,
            budget_words=budget_words,
        )

    def add(
        self,
        text: str,
        *,
        namespace: Namespace | None = None,
        tier: Tier = Tier.INTERACTION,
        provenance: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        origin: str | None = None,
    ) -> MemoryRecord:
        """Store ``text`` as it is (no policy) in ``namespace`` (default: :attr:`namespace`).

        ``origin`` is ``"tool"`` or ``"document"`` for what the agent did not conclude
        itself (default: ``"agent"``); untrusted content may land in quarantine.
        """
        return self._service.add(
            text,
            principal=self.principal,
            namespace=self.namespace if namespace is None else namespace,
            tier=tier,
            provenance=provenance,
            metadata=metadata,
            origin=origin,
        )

    def remember(
        self,
        candidates: Sequence[Candidate],
        *,
        policy: MemoryPolicy | None = None,
        origin: str | None = None,
    ) -> list[AppliedDecision]:
        """Let the memory policy decide ADD / UPDATE / DELETE / NOOP for each candidate."""
        return self._service.remember(
            candidates, principal=self.principal, policy=policy, origin=origin
        )
