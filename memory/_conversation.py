"""Conversations as plain records: turns grouped in dated sessions, plus evaluation questions.

These types carry raw dialogue only. Loaders (``memory._locomo``) build them from files and
extractors (``memory._extraction``) turn them into candidate memories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Conversation", "Question", "Session", "Turn"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance.

    Attributes:
        speaker: Who said it.
        text: What was said, verbatim.
        dia_id: Stable id of the turn (``"D3:7"``); evidence and provenance refer to it.
        session: Index of the session the turn belongs to.
        time: When the session took place (turns carry no finer time).
        caption: Caption of an image shared with the turn, if any.
    """

    speaker: str
    text: str
    dia_id: str
    session: int
    time: datetime
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """A dated sitting of the conversation."""

    index: int
    time: datetime
    turns: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class Question:
    """An evaluation question about a conversation.

    Attributes:
        question: The question text.
        answer: The reference answer; ``None`` for unanswerable (adversarial) questions.
        evidence: Ids of the turns that support the answer, normalised.
        category: The category code as written in the source, as a string.
        adversarial_answer: The tempting wrong answer of an unanswerable question, if given.
    """

    question: str
    answer: str | None
    evidence: tuple[str, ...]
    category: str
    adversarial_answer: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """A multi-session conversation between named speakers."""

    id: str
    speakers: tuple[str, ...]
    sessions: tuple[Session, ...]
    questions: tuple[Question, ...] = ()

    @property
    def turns(self) -> tuple[Turn, ...]:
        """Every turn, session by session, in order."""
        return tuple(turn for session in self.sessions for turn in session.turns)

    def turn(self, dia_id: str) -> Turn:
        """The turn with id ``dia_id``.

        Raises:
            KeyError: No turn has that id.
        """
        for candidate in self.turns:
            if candidate.dia_id == dia_id:
                return candidate
        raise KeyError(f"conversation {self.id!r} has no turn {dia_id!r}")
