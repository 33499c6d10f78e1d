"""Baseline memory-manager policies: add-all, and a similarity/slot heuristic."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memory import Candidate, Decision, Operation, ScoredMemory

__all__ = ["AddAllPolicy", "HeuristicPolicy"]


class AddAllPolicy:
    """Stores every candidate. The baseline every other policy must beat on size."""

    name = "add-all"

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        """Always ADD the candidate as it is."""
        return Decision(Operation.ADD, text=candidate.text, confidence=1.0, reason="add-all")


# Cues are deliberately generic English, never tuned to a data set.
_HYPOTHETICAL = re.compile(
    r"\b(if|would|could|might|maybe|perhaps|thinking (?:about|of)|considering|dream(?:s|ing)? of|"
    r"wish(?:es)?|hope to|plan(?:s|ning)? to|someday|what if|imagine)\b",
    re.IGNORECASE,
)
_DENIAL = re.compile(
    r"\b(not true|never (?:did|have|had|was)|didn't|did not|don't|do not|isn't|is not|"
    r"wasn't|was not|no,|rumou?r|joking|kidding)\b",
    re.IGNORECASE,
)
_RETRACTION = re.compile(
    r"\b(no longer|not any ?more|anymore|stopped|quit|gave up|broke up|sold|left|ended)\b",
    re.IGNORECASE,
)
# Slots whose value a newer statement replaces (moves, jobs, cars, pets, partners...).
_SLOTS: dict[str, re.Pattern[str]] = {
    "residence": re.compile(r"\b(live[sd]?|living|moved|moving|relocat\w*|home in|based in)\b", re.I),
    "job": re.compile(r"\b(works?|working|worked|job|employ\w*|hired|career|position)\b", re.I),
    "car": re.compile(r"\b(car|drives?|driving|vehicle|truck|bike)\b", re.I),
    "pet": re.compile(r"\b(pet|dog|cat|puppy|kitten|hamster|parrot)\b", re.I),
    "partner": re.compile(
        r"\b(partner|boyfriend|girlfriend|husband|wife|married|dating|engaged)\b", re.I
    ),
    "study": re.compile(r"\b(stud(?:y|ies|ying)|school|college|university|degree|major)\b", re.I),
    "favourite": re.compile(r"\bfavou?rite\b", re.I),
}


def slots_of(text: str) -> frozenset[str]:
    """The update-prone slots a text talks about."""
    return frozenset(name for name, pattern in _SLOTS.items() if pattern.search(text))


def _subject(candidate: Candidate) -> str | None:
    return candidate.speaker or (candidate.entities[0] if candidate.entities else None)


@dataclass(frozen=True, slots=True)
class HeuristicPolicy:
    """Similarity/slot rules in the shape of Mem0's 2025 pipeline.

    - near-duplicates of an existing memory are NOOP;
    - a retraction ("no longer", "sold", "quit") of a similar memory about the same subject
      DELETEs it;
    - a statement about the same subject and slot (residence, job, car, pet, partner...)
      with a new value UPDATEs the memory;
    - hypothetical or denied statements never change existing memories: they are ADDed as
      their own memories (their wording keeps the modality) and never UPDATE/DELETE;
    - anything else is ADDed.
    """

    duplicate_similarity: float = 0.93
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
        if _HYPOTHETICAL.search(text) or _DENIAL.search(text):
            return Decision(Operation.ADD, text=text, confidence=0.6, reason="modal or denied")
        subject = _subject(candidate)
        same_subject = [
            (hit, sim) for hit, sim in scored if subject is None or _mentions(hit, subject)
        ]
        if _RETRACTION.search(text):
            for hit, sim in same_subject:
                if sim >= self.retraction_similarity:
                    return Decision(
                        Operation.DELETE,
                        target=hit.record.id,
                        confidence=sim,
                        reason="retraction of a similar memory",
                    )
        slots = slots_of(text)
        if slots:
            for hit, sim in same_subject:
                if sim >= self.slot_similarity and slots & slots_of(hit.record.text):
                    return Decision(
                        Operation.UPDATE,
                        target=hit.record.id,
                        text=text,
                        confidence=sim,
                        reason=f"same subject and slot {sorted(slots & slots_of(hit.record.text))}",
                    )
        return Decision(Operation.ADD, text=text, confidence=0.8, reason="new information")


def _is_question(candidate: Candidate) -> bool:
    return bool(candidate.metadata.get("question")) or candidate.text.rstrip().endswith("?")


def _similarity(hit: ScoredMemory) -> float:
    # The vector component is a cosine in [-1, 1]; fall back to the fused score.
    return float(hit.components.get("vector", hit.score))


def _mentions(hit: ScoredMemory, subject: str) -> bool:
    record = hit.record
    speaker = record.metadata.get("speaker") if record.metadata else None
    lowered = subject.lower()
    return (
        speaker == subject
        or lowered in (e.lower() for e in record.entities)
        or lowered in record.text.lower()
    )
