"""A gymnasium environment for training a memory manager (issue 4).

An episode streams the candidates of one conversation, in order, through the agent into a
fresh in-memory :class:`memory.MemoryService`. Each step is one candidate: the observation is
:func:`policies._features.featurize` of the candidate and the neighbours the service retrieves
for it, the action is ADD / NOOP / UPDATE(i) / DELETE(i) (see ``policies._features``).

The store is driven only through :meth:`MemoryService.remember`, exactly as a deployed policy
is: to observe, ``remember`` runs the candidate with a policy that records the neighbours and
answers NOOP (nothing is written); to act, it runs it again with a policy that answers the
chosen action. Nothing is written between the two calls, so both see the same neighbours (this
is checked). It costs one retrieval more per step than driving the service's private methods,
and keeps the environment's store the one a real run would build.

Reward: 0 on every step but the last, which gets

    recall + update_weight * update_correctness - item_cost * items

- ``recall``: the mean evidence recall, in [0, 1], of the conversation's questions (category 5
  and questions without evidence excluded), each question searched as ``benchmarks.locomo``
  does and its hits packed into ``budget_words``.
- ``update_correctness``: ``(right - wrong) / max(1, opportunities)``, clipped to [-1, 1].
  An UPDATE is right when its target is about the candidate's subject and shares one of its
  state slots, and the candidate is not negated, hypothetical or a question; a DELETE is right
  when, in addition, the candidate is a retraction ("no longer", "sold"). Every other UPDATE or
  DELETE is wrong (a distractor changed memory). Opportunities are the candidates that could
  have been a right UPDATE or DELETE (a clean statement with a same-subject, same-slot
  neighbour), so a policy that never updates scores 0 and one that updates wrongly scores < 0.
  The cues are the rule-based ones of ``policies._baselines``: weak labels, not ground truth.
- ``items``: the current memories in the store at the end.

``info`` of the last step holds each term; ``info["action_mask"]`` (every step) marks the
actions with an allowed target. An UPDATE or DELETE of a neighbour slot that is empty, or
whose memory the candidate may not change (``policies._features.CONTEXT``), is an ADD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from memory import (
    SYSTEM,
    Candidate,
    Conversation,
    Decision,
    Embedder,
    HashEmbedder,
    MemoryPolicy,
    MemoryService,
    Operation,
    ScoredMemory,
    extract_conversation,
)
from memory.errors import InvalidInputError
from policies._features import (
    CANDIDATE_FEATURES,
    FEATURE_BOUND,
    N_ACTIONS,
    NEIGHBOUR_FEATURES,
    OBSERVATION_SIZE,
    K,
    action_mask,
    action_of,
    decision_for,
    featurize,
    flatten_observation,
)
from policies._synthetic import DISTRACTOR_KINDS, TRAINING_EXTRACTOR

__all__ = ["MemoryManagerEnv"]

# Statements that must leave memory as it is: distractors, and mentions of a value that holds.
_UNCHANGING = DISTRACTOR_KINDS | {"mention"}


def _expected_updates(statements: Sequence[Any]) -> dict[str, tuple[str, str | None]]:
    """dia id -> (kind, the dia id of the value a change replaces), from labelled statements."""
    last: dict[tuple[str, str], str] = {}
    expected: dict[str, tuple[str, str | None]] = {}
    for st in statements:
        replaces = None
        if st.sets_slot and st.slot is not None:
            replaces = last.get((st.person, st.slot))
            last[(st.person, st.slot)] = st.dia_id
        expected[st.dia_id] = (st.kind, replaces if st.kind == "change" else None)
    return expected


Observation = npt.NDArray[np.float32]
_SAME_SLOT = NEIGHBOUR_FEATURES.index("same_slot")
_Features = tuple[Observation, Observation, Observation]


def _empty_features() -> _Features:
    return (
        np.zeros(len(CANDIDATE_FEATURES), np.float32),
        np.zeros((K, len(NEIGHBOUR_FEATURES)), np.float32),
        np.zeros(K, np.float32),
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A conversation ready for episodes: its candidates, with their embeddings."""

    conversation: Conversation
    candidates: tuple[Candidate, ...]


class _Peek:
    """Records the neighbours ``remember`` retrieved and writes nothing."""

    name = "env-observe"

    def __init__(self) -> None:
        self.neighbours: list[ScoredMemory] = []
        self.candidate: Candidate | None = None

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        # The service hands policies the candidate as it tagged it (slots, distractor).
        self.candidate = candidate
        self.neighbours = list(neighbours)
        return Decision(Operation.NOOP, reason="observe")


class _Act:
    """Answers the environment's action for the neighbours ``remember`` retrieved."""

    name = "env-action"

    def __init__(self, action: int, expected: Sequence[str]) -> None:
        self.action = action
        self.expected = list(expected)
        self.decision: Decision | None = None

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        seen = [hit.record.id for hit in neighbours]
        if seen != self.expected:
            raise RuntimeError(
                f"neighbours changed between observing and acting: {self.expected} -> {seen}"
            )
        self.decision = decision_for(self.action, candidate, neighbours, reason="env")
        return self.decision


class MemoryManagerEnv(gym.Env[Observation, np.int64]):
    """Streams one conversation's candidates through the agent into a fresh memory store.

    Args:
        conversations: The conversations episodes are drawn from (uniformly, with the
            environment's seeded generator); ``reset(options={"conversation": i})`` picks one.
        embedder: Embeds candidates and questions; :class:`memory.HashEmbedder` by default
            (fast; MiniLM gives realistic similarities at ~300 sentences/s).
        budget_words: Words of retrieved memory each question may use.
        budgets: Another budget for some conversations, by conversation id: LoCoMo's
            narrative turns are asked at 300 words where a synthetic conversation's short
            facts are asked at 30.
        item_cost: Reward cost of each memory stored at the end.
        update_weight: Weight of the update-correctness term.
        teacher: A policy whose choice for each observation is reported as
            ``info["teacher_action"]`` (for imitation before reinforcement).
        labels: Ground truth by conversation id: the statements of
            :func:`policies.synthetic_samples` (``dia_id``, ``person``, ``kind``, ``slot``,
            ``sets_slot``). With them every step is also rewarded ``shaping`` for an UPDATE of
            the memory holding the value a change replaces, and charged ``shaping`` for an
            UPDATE or DELETE caused by a distractor or a mention, or aimed at the wrong
            memory (half of it for missing an update whose target was in view).
        shaping: Size of that per-step reward.

    Candidates (extracted with :class:`memory.RuleExtractor`, session by session) and their
    embeddings are computed once per conversation, at construction.
    """

    def __init__(
        self,
        conversations: Sequence[Conversation],
        *,
        embedder: Embedder | None = None,
        budget_words: int = 300,
        budgets: Mapping[str, int] | None = None,
        item_cost: float = 0.0005,
        update_weight: float = 0.5,
        teacher: MemoryPolicy | None = None,
        labels: Mapping[str, Sequence[Any]] | None = None,
        shaping: float = 0.05,
    ) -> None:
        if not conversations:
            raise InvalidInputError("MemoryManagerEnv needs at least one conversation")
        for name, value in [("budget_words", budget_words), *(budgets or {}).items()]:
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InvalidInputError(
                    f"the word budget of {name!r} must be a positive integer, got {value!r}"
                )
        if not math.isfinite(item_cost) or item_cost < 0:
            raise InvalidInputError(f"item_cost must be a finite number >= 0, got {item_cost!r}")
        self.embedder = embedder or HashEmbedder()
        self.budget_words = budget_words
        self.budgets = dict(budgets or {})
        self.item_cost = float(item_cost)
        self.update_weight = float(update_weight)
        self.teacher = teacher
        self.shaping = float(shaping)
        self._expected = {
            conv_id: _expected_updates(statements) for conv_id, statements in (labels or {}).items()
        }
        self._prepared = [self._prepare(conv) for conv in conversations]
        self.observation_space = spaces.Box(
            -FEATURE_BOUND, FEATURE_BOUND, shape=(OBSERVATION_SIZE,), dtype=np.float32
        )
        self.action_space = spaces.Discrete(N_ACTIONS)
        self._service: MemoryService | None = None
        self._episode: _Prepared | None = None
        self._step = 0
        self._peek = _Peek()
        self._features = _empty_features()
        self._counts = {"right": 0, "wrong": 0, "opportunities": 0}
        self._operations: dict[str, int] = {}

    def _prepare(self, conv: Conversation) -> _Prepared:
        candidates = extract_conversation(conv, TRAINING_EXTRACTOR)
        if not candidates:
            raise InvalidInputError(
                f"conversation {conv.id!r} yields no candidate memories; drop it from the "
                "environment's conversations"
            )
        vectors = self.embedder.embed([c.text for c in candidates])
        ready = tuple(replace(c, embedding=v) for c, v in zip(candidates, vectors, strict=True))
        return _Prepared(conv, ready)

    @property
    def conversation(self) -> Conversation | None:
        """The conversation of the current episode."""
        return None if self._episode is None else self._episode.conversation

    @property
    def service(self) -> MemoryService | None:
        """The memory service of the current episode (read it, do not write to it)."""
        return self._service

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        """Start an episode on a conversation drawn with the seeded generator.

        ``options={"conversation": i}`` picks the ``i``-th conversation instead.
        """
        super().reset(seed=seed)
        choice = (options or {}).get("conversation")
        if choice is None:
            index = int(self.np_random.integers(len(self._prepared)))
        elif isinstance(choice, int) and 0 <= choice < len(self._prepared):
            index = choice
        else:
            raise InvalidInputError(
                f"options['conversation'] must be an index in 0..{len(self._prepared) - 1}, "
                f"got {choice!r}"
            )
        if self._service is not None:
            self._service.close()
        self._service = MemoryService.open(":memory:", embedder=self.embedder)
        self._episode = self._prepared[index]
        self._step = 0
        self._counts = {"right": 0, "wrong": 0, "opportunities": 0}
        self._operations = {op.value: 0 for op in Operation}
        return self._observe(), self._info()

    def step(
        self, action: np.int64 | int
    ) -> tuple[Observation, SupportsFloat, bool, bool, dict[str, Any]]:
        """Apply ``action`` to the current candidate and observe the next one."""
        if self._service is None or self._episode is None:
            raise InvalidInputError("call reset() before step()")
        if self._step >= len(self._episode.candidates):
            raise InvalidInputError("the episode has ended: call reset()")
        candidate = self._seen()
        neighbours = self._peek.neighbours
        act = _Act(self._allowed(int(action)), [hit.record.id for hit in neighbours])
        self._service.remember([candidate], principal=SYSTEM, policy=act, neighbours=K)
        assert act.decision is not None
        self._score(candidate, neighbours, act.decision)
        shaped = self._shaped(candidate, neighbours, act.decision)
        self._step += 1
        if self._step < len(self._episode.candidates):
            return self._observe(), shaped, False, False, self._info()
        terms = self._final_terms()
        reward = (
            shaped
            + terms["recall"]
            + self.update_weight * terms["update_correctness"]
            - self.item_cost * terms["items"]
        )
        self._features = _empty_features()
        info = {**self._info(), **terms, "operations": dict(self._operations)}
        return np.zeros(OBSERVATION_SIZE, np.float32), float(reward), True, False, info

    def close(self) -> None:
        """Close the episode's store."""
        if self._service is not None:
            self._service.close()
            self._service = None

    # -- internals ---------------------------------------------------------------------------

    def _observe(self) -> Observation:
        assert self._service is not None and self._episode is not None
        candidate = self._episode.candidates[self._step]
        self._service.remember([candidate], principal=SYSTEM, policy=self._peek, neighbours=K)
        self._features = featurize(self._seen(), self._peek.neighbours)
        return flatten_observation(*self._features)

    def _seen(self) -> Candidate:
        """The current candidate as the policy sees it (tagged by the service)."""
        assert self._peek.candidate is not None
        return self._peek.candidate

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"action_mask": action_mask(self._features[2]), "step": self._step}
        episode = self._episode
        if (
            self.teacher is not None
            and episode is not None
            and self._step < len(episode.candidates)
        ):
            decision = self.teacher.decide(self._seen(), self._peek.neighbours)
            info["teacher_action"] = self._allowed(action_of(decision, self._peek.neighbours))
        return info

    def _allowed(self, action: int) -> int:
        """``action``, or ADD when the mask forbids its target (see ``policies._features``)."""
        if 0 <= action < N_ACTIONS and not action_mask(self._features[2])[action]:
            return 0
        return action

    def _score(
        self, candidate: Candidate, neighbours: Sequence[ScoredMemory], decision: Decision
    ) -> None:
        """Count update opportunities and right / wrong UPDATEs and DELETEs (weak labels)."""
        self._operations[decision.operation.value] += 1
        cand, neigh, _ = self._features
        cue = dict(zip(CANDIDATE_FEATURES, (bool(v) for v in cand), strict=True))
        clean = not (cue["negation"] or cue["hypothetical"] or cue["distractor"] or cue["question"])
        same_slot = neigh[: len(neighbours), _SAME_SLOT] > 0
        if clean and same_slot.any():
            self._counts["opportunities"] += 1
        if decision.operation not in (Operation.UPDATE, Operation.DELETE):
            return
        index = next(i for i, hit in enumerate(neighbours) if hit.record.id == decision.target)
        right = clean and bool(same_slot[index])
        if decision.operation is Operation.DELETE:
            right = right and cue["retraction"]
        self._counts["right" if right else "wrong"] += 1

    def _shaped(
        self, candidate: Candidate, neighbours: Sequence[ScoredMemory], decision: Decision
    ) -> float:
        """The per-step reward from ground-truth labels (0 without labels)."""
        assert self._episode is not None
        expected = self._expected.get(self._episode.conversation.id)
        if not expected or not candidate.provenance:
            return 0.0
        kind, replaces = expected.get(candidate.provenance[0], (None, None))
        op = decision.operation
        changes = op in (Operation.UPDATE, Operation.DELETE)
        if kind in _UNCHANGING:
            return -self.shaping if changes else 0.0
        if kind != "change" or replaces is None:
            return 0.0
        right = next(
            (hit.record.id for hit in neighbours if replaces in hit.record.provenance), None
        )
        if op is Operation.UPDATE and right is not None and decision.target == right:
            return self.shaping
        if changes:
            return -self.shaping
        return -self.shaping / 2 if right is not None else 0.0

    def _final_terms(self) -> dict[str, float]:
        # Imported here: benchmarks/ imports policies/, so a module-level import would cycle.
        from benchmarks.locomo import EXCLUDED_CATEGORIES, SEARCH_DEPTH

        assert self._service is not None and self._episode is not None
        conv = self._episode.conversation
        namespace = self._episode.candidates[0].namespace
        budget = self.budgets.get(conv.id, self.budget_words)
        scores = []
        for q in conv.questions:
            if q.category in EXCLUDED_CATEGORIES or not q.evidence:
                continue
            packed = self._service.search(
                q.question,
                principal=SYSTEM,
                namespace_prefix=namespace,
                k=SEARCH_DEPTH,
                budget_words=budget,
            )
            found = {p for hit in packed for p in hit.record.provenance}
            scores.append(len(found & set(q.evidence)) / len(set(q.evidence)))
        counts = self._counts
        correctness = (counts["right"] - counts["wrong"]) / max(1, counts["opportunities"])
        return {
            "recall": float(np.mean(scores)) if scores else 0.0,
            "questions": float(len(scores)),
            "update_correctness": float(np.clip(correctness, -1.0, 1.0)),
            "items": float(self._service.stats()["current"]),
        }
