"""Evaluate a memory-manager policy on LoCoMo-layout conversations.

The harness is :func:`benchmarks.locomo.run_locomo` (facts extracted from every session, each
candidate decided by the policy, evidence recall within a word budget); on top of it every
decision is counted and timed. The time is that of ``policy.decide`` alone: neighbour search,
embedding and the write are not in it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.locomo import run_locomo
from memory import Candidate, Decision, Embedder, MemoryPolicy, Operation, ScoredMemory
from memory.errors import InvalidInputError
from policies import make_policy, scoped_policies
from policies._synthetic import DISTRACTOR_KINDS

__all__ = ["evaluate_policy", "summarize"]


class _TimedPolicy:
    """Counts and times every decision of the policy it wraps."""

    def __init__(self, inner: MemoryPolicy) -> None:
        self.inner = inner
        self.operations: Counter[Operation] = Counter()
        self.restated = 0  # UPDATEs that say again what their target says
        self.elapsed_ns: list[int] = []
        # (conversation id, first dia id of the candidate) -> operations decided for it
        self.by_turn: dict[tuple[str, str], list[Operation]] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        started = time.perf_counter_ns()
        decision = self.inner.decide(candidate, neighbours)
        self.elapsed_ns.append(time.perf_counter_ns() - started)
        self.operations[decision.operation] += 1
        self.restated += decision.restates
        if candidate.provenance:
            key = (candidate.namespace[-1], candidate.provenance[0])
            self.by_turn.setdefault(key, []).append(decision.operation)
        return decision


def evaluate_policy(
    data: Sequence[str | Path],
    policy: str | MemoryPolicy,
    *,
    budget_words: int,
    embedder: str | Embedder | None = None,
) -> dict[str, Any]:
    """Ingest each conversation with ``policy`` and score evidence recall.

    Args:
        data: LoCoMo-layout files or folders.
        policy: A name or checkpoint path for :func:`policies.make_policy`, or a policy.
        budget_words: Context budget of each question, in words.
        embedder: ``minilm`` (default), ``hash``, or an embedder.

    Returns:
        ``{"policy", "recall": {"overall", <category>...}, "items_stored", "decisions":
        {"ADD", "UPDATE", "DELETE", "NOOP"}, "decision_p95_ms"}`` plus ``restated`` (of the
        UPDATEs, those that restate their target: see ``memory.Decision``), ``decision_p50_ms``,
        ``conversations``, ``questions``, ``budget_words``, and ``answer_in_context`` /
        ``answer_questions`` as :func:`benchmarks.locomo.run_locomo` reports them (short
        reference answers found word for word in the packed context).

    Raises:
        InvalidInputError: No data, an unknown policy, or a bad budget or file.
    """
    if isinstance(data, str | Path) or not data:
        raise InvalidInputError(f"data must be a non-empty list of paths, got {data!r}")
    label = policy if isinstance(policy, str) else policy.name
    timed = _TimedPolicy(make_policy(policy) if isinstance(policy, str) else policy)
    # run_locomo builds its policy by name: within this block the name yields the timed one.
    with scoped_policies({label: lambda: timed}):
        result = run_locomo(data, budget_words=budget_words, policy=label, embedder=embedder)
    elapsed_ms = np.asarray(timed.elapsed_ns, dtype=np.float64) / 1e6
    return {
        "policy": label,
        "recall": result["recall"],
        "items_stored": result["items_stored"],
        "decisions": {op.value: timed.operations[op] for op in Operation},
        "restated": timed.restated,
        "decision_p95_ms": _percentile(elapsed_ms, 95),
        "decision_p50_ms": _percentile(elapsed_ms, 50),
        "conversations": len(result["per_conversation"]),
        "questions": result["questions"],
        "budget_words": budget_words,
        "answer_in_context": result["answer_in_context"],
        "answer_questions": result["answer_questions"],
        **_change_counts(data, timed.by_turn),
    }


_CHANGING = (Operation.UPDATE, Operation.DELETE)


def _change_counts(
    data: Sequence[str | Path], by_turn: dict[tuple[str, str], list[Operation]]
) -> dict[str, Any]:
    """How often distractors, mentions and real changes changed memory, from synthetic labels.

    Only files written by ``policies.write_synthetic`` carry labels (``"statements"``);
    for others the result is empty. Distractors are also counted by kind (hypothetical,
    denial, other): the issue's bar names the first two; the third is about someone else.
    """
    seen: Counter[str] = Counter()  # statements by kind
    changed: Counter[str] = Counter()  # ... that changed memory (UPDATE or DELETE)
    updated = 0  # changes that UPDATEd
    for path in data:
        files = sorted(Path(path).glob("*.json")) if Path(path).is_dir() else [Path(path)]
        for file in files:
            try:
                items = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # run_locomo has already read (or refused) every file
            for item in items if isinstance(items, list) else [items]:
                if not isinstance(item, dict) or "statements" not in item:
                    continue
                conv = str(item.get("sample_id"))
                for st in item["statements"]:
                    kind, ops = st["kind"], by_turn.get((conv, st["dia_id"]), [])
                    seen[kind] += 1
                    changed[kind] += any(op in _CHANGING for op in ops)
                    updated += kind == "change" and Operation.UPDATE in ops
    distractors = sum(seen[kind] for kind in DISTRACTOR_KINDS)
    if not distractors and not seen["change"]:
        return {}

    def share(kinds: Sequence[str]) -> dict[str, Any]:
        statements, moved = sum(seen[k] for k in kinds), sum(changed[k] for k in kinds)
        return {
            "statements": statements,
            "updated_or_deleted": moved,
            "rate": round(moved / max(1, statements), 4),
        }

    return {
        "distractors": {
            **share(sorted(DISTRACTOR_KINDS)),
            "by_kind": {kind: share([kind]) for kind in sorted(DISTRACTOR_KINDS)},
        },
        "mentions": share(["mention"]),
        "changes": {
            "statements": seen["change"],
            "updated": updated,
            "rate": round(updated / max(1, seen["change"]), 4),
        },
    }


def _percentile(values: np.ndarray, q: float) -> float:
    return round(float(np.percentile(values, q)), 4) if values.size else 0.0


def summarize(result: dict[str, Any]) -> str:
    """One human line, for stderr."""

    def pairs(values: dict[str, Any]) -> str:
        return ", ".join(f"{key}={value}" for key, value in values.items())

    line = (
        f"policy [{result['policy']}] on {result['questions']} questions "
        f"({result['conversations']} conversation(s), {result['budget_words']} words): "
        f"recall {pairs(result['recall'])}; {result['items_stored']} items stored; "
        f"decisions {pairs(result['decisions'])} ({result['restated']} UPDATEs restating); "
        f"decision p95 {result['decision_p95_ms']} ms"
    )
    if "distractors" not in result:
        return line
    changed = {
        kind: f"{c['updated_or_deleted']}/{c['statements']}"
        for kind, c in result["distractors"]["by_kind"].items()
    }
    mentions = result["mentions"]
    return (
        f"{line}; changed memory: distractors {pairs(changed)}, "
        f"mentions {mentions['updated_or_deleted']}/{mentions['statements']}"
    )
