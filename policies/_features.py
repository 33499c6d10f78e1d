"""Features of (candidate, neighbours) for the learned memory manager, and its action space.

Pure numpy over the memory record types: no torch, no gymnasium, so the policy that runs in
the service and the RL environment that trains it (``policies._env``) share one definition.
The cues are the ones the heuristic policy uses (``policies._baselines``) and the
extractor's state slots (``memory.state_slots``), so the learned policy starts from what the
rules already know.

Every feature is scaled to about [-1, 1] and clipped to ``[-FEATURE_BOUND, FEATURE_BOUND]``.
Neighbour rows past the retrieved ones are zero, with ``mask`` 0. A retrieved neighbour the
candidate may not change has ``mask`` :data:`CONTEXT` (0.5): the network reads it, but cannot
UPDATE or DELETE it. Those are other speakers' memories; memories marked ``distractor``
(hypothetical, denied or about someone else, as the service's slot model read them: a
person's new value is not a new version of "I never moved to Oslo", or the history would
give Oslo as where they lived before); and every neighbour of a candidate that is
hypothetical, denied or about someone else (such statements must not change a person's
facts, whatever the weights say), that asks rather than states, or that adds a value next to
the old one ("also", "another": the heuristic's rule too).

Actions (:data:`N_ACTIONS` = ``2 + 2 * K``): ``0`` ADD, ``1`` NOOP, ``2 + i`` UPDATE
neighbour ``i``, ``2 + K + i`` DELETE neighbour ``i`` (pointer-style: the target is a slot
of the neighbour list). :func:`decision_for` treats a target past the retrieved neighbours
as ADD; :func:`action_mask` says which actions have a real target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from memory import Candidate, Decision, MemoryRecord, Operation, ScoredMemory
from memory._english import hypothetical, relative_news
from memory.errors import InvalidInputError
from policies._baselines import (
    _ADDITIVE,
    _DENIAL,
    _RETRACTION,
    _candidate_slots,
    _is_question,
    _record_slots,
    _statement,
    _subject,
    _words,
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
    "changeable",
    "decision_for",
    "featurize",
    "flatten_observation",
    "joined_features",
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
# "I", "I'm", "me", "we're"...: the words, as _words splits them, of speaking in the first person.
_FIRST_PERSON = frozenset(("i", "me", "my", "mine", "we", "us", "our"))

Features = npt.NDArray[np.float32]
_NO_ROW = (0.0,) * _NF


def _log_days(seconds: float) -> float:
    # The only unbounded features in principle (dates centuries apart), so clipped here.
    value = math.copysign(math.log1p(abs(seconds) / _DAY), seconds) * _LOG_SCALE
    return max(-FEATURE_BOUND, min(FEATURE_BOUND, value))


def _epoch(value: datetime) -> float:
    """Seconds since 1970; a naive time is taken as UTC, as the store does."""
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()


class _Version(NamedTuple):
    """What the features read from one version of a memory, computed once per version.

    A decision reads five neighbours, and the same versions come back decision after
    decision; the parts that do not change are kept here (:func:`_version`).
    """

    source: tuple[object, ...]  # the fields the rest derive from, to check a memo
    tokens: frozenset[str]
    lowered: str
    entities: frozenset[str]
    speaker: object
    slots: frozenset[str] | None  # as tagged in the metadata; None: read from the text
    distractor: bool  # marked so in the metadata: hypothetical, denied or about someone else
    valid_from: float | None
    since: float  # valid_from, else when it was recorded
    versions: float


_VERSIONS: dict[tuple[str, int], _Version] = {}
_VERSIONS_KEPT = 1 << 14


def _version(record: MemoryRecord) -> _Version:
    """The memo of ``record``'s version. A version never changes once written; the check of
    the fields it is read from still guards against two stores (or hand-built records)
    reusing an id. Of the metadata only the three keys read are compared: the whole mapping
    (ten keys in a conversation's turn, the turn's text among them) costs more."""
    metadata = record.metadata or {}
    speaker, given = metadata.get("speaker"), metadata.get("slots")
    distractor = metadata.get("distractor") is True
    source = (
        record.text,
        record.entities,
        speaker,
        given,
        distractor,
        record.valid_from,
        record.recorded_at,
    )
    known = _VERSIONS.get((record.id, record.version))
    if known is not None and known.source == source:
        return known
    valid_from = _epoch(record.valid_from) if record.valid_from is not None else None
    known = _Version(
        source,
        _words(record.text),
        record.text.lower(),
        frozenset(e.lower() for e in record.entities),
        speaker,
        frozenset(str(slot) for slot in given) if isinstance(given, list | tuple) else None,
        distractor,
        valid_from,
        valid_from if valid_from is not None else _epoch(record.recorded_at),
        math.log(max(1, record.version)) * 0.5,
    )
    if len(_VERSIONS) >= _VERSIONS_KEPT:
        _VERSIONS.clear()
    _VERSIONS[(record.id, record.version)] = known
    return known


def _about_other(said: str, candidate: Candidate) -> bool:
    """True when the statement names someone else and nothing in the first person, or is a
    relative's news ("my sister moved to Oslo")."""
    words = _words(said)
    if relative_news(said, words):
        return True
    if not _FIRST_PERSON.isdisjoint(words):
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
    cand, rows, mask = _features(candidate, neighbours, now)
    padding = K - len(rows)
    return (
        np.array(cand, np.float32),
        np.array(rows + [_NO_ROW] * padding, np.float32),
        np.array(mask + [0.0] * padding, np.float32),
    )


def joined_features(
    candidate: Candidate, neighbours: Sequence[ScoredMemory], *, now: datetime | None = None
) -> tuple[Features, list[float]]:
    """:func:`featurize` laid out for :meth:`policies._network.Network.decide`.

    Returns:
        One row per neighbour slot, ``[neighbour features, candidate features, 1]`` (a
        padding slot's neighbour features are zero), shape ``(K, F + C + 1)``; and the mask
        as Python floats.
    """
    cand, rows, mask = _features(candidate, neighbours, now)
    tail = (*cand, 1.0)
    padding = K - len(rows)
    joined = np.array([row + tail for row in rows] + [_NO_ROW + tail] * padding, np.float32)
    return joined, mask + [0.0] * padding


def _features(
    candidate: Candidate, neighbours: Sequence[ScoredMemory], now: datetime | None
) -> tuple[tuple[float, ...], list[tuple[float, ...]], list[float]]:
    """The candidate's features, one row per retrieved neighbour, and their mask, as Python
    floats: item writes into numpy arrays cost more than the features themselves."""
    said = _statement(candidate)
    metadata = candidate.metadata
    slots = _candidate_slots(candidate)
    subject = _subject(candidate)
    hits = neighbours[:K]
    denial = _DENIAL.search(said) is not None
    retraction = _RETRACTION.search(said) is not None
    wishes = bool(metadata.get("hypothetical")) or hypothetical(said)
    distractor = metadata.get("distractor") is True
    about_other = _about_other(said, candidate)
    # Such a statement changes nobody's facts: its neighbours are context, not targets.
    modal = wishes or distractor or about_other or (denial and not retraction)
    question = _is_question(candidate)
    additive = _ADDITIVE.search(said) is not None
    fixed = modal or question or additive
    cand = (
        denial,
        retraction,
        wishes,
        distractor,
        question,
        additive,
        about_other,
        bool(slots),
        "date_expression" in metadata,
        math.log1p(len(candidate.text.split())) * _LOG_SCALE,
        math.log1p(len(candidate.entities)) * 0.5,
        len(hits) / K,
    )
    rows: list[tuple[float, ...]] = []
    mask: list[float] = []
    if not hits:
        return cand, rows, mask
    words = _words(candidate.text)
    entities = frozenset(e.lower() for e in candidate.entities)
    lowered_subject = subject.lower() if subject is not None else None
    when = _epoch(candidate.time) if candidate.time is not None else None
    if now is not None:
        reference = _epoch(now)
    else:
        reference = when if when is not None else datetime.now(UTC).timestamp()
    n_words, n_entities = len(words), len(entities)
    for i, hit in enumerate(hits):
        record = hit.record
        known = _version(record)
        speaker = known.speaker
        same_subject = lowered_subject is not None and (
            speaker == subject
            or lowered_subject in known.entities
            or lowered_subject in known.lowered
        )
        same_slot = False
        if same_subject and slots:
            stated = known.slots if known.slots is not None else _record_slots(hit, subject)
            same_slot = not slots.isdisjoint(stated)
        same_speaker = candidate.speaker is not None and speaker == candidate.speaker
        target = (
            not fixed
            and not known.distractor
            and (same_speaker or candidate.speaker is None or speaker is None)
        )
        mask.append(1.0 if target else CONTEXT)
        components = hit.components
        # Jaccard overlaps and log-days, inline: a call each costs more than its arithmetic.
        shared = len(words & known.tokens)
        tokens = shared / (n_words + len(known.tokens) - shared) if shared else 0.0
        shared = len(entities & known.entities)
        named = shared / (n_entities + len(known.entities) - shared) if shared else 0.0
        gap = 0.0
        if when is not None and known.valid_from is not None:
            gap = _log_days(when - known.valid_from)
        age = math.log1p(max(0.0, reference - known.since) / _DAY) * _LOG_SCALE
        rows.append(
            (
                components.get("vector", hit.score),
                math.log1p(max(0.0, components.get("bm25", 0.0))) * 0.5,
                i / K,
                tokens,
                named,
                same_subject,
                same_slot,
                same_speaker,
                gap,
                age if age < FEATURE_BOUND else FEATURE_BOUND,
                math.tanh(record.utility),
                record.is_current,
                known.versions,
            )
        )
    return cand, rows, mask


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


def changeable(candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> list[bool]:
    """Which of ``neighbours`` the candidate may UPDATE or DELETE: the mask's 1s (module
    docstring), for any number of neighbours. A policy that decides otherwise (a model's
    answer) is held to the same rules as the learned one."""
    allowed: list[bool] = []
    for start in range(0, len(neighbours), K):
        _, _, mask = _features(candidate, neighbours[start : start + K], None)
        allowed += [m >= 1.0 for m in mask]
    return allowed


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
