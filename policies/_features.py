"""Features of (candidate, neighbours) for the learned memory manager, and its action space.

Pure numpy over the memory record types: no torch, no gymnasium, so the policy that runs in
the service and the RL environment that trains it (``policies._env``) share one definition.
The cues are the ones the heuristic policy uses (``policies._baselines``) and the
extractor's state slots (``memory.state_slots``), so the learned policy starts from what the
rules already know.

Every feature is scaled to about [-1, 1] and clipped to ``[-FEATURE_BOUND, FEATURE_BOUND]``.
Neighbour rows past the retrieved ones are zero, with ``mask`` 0. A retrieved neighbour the
candidate may not change has ``mask`` :data:`CONTEXT` (0.5): the network reads it, but cannot
UPDATE or DELETE it. Those are other speakers' memories, and every neighbour of a candidate
that is hypothetical, denied or about someone else: such statements must not change a
person's facts, whatever the weights say.

Actions (:data:`N_ACTIONS` = ``2 + 2 * K``): ``0`` ADD, ``1`` NOOP, ``2 + i`` UPDATE
neighbour ``i``, ``2 + K + i`` DELETE neighbour ``i`` (pointer-style: the target is a slot
of the neighbour list). :func:`decision_for` treats a target past the retrieved neighbours
as ADD; :func:`action_mask` says which actions have a real target.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from memory import Candidate, Decision, Operation, ScoredMemory
from memory.errors import InvalidInputError
from policies._baselines import (
    _ADDITIVE,
    _DENIAL,
    _HYPOTHETICAL,
    _RETRACTION,
    _candidate_slots,
    _is_question,
    _mentions,
    _record_slots,
    _statement,
    _subject,
)

__all__ = [
    "CANDIDATE_FEATURES",
    "CONTEXT",
    "FEATURES",
    "FEATURE_BOUND",
    "NEIGHBOUR_FEATURES",
    "N_ACTIONS",
    "OBSERVATION_SIZE",
    "K",
    "action_mask",
    "decision_for",
    "featurize",
    "flatten_observation",
]

K = 5
"""Neighbours a decision considers (``remember(..., neighbours=K)``)."""

FEATURE_BOUND = 8.0
CONTEXT = 0.5
"""``mask`` value of a neighbour that is shown to the network but may not be a target."""

CANDIDATE_FEATURES: tuple[str, ...] = (
    "negation",  # a denial: "didn't", "not true", "joking"
    "retraction",  # a state ends: "no longer", "sold", "quit"
    "hypothetical",  # modality: "if", "would", "thinking about", "plan to"
    "distractor",  # the slot model reads it as hypothetical, denied or about someone else
    "question",  # asks rather than states
    "additive",  # a value next to the old one: "another", "also", "second"
    "about_other",  # says something about someone else, not the speaker
    "has_slot",  # states a changeable slot (residence, job, car, pet, ...)
    "has_date",  # names a date ("last week", "in May")
    "length",  # log words
    "entities",  # log number of entities
    "neighbours",  # retrieved neighbours / K
)
NEIGHBOUR_FEATURES: tuple[str, ...] = (
    "vector",  # cosine similarity of the embeddings
    "bm25",  # log1p BM25 score (0 when retrieval was by vector only, as in remember())
    "rank",  # position in the best-first list / K
    "token_jaccard",  # Jaccard overlap of the lower-cased words
    "entity_jaccard",  # Jaccard overlap of the entities
    "same_subject",  # the neighbour is about the candidate's subject
    "same_slot",  # ... and states one of the candidate's slots
    "same_speaker",  # said by the candidate's speaker
    "time_gap",  # signed log days, candidate time - neighbour valid_from (world time)
    "age",  # log days from the neighbour's valid_from (or recording) to ``now``
    "utility",  # tanh of the neighbour's utility
    "is_current",  # the live version of a memory that is not deleted
    "versions",  # log of the neighbour's version number
)
FEATURES: tuple[str, ...] = (
    *(f"candidate.{name}" for name in CANDIDATE_FEATURES),
    *(f"neighbour.{name}" for name in NEIGHBOUR_FEATURES),
)
N_ACTIONS = 2 + 2 * K
OBSERVATION_SIZE = len(CANDIDATE_FEATURES) + K * len(NEIGHBOUR_FEATURES) + K
"""Length of :func:`flatten_observation`: candidate features, neighbour rows, mask."""

_NC = len(CANDIDATE_FEATURES)
_NF = len(NEIGHBOUR_FEATURES)
_DAY = 86400.0
_LOG_SCALE = 1.0 / 4.0  # log1p(days) / 4: a day ~0.17, a month ~0.86, a year ~1.5
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'll|I'd|me|my|mine|we|we're|us|our)\b", re.I)
_WORDS = re.compile(r"[a-z0-9]+")

Features = npt.NDArray[np.float32]


@lru_cache(maxsize=1 << 14)
def _tokens(text: str) -> frozenset[str]:
    # Memoised: the same neighbour texts come back decision after decision.
    return frozenset(_WORDS.findall(text.lower()))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def _log_days(seconds: float) -> float:
    # The only unbounded features in principle (dates centuries apart), so clipped here.
    value = math.copysign(math.log1p(abs(seconds) / _DAY), seconds) * _LOG_SCALE
    return max(-FEATURE_BOUND, min(FEATURE_BOUND, value))


@lru_cache(maxsize=1 << 14)
def _lowered(entities: tuple[str, ...]) -> frozenset[str]:
    return frozenset(e.lower() for e in entities)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _about_other(said: str, candidate: Candidate) -> bool:
    """True when the statement names someone else and nothing in the first person."""
    if _FIRST_PERSON.search(said):
        return False
    speaker = (candidate.speaker or "").lower()
    lowered = said.lower()
    return any(
        entity[:1].isupper() and entity.lower() != speaker and entity.lower() in lowered
        for entity in candidate.entities
    )


def featurize(
    candidate: Candidate, neighbours: Sequence[ScoredMemory], *, now: datetime | None = None
) -> tuple[Features, Features, Features]:
    """Features of one decision.

    Args:
        candidate: The candidate memory.
        neighbours: Its retrieved neighbours, best first; only the first :data:`K` count.
        now: Reference time for the neighbours' age; defaults to the candidate's time, else
            the current time.

    Returns:
        ``(candidate_features, neighbour_features, mask)`` as float32 arrays of shapes
        ``(len(CANDIDATE_FEATURES),)``, ``(K, len(NEIGHBOUR_FEATURES))`` and ``(K,)``.
    """
    said = _statement(candidate)
    metadata = candidate.metadata
    slots = _candidate_slots(candidate)
    subject = _subject(candidate)
    hits = neighbours[:K]
    # Rows are built as Python floats and converted once: item writes into numpy arrays
    # cost more than the features themselves.
    denial = _DENIAL.search(said) is not None
    retraction = _RETRACTION.search(said) is not None
    hypothetical = bool(metadata.get("hypothetical")) or _HYPOTHETICAL.search(said) is not None
    distractor = metadata.get("distractor") is True
    about_other = _about_other(said, candidate)
    # Such a statement changes nobody's facts: its neighbours are context, not targets.
    modal = hypothetical or distractor or about_other or (denial and not retraction)
    cand = np.array(
        (
            denial,
            retraction,
            hypothetical,
            distractor,
            _is_question(candidate),
            _ADDITIVE.search(said) is not None,
            about_other,
            bool(slots),
            "date_expression" in metadata,
            math.log1p(len(candidate.text.split())) * _LOG_SCALE,
            math.log1p(len(candidate.entities)) * 0.5,
            len(hits) / K,
        ),
        np.float32,
    )
    neigh = np.zeros((K, _NF), np.float32)
    mask = np.zeros(K, np.float32)
    if not hits:
        return cand, neigh, mask
    words = _tokens(candidate.text)
    entities = _lowered(tuple(candidate.entities))
    when = _aware(candidate.time) if candidate.time is not None else None
    reference = _aware(now) if now is not None else when or datetime.now(UTC)
    rows = []
    targets = []
    for i, hit in enumerate(hits):
        record = hit.record
        components = hit.components
        same_subject = subject is not None and _mentions(hit, subject)
        speaker = record.metadata.get("speaker") if record.metadata else None
        same_speaker = candidate.speaker is not None and speaker == candidate.speaker
        targets.append(not modal and (same_speaker or candidate.speaker is None or speaker is None))
        valid_from = record.valid_from
        gap = 0.0
        if when is not None and valid_from is not None:
            gap = _log_days((when - _aware(valid_from)).total_seconds())
        since = _aware(valid_from if valid_from is not None else record.recorded_at)
        rows.append(
            (
                components.get("vector", hit.score),
                math.log1p(max(0.0, components.get("bm25", 0.0))) * 0.5,
                i / K,
                _jaccard(words, _tokens(record.text)),
                _jaccard(entities, _lowered(tuple(record.entities))),
                same_subject,
                same_subject and bool(slots) and bool(slots & _record_slots(hit, subject)),
                same_speaker,
                gap,
                _log_days(max(0.0, (reference - since).total_seconds())),
                math.tanh(record.utility),
                record.is_current,
                math.log(max(1, record.version)) * 0.5,
            )
        )
    neigh[: len(rows)] = rows
    mask[: len(rows)] = [1.0 if target else CONTEXT for target in targets]
    return cand, neigh, mask


def flatten_observation(
    cand: Features,
    neigh: Features,
    mask: Features,
    out: Features | None = None,
) -> Features:
    """The environment's flat observation: candidate features, neighbour rows, mask."""
    flat = np.empty(OBSERVATION_SIZE, np.float32) if out is None else out
    a, b = cand.size, cand.size + neigh.size
    flat[:a] = cand
    flat[a:b] = neigh.reshape(-1)
    flat[b:] = mask
    return flat


def action_mask(mask: Features) -> npt.NDArray[np.int8]:
    """Which of the :data:`N_ACTIONS` actions are valid (1): ADD, NOOP and allowed targets."""
    valid = np.ones(N_ACTIONS, np.int8)
    present = (mask[:K] >= 1.0).astype(np.int8)
    valid[2 : 2 + K] = present
    valid[2 + K :] = present
    return valid


def decision_for(
    action: int,
    candidate: Candidate,
    neighbours: Sequence[ScoredMemory],
    *,
    confidence: float = 1.0,
    reason: str | None = None,
) -> Decision:
    """The decision an action stands for; an UPDATE/DELETE without a neighbour is an ADD."""
    action = int(action)
    if not 0 <= action < N_ACTIONS:
        raise InvalidInputError(f"action must be an integer in 0..{N_ACTIONS - 1}, got {action!r}")
    if action == 1:
        return Decision(Operation.NOOP, confidence=confidence, reason=reason)
    index = (action - 2) % K
    if action >= 2 and index < len(neighbours):
        target = neighbours[index].record.id
        if action < 2 + K:
            return Decision(
                Operation.UPDATE,
                target=target,
                text=candidate.text,
                confidence=confidence,
                reason=reason,
            )
        return Decision(Operation.DELETE, target=target, confidence=confidence, reason=reason)
    return Decision(Operation.ADD, text=candidate.text, confidence=confidence, reason=reason)


def action_of(decision: Decision, neighbours: Sequence[ScoredMemory]) -> int:
    """The action id of ``decision`` (the inverse of :func:`decision_for`).

    An UPDATE or DELETE of a memory outside the first :data:`K` neighbours maps to ADD.
    """
    if decision.operation is Operation.NOOP:
        return 1
    if decision.operation in (Operation.UPDATE, Operation.DELETE):
        ids = [hit.record.id for hit in neighbours[:K]]
        if decision.target in ids:
            index = ids.index(decision.target)
            return 2 + index if decision.operation is Operation.UPDATE else 2 + K + index
    return 0
