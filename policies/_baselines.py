"""Baseline memory-manager policies: add-all, and a similarity/slot heuristic."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# The extractor and this policy must agree on what a state statement is; memory/ does not
# export the helper yet, so it is imported from its module.
from memory import Candidate, Decision, Operation, ScoredMemory, state_slots
from memory._english import hypothetical, word_set

__all__ = ["DUPLICATE_SIMILARITY", "AddAllPolicy", "HeuristicPolicy", "repeated"]


class AddAllPolicy:
    """Stores every candidate. The baseline every other policy must beat on size."""

    name = "add-all"

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        """Always ADD the candidate as it is."""
        return Decision(Operation.ADD, text=candidate.text, confidence=1.0, reason="add-all")


class _Cue:
    """A cue pattern, and words one of which every match contains: a text with none of them
    is not searched.

    Decisions run in well under a millisecond; most statements contain no cue word, and a set
    lookup is far cheaper than a case-insensitive scan of every alternative.
    """

    __slots__ = ("pattern", "triggers")

    def __init__(self, pattern: str, triggers: str) -> None:
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.triggers = frozenset(triggers.split())

    def search(self, text: str) -> re.Match[str] | None:
        if self.triggers.isdisjoint(_words(text)):
            return None
        return self.pattern.search(text)


_words = word_set  # the cues read the words memory._english's predicates read
# Cues are deliberately generic English, never tuned to a data set. The triggers of each hold
# one whole word (as ``\w+`` reads it) of each alternative; a test checks them on real text.
_DENIAL = _Cue(
    r"\b(not true|never (?:did|have|had|was)|didn't|did not|don't|do not|isn't|is not|"
    r"wasn't|was not|no,|rumou?r|joking|kidding)\b",
    "not never didn don isn wasn no rumour rumor joking kidding",
)
_RETRACTION = _Cue(
    r"\b(no longer|not any ?more|anymore|stopped|quit|gave up|broke up|sold|left|ended)\b",
    "longer more anymore stopped quit gave broke sold left ended",
)
# "another cat", "a second job", "also a dog": a value added next to the old one, not over it.
_ADDITIVE = _Cue(
    r"\b(another|also|as well|second|one more|too)\b", "another also well second more too"
)


DUPLICATE_SIMILARITY = 0.93
"""Cosine from which a candidate repeats a memory (the heuristic's NOOP; see :func:`repeated`)."""


def slots_of(text: str, subjects: Sequence[str] = ()) -> frozenset[str]:
    """The update-prone slots (residence, job, car, pet, partner...) ``text`` states.

    A slot counts only next to its subject ("I moved", "Ana works at", "my new car"), so
    "nice job!" states nothing about anyone's job.
    """
    return state_slots(text, subjects)


def _statement(candidate: Candidate) -> str:
    # The extractor keeps what was said apart from context it adds (a question asked).
    original = candidate.metadata.get("original")
    return original if isinstance(original, str) and original.strip() else candidate.text


def _candidate_slots(candidate: Candidate) -> frozenset[str]:
    given = candidate.metadata.get("slots")
    if isinstance(given, list | tuple):
        return frozenset(str(slot) for slot in given)
    subject = _subject(candidate)
    return slots_of(_statement(candidate), [subject] if subject else [])


def _record_slots(hit: ScoredMemory, subject: str | None) -> frozenset[str]:
    given = hit.record.metadata.get("slots") if hit.record.metadata else None
    if isinstance(given, list | tuple):
        return frozenset(str(slot) for slot in given)
    return slots_of(hit.record.text, [subject] if subject else [])


def _subject(candidate: Candidate) -> str | None:
    return candidate.speaker or (candidate.entities[0] if candidate.entities else None)


@dataclass(frozen=True, slots=True)
class HeuristicPolicy:
    """Similarity/slot rules in the shape of Mem0's 2025 pipeline.

    - near-duplicates of an existing memory are NOOP;
    - a retraction ("no longer", "sold", "quit") of a state (residence, job, car, pet,
      partner...) DELETEs a similar memory of the same subject stating that state;
    - a statement of the same subject and state with a new value UPDATEs the memory;
    - memories that state no such slot (a turn's narrative) are never UPDATEd or DELETEd,
      so one changed fact never wipes the rest of what was said, and a value added next
      to the old one ("another cat") is ADDed;
    - hypothetical or denied statements (by cue words, or marked ``distractor`` by the
      service's slot model) never change existing memories: they are ADDed as their own
      memories (their wording keeps the modality) and never UPDATE/DELETE;
    - nor are such memories (marked ``distractor``) UPDATEd or DELETEd by a statement of a
      fact: the history would give the denied or hypothetical value as the previous one;
    - anything else is ADDed.
    """

    duplicate_similarity: float = DUPLICATE_SIMILARITY
    slot_similarity: float = 0.55
    retraction_similarity: float = 0.6
    name: str = "heuristic"

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        """Decide for one candidate against best-first neighbours."""
        text = candidate.text.strip()
        if not text:
            return Decision(Operation.NOOP, confidence=1.0, reason="empty candidate")
        scored = [(hit, _similarity(hit)) for hit in neighbours]
        scored.sort(key=lambda pair: pair[1], reverse=True)
        if scored and scored[0][1] >= self.duplicate_similarity:
            top, sim = scored[0]
            return Decision(
                Operation.NOOP, target=top.record.id, confidence=sim, reason="near-duplicate"
            )
        if _is_question(candidate):
            # A question asserts nothing, so it never changes what is known.
            return Decision(Operation.ADD, text=text, confidence=0.7, reason="question")
        said = _statement(candidate)
        if _is_distractor(candidate, said):
            return Decision(Operation.ADD, text=text, confidence=0.6, reason="modal or denied")
        slots = _candidate_slots(candidate)
        if not slots:
            return Decision(Operation.ADD, text=text, confidence=0.8, reason="new information")
        subject = _subject(candidate)
        same_state = [
            (hit, sim, shared)
            for hit, sim in scored
            if (subject is None or _mentions(hit, subject))
            and hit.record.metadata.get("distractor") is not True
            and (shared := slots & _record_slots(hit, subject))
        ]
        if _RETRACTION.search(said) and not _states_new_value(said, subject):
            # A pure retraction ("I sold my car") ends the fact. One that also states the new
            # value ("I work at a studio now, I left the bakery") is an UPDATE below, so the
            # new value is not lost.
            for hit, sim, shared in same_state:
                if sim >= self.retraction_similarity:
                    return Decision(
                        Operation.DELETE,
                        target=hit.record.id,
                        confidence=sim,
                        reason=f"retraction of {sorted(shared)}",
                    )
        if _ADDITIVE.search(said):
            return Decision(Operation.ADD, text=text, confidence=0.7, reason="added value")
        for hit, sim, shared in same_state:
            if sim >= self.slot_similarity:
                return Decision(
                    Operation.UPDATE,
                    target=hit.record.id,
                    text=text,
                    confidence=sim,
                    reason=f"same subject and slot {sorted(shared)}",
                )
        return Decision(Operation.ADD, text=text, confidence=0.8, reason="new information")


_CLAUSE = re.compile(r"[,;]|\bbut\b|\band\b", re.IGNORECASE)


def _states_new_value(said: str, subject: str | None) -> bool:
    """True when a clause without a retraction cue still states a changeable fact."""
    subjects = (subject,) if subject else ()
    return any(
        slots_of(clause, subjects)
        for clause in _CLAUSE.split(said)
        if clause.strip() and not _RETRACTION.search(clause)
    )


def _is_distractor(candidate: Candidate, said: str) -> bool:
    """Hypothetical or denied by the cues, or read as a distractor by the slot model."""
    return (
        candidate.metadata.get("distractor") is True
        or hypothetical(said)
        or _DENIAL.search(said) is not None
    )


def _is_question(candidate: Candidate) -> bool:
    return bool(candidate.metadata.get("question")) or candidate.text.rstrip().endswith("?")


def _similarity(hit: ScoredMemory) -> float:
    # The vector component is a cosine in [-1, 1]; fall back to the fused score.
    return float(hit.components.get("vector", hit.score))


def repeated(
    candidate: Candidate, neighbours: Sequence[ScoredMemory], similarity: float
) -> tuple[ScoredMemory, float] | None:
    """The neighbour ``candidate`` only says again, and its similarity; None if there is none.

    A repeat is at least ``similarity`` (cosine) from the candidate's most similar neighbour,
    said by the same speaker (a near-copy of what someone else said is a different
    statement), and not a dated event told again with another date: "my phone cracked again
    this morning" on two days is two events, however alike the sentences.
    """
    if not neighbours:
        return None
    best = max(neighbours, key=_similarity)
    score = _similarity(best)
    if score < similarity:
        return None
    record = best.record
    speaker = record.metadata.get("speaker") if record.metadata else None
    if candidate.speaker is not None and speaker is not None and speaker != candidate.speaker:
        return None
    if "date_expression" in candidate.metadata and candidate.text.strip() != record.text.strip():
        return None
    return best, score


def _mentions(hit: ScoredMemory, subject: str) -> bool:
    record = hit.record
    speaker = record.metadata.get("speaker") if record.metadata else None
    lowered = subject.lower()
    return (
        speaker == subject
        or lowered in (e.lower() for e in record.entities)
        or lowered in record.text.lower()
    )
