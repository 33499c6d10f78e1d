"""An LLM-prompted memory-manager policy: the model reads the candidate and its neighbours.

The prompt is :data:`DEFAULT_POLICY_PROMPT`, in plain sight; pass ``prompt=`` to use your own.
Placeholders are replaced as text (JSON braces need no escaping): ``{candidate}``,
``{speaker}``, ``{time}`` and ``{neighbours}``.

A memory write never fails because of the model: an answer that cannot be used (not JSON, an
unknown operation, a target that is not one of the numbered neighbours) or a failed model call
becomes an ADD of the candidate with low confidence and a ``reason`` that says why, which the
service writes to the memory's history.

The model is held to the rules the other policies keep by construction
(:func:`policies._features.changeable`): a hypothetical, denied or second-hand candidate, a
question or a value added next to the old one changes no memory, and no candidate changes
another speaker's memory or one marked hypothetical or denied. An UPDATE or DELETE against
them is stored as an ADD whose ``reason`` says so.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from memory import Candidate, Decision, Operation, ScoredMemory
from memory.errors import ColonyError, InvalidInputError
from policies._features import changeable

__all__ = ["DEFAULT_POLICY_PROMPT", "LLMPolicy"]

logger = logging.getLogger(__name__)

DEFAULT_POLICY_PROMPT = """\
You manage a long-term memory. Decide what to do with a new candidate memory, given the
stored memories most similar to it.

Candidate (said by {speaker}, {time}):
{candidate}

Stored memories, most similar first:
{neighbours}

Operations (a hypothetical, denied or second-hand candidate changes no stored memory, and no
candidate changes a memory another speaker said; such answers are stored as ADD):
- ADD: the candidate is new information; store it as a new memory.
- UPDATE: the candidate changes or refines stored memory number N; "text" replaces it
  (merge what still holds).
- DELETE: the candidate says stored memory number N no longer holds; remove it.
- NOOP: the candidate adds nothing to what is stored.
Answer with one JSON object and no other text:
{"operation": "ADD|UPDATE|DELETE|NOOP", "target": <memory number for UPDATE/DELETE, else null>,
 "text": "<what to store for ADD/UPDATE>", "confidence": <0.0 to 1.0>}
"""

_PLACEHOLDERS = ("{candidate}", "{speaker}", "{time}", "{neighbours}")
# Long memories are cut in the prompt so one write stays a small request.
_MAX_SHOWN_CHARS = 400
# Confidence of a decision the model did not (usably) make.
FALLBACK_CONFIDENCE = 0.1
# The model's own confidence when it gives none.
_DEFAULT_CONFIDENCE = 0.5


class LLMPolicy:
    """Asks a language model for each decision (seconds per write, where a learned policy
    takes microseconds); the baseline a learned policy is measured against.

    Args:
        complete: Sends one prompt and returns the model's reply text. The orchestrator
            builds one from a chat model; tests pass a function.
        name: Recorded in the history of every change.
        neighbours_shown: How many of the best neighbours the prompt shows (and the model may
            target).
        prompt: The template; see :data:`DEFAULT_POLICY_PROMPT` for its placeholders.

    Raises:
        InvalidInputError: ``neighbours_shown`` is below 1 or ``prompt`` lacks a placeholder.
    """

    def __init__(
        self,
        complete: Callable[[str], str],
        *,
        name: str = "llm",
        neighbours_shown: int = 5,
        prompt: str = DEFAULT_POLICY_PROMPT,
    ) -> None:
        missing = [p for p in _PLACEHOLDERS if p not in prompt]
        problem = None
        if not callable(complete):
            problem = f"complete must be a function prompt -> reply, got {complete!r}"
        elif not isinstance(neighbours_shown, int) or neighbours_shown < 1:
            problem = f"neighbours_shown must be an int >= 1, got {neighbours_shown!r}"
        elif missing:
            problem = (
                f"the policy prompt lacks the placeholder(s) {', '.join(missing)}; "
                "start from policies.DEFAULT_POLICY_PROMPT"
            )
        if problem:
            raise InvalidInputError(problem)
        self.complete = complete
        self.neighbours_shown = neighbours_shown
        self.prompt = prompt
        self._name = name

    @property
    def name(self) -> str:
        """Recorded in the history of every change the policy makes."""
        return self._name

    def __repr__(self) -> str:
        return f"LLMPolicy(name={self._name!r}, neighbours_shown={self.neighbours_shown})"

    def render(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> str:
        """The prompt for one decision."""
        now = candidate.time or datetime.now(UTC)
        lines = [
            f"{n}. [id {hit.record.id}, {_age(hit, now)}{_said_by(hit)}] {_cut(hit.record.text)}"
            for n, hit in enumerate(neighbours[: self.neighbours_shown], start=1)
        ]
        return (
            self.prompt.replace("{speaker}", candidate.speaker or "unknown")
            .replace("{time}", candidate.time.isoformat() if candidate.time else "time unknown")
            .replace("{neighbours}", "\n".join(lines) or "(none)")
            .replace("{candidate}", _cut(candidate.text))
        )

    def decide(self, candidate: Candidate, neighbours: Sequence[ScoredMemory]) -> Decision:
        """Ask the model; an unusable answer or a failed call is an ADD that says why."""
        if not candidate.text.strip():
            return Decision(Operation.NOOP, confidence=1.0, reason="empty candidate")
        shown = list(neighbours[: self.neighbours_shown])
        try:
            reply = self.complete(self.render(candidate, shown))
        except (ColonyError, OSError) as exc:
            # Model outages must not lose the memory: it is stored, and the history says why.
            logger.warning("llm policy: model call failed, candidate ADDed: %s", exc)
            return _fallback(candidate, f"model call failed: {type(exc).__name__}: {exc}")
        decision = parse_decision(reply, candidate, shown)
        changes = decision.operation in (Operation.UPDATE, Operation.DELETE)
        if changes and decision.target is not None:
            ids = (hit.record.id for hit in shown)
            allowed = dict(zip(ids, changeable(candidate, shown), strict=True))
            if not allowed[decision.target]:
                return _fallback(
                    candidate,
                    f"{decision.operation.value} of memory {decision.target}, which this "
                    "candidate may not change (another speaker's memory, one marked "
                    "hypothetical or denied, or a hypothetical, denied or second-hand "
                    "candidate, a question or an added value)",
                    verdict="refused",
                )
        return decision


def parse_decision(reply: str, candidate: Candidate, shown: Sequence[ScoredMemory]) -> Decision:
    """Read a model's answer; anything unusable becomes an ADD with the reason.

    Args:
        reply: The model's text; the JSON object may be wrapped in prose or a code fence.
        candidate: The candidate decided on (its text is the default for ADD/UPDATE).
        shown: The neighbours as numbered in the prompt (1-based).
    """
    answer = _json_object(reply if isinstance(reply, str) else "")
    if answer is None:
        return _fallback(candidate, f"no JSON object with an 'operation' in {_snippet(reply)}")
    raw_op = answer.get("operation")
    try:
        operation = Operation(str(raw_op).strip().upper())
    except ValueError:
        return _fallback(candidate, f"unknown operation {raw_op!r}")
    confidence = _confidence(answer.get("confidence"))
    target = _target(answer.get("target"), shown)
    why = answer.get("reason")
    reason = f"llm: {why}" if isinstance(why, str) and why.strip() else "llm"
    if operation in (Operation.UPDATE, Operation.DELETE) and target is None:
        return _fallback(
            candidate,
            f"{operation.value} with target {answer.get('target')!r}, which is not one of the "
            f"{len(shown)} numbered memories",
        )
    text = answer.get("text")
    if not isinstance(text, str) or not text.strip():
        text = candidate.text
    if operation in (Operation.DELETE, Operation.NOOP):
        return Decision(operation, target=target, confidence=confidence, reason=reason)
    return Decision(operation, target=target, text=text, confidence=confidence, reason=reason)


def _fallback(candidate: Candidate, why: str, *, verdict: str = "unusable") -> Decision:
    return Decision(
        Operation.ADD,
        text=candidate.text,
        confidence=FALLBACK_CONFIDENCE,
        reason=f"llm answer {verdict}, stored as ADD: {why}",
    )


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` that has an ``operation`` key (prose, fences allowed)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict) and "operation" in value:
            return value
        start = text.find("{", start + 1)
    return None


def _target(raw: object, shown: Sequence[ScoredMemory]) -> str | None:
    """A neighbour's id from its 1-based number (or from its id, which models sometimes give)."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str):
        stripped = raw.strip().lstrip("#")
        ids = {hit.record.id for hit in shown}
        if stripped in ids:
            return stripped
        raw = int(stripped) if stripped.isdigit() else None
    if isinstance(raw, int) and 1 <= raw <= len(shown):
        return shown[raw - 1].record.id
    return None


def _confidence(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return _DEFAULT_CONFIDENCE
    try:
        value = float(raw)
    except ValueError:
        return _DEFAULT_CONFIDENCE
    return min(1.0, max(0.0, value)) if math.isfinite(value) else _DEFAULT_CONFIDENCE


def _age(hit: ScoredMemory, now: datetime) -> str:
    record = hit.record
    then = record.valid_from or record.recorded_at
    days = (_aware(now) - _aware(then)).days
    if days < 0:
        return f"stated {then.date().isoformat()}"
    return "from today" if days == 0 else f"{days} day{'s' if days != 1 else ''} old"


def _said_by(hit: ScoredMemory) -> str:
    speaker = hit.record.metadata.get("speaker") if hit.record.metadata else None
    return f", said by {speaker}" if isinstance(speaker, str) and speaker else ""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _cut(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_SHOWN_CHARS else flat[: _MAX_SHOWN_CHARS - 3] + "..."


def _snippet(reply: object) -> str:
    return repr(str(reply)[:120])
