"""Turning conversation turns into candidate memories.

:class:`RuleExtractor` needs no model: it keeps a turn's content sentences (no greetings
or filler), joins a question to the reply it gets, rewrites "I"/"you" into the
speakers' names, resolves relative dates against the session date, and spots entities; by
default each turn that says something gives one dense memory, so a conversation gives fewer
memories than turns. :class:`LLMExtractor` asks an injected model for facts instead. Both
return :class:`~memory._types.Candidate` objects whose provenance is the turn ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from memory._conversation import Conversation, Session, Turn
from memory._english import (
    content_words,
    is_dependent,
    is_reaction,
    is_small_talk,
    keyword_entities,
    mid_sentence_capitalised,
    proper_nouns,
    relative_news,
    rewrite_person,
    split_sentences,
    state_slots,
    strip_interjections,
    strip_vocatives,
)
from memory._locomo import normalize_evidence
from memory._namespace import Namespace, validate_namespace
from memory._temporal import DateMention, annotate_dates, find_dates, format_day, parse_datetime
from memory._types import WINDOW_KEY, Candidate, Tier
from memory.errors import InvalidInputError

__all__ = [
    "DEFAULT_PROMPT",
    "STATEMENT_METADATA",
    "Extractor",
    "LLMExtractor",
    "ModelOutputError",
    "RuleExtractor",
    "Source",
    "extract_conversation",
]

Source = Conversation | Session | Turn | Sequence[Turn]

STATEMENT_METADATA = frozenset(
    {
        "original",
        "question",
        "hypothetical",
        "about_other",
        "distractor",
        "caption",
        "context_turn",
        "reply_turn",
        WINDOW_KEY,
        "date_expression",
        "date_granularity",
        "date_approximate",
        "dates",
    }
)
"""Metadata keys that describe one statement, not the memory it is stored in: what was said,
whether it asked, supposed, gave someone else's news or was a distractor (the slot model's
flag), its caption and dates. An UPDATE takes the new statement's and drops the old one's,
so a denial's flag does not stay on the fact that replaced it."""

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "´": "'"})
_HYPOTHETICAL = re.compile(r"^\W*(?:if|imagine|suppose|what\s+if)\b|\bif\b.*\bwould\b", re.I)
_CAPTION_PREFIX = re.compile(
    r"^(?:a|an|the)\s+(?:photo(?:graph|graphy)?|picture|image|pic|close\s*-?\s*up|"
    r"screenshot)\s+(?:of\s+)?",
    re.I,
)
# A merged chunk stops growing here so one candidate never swallows a long monologue.
_MAX_CHUNK_WORDS = 60


class ModelOutputError(InvalidInputError):
    """A model's reply could not be read as the JSON facts that were asked for."""


@runtime_checkable
class Extractor(Protocol):
    """Turns dialogue into candidate memories."""

    @property
    def name(self) -> str:
        """The extractor's kind ("rule", "llm"); a frozen dataclass field satisfies it."""
        ...

    def extract(
        self, source: Source, speakers: Sequence[str] | None, namespace: Namespace
    ) -> list[Candidate]:
        """Return candidates for the turns of ``source``, in turn order.

        Args:
            source: A conversation, a session, one turn, or a sequence of turns; each turn
                carries its speaker, id and session time.
            speakers: Everyone taking part (resolves "you" when there are two); ``None``
                takes the conversation's speakers, or else the speakers of the turns.
            namespace: Namespace of the candidates.
        """
        ...


def _turns_and_speakers(
    source: Source, speakers: Sequence[str] | None
) -> tuple[tuple[Turn, ...], tuple[str, ...]]:
    if isinstance(source, Conversation):
        turns = source.turns
        default: Iterable[str] = source.speakers
    elif isinstance(source, Session):
        turns = source.turns
        default = ()
    elif isinstance(source, Turn):
        turns = (source,)
        default = ()
    elif isinstance(source, Sequence) and all(isinstance(t, Turn) for t in source):
        turns = tuple(source)
        default = ()
    else:
        raise InvalidInputError(
            "extract() takes a Conversation, a Session, a Turn or a sequence of Turns, "
            f"got {type(source).__name__}"
        )
    if speakers is None:
        speakers = tuple(dict.fromkeys([*default, *(t.speaker for t in turns)]))
    elif isinstance(speakers, str):
        raise InvalidInputError(
            f"speakers must be a sequence of names, got the string {speakers!r}"
        )
    return turns, tuple(speakers)


def _addressee(speaker: str, speakers: Sequence[str]) -> str | None:
    # "You" is only unambiguous in a two-person conversation.
    if len(speakers) == 2 and speaker in speakers:
        return speakers[1] if speakers[0] == speaker else speakers[0]
    return None


def _at(day: date, reference: datetime) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=reference.tzinfo)


def caption_sentence(speaker: str, caption: str) -> str:
    """Render an image caption as a fact: ``"Jon shared a photo of a man dancing."``."""
    text = " ".join(caption.split()).rstrip(".")
    rest = _CAPTION_PREFIX.sub("", text)
    if rest != text:
        return f"{speaker} shared a photo of {rest}."
    return f"{speaker} shared a photo: {text}."


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        if item and item.lower() not in seen:
            seen[item.lower()] = item
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class RuleExtractor:
    """Rule-based extraction: by default one candidate per turn that says something.

    A turn's candidate keeps only its content sentences (greetings, thanks and filler go;
    reactions too, if asked), written with names instead of "I"/"you", absolute dates next
    to relative ones, and the caption of a shared photo. A question that ends a turn is
    context for the reply, so it travels with the reply's candidate (and its turn id with
    the provenance) instead of becoming a memory of its own.

    Attributes:
        unit: ``"turn"`` (one candidate per turn with content) or ``"sentence"`` (one per
            run of related sentences, so long turns give several).
        drop_small_talk: Drop sentences that are only greetings, thanks or filler.
        drop_reactions: Drop reactions to the other speaker's news ("That bowl is
            gorgeous!") that say nothing about anyone. Off by default: what someone
            thought of a photo or a piece of news is asked about too ("What did Gina say
            about the dancers in the photo?"). Keeping them raised LoCoMo evidence recall
            at 300 words on conv-26 (83.17 -> 84.11, for 7% more memories); the figures
            on both conversations, then and since, are in ``benchmarks/README.md``.
        resolve_dates: Write absolute dates next to relative ones and set ``time``.
        attribute_speakers: Rewrite "I", "my", "you", ... into names.
        carry_questions: With ``unit="turn"``, fold a question that ends a turn into the
            other speaker's reply.
        window: Turns on each side of a candidate's turn, in its session, whose text it
            carries in its metadata (:data:`memory.WINDOW_KEY`) for keyword search to read
            with it: a reply is found by the topic the turns around it named. Not part of
            the memory's text, so not of a context's words. The turns come from the same
            source as the candidate, whose candidates all go to one namespace. 0 carries
            none. With 1, LoCoMo evidence recall at 300 words rose from 82.93 to 84.59
            (``benchmarks/README.md``).
        tier: Tier of the candidates.
    """

    name: str = "rule"
    unit: Literal["turn", "sentence"] = "turn"
    drop_small_talk: bool = True
    drop_reactions: bool = False
    resolve_dates: bool = True
    attribute_speakers: bool = True
    carry_questions: bool = True
    window: int = 1
    tier: Tier = Tier.SEMANTIC

    def __post_init__(self) -> None:
        if self.unit not in ("turn", "sentence"):
            raise InvalidInputError(f"unit must be 'turn' or 'sentence', got {self.unit!r}")
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 0:
            raise InvalidInputError(f"window must be an integer >= 0, got {self.window!r}")

    def extract(
        self, source: Source, speakers: Sequence[str] | None, namespace: Namespace
    ) -> list[Candidate]:
        """Return candidates for every turn of ``source`` (see :class:`Extractor`)."""
        namespace = validate_namespace(namespace)
        turns, names = _turns_and_speakers(source, speakers)
        # Words capitalised mid-sentence anywhere in the batch are names even at a
        # sentence start ("Paris was lovely").
        known = mid_sentence_capitalised(t.text for t in turns) | {n.lower() for n in names}
        out: list[Candidate] = []
        asked: _Asked | None = None
        for turn in turns:
            if self.unit == "sentence":
                out.extend(self.extract_turn(turn, names, namespace, known_proper=known))
                continue
            context = asked if asked and _answers(turn, asked.turn) else None
            if asked is not None and context is None:
                out.append(self._question(asked, names, namespace, known))
            found, asked = self._turn_candidate(turn, names, namespace, known, context)
            if context is not None and not found:
                # The reply said nothing on its own ("Yes!"): keep the question it answers.
                out.append(self._question(context, names, namespace, known, reply=turn))
            out.extend(found)
        if asked is not None:
            out.append(self._question(asked, names, namespace, known))
        return self._windowed(out, turns) if self.window else out

    def _windowed(self, candidates: list[Candidate], turns: Sequence[Turn]) -> list[Candidate]:
        """``candidates`` with the text of the turns around their own (the first of their
        provenance) in their session, as :attr:`window` says."""
        position: dict[str, int] = {}
        for index, turn in enumerate(turns):
            position.setdefault(turn.dia_id, index)
        out = []
        for candidate in candidates:
            at = position.get(candidate.provenance[0]) if candidate.provenance else None
            if at is None:
                out.append(candidate)
                continue
            start, own = max(0, at - self.window), turns[at]
            near = [t for t in turns[start : at + self.window + 1] if t.session == own.session]
            window = " ".join(" ".join(t.text.split()) for t in near if t is not own)
            out.append(
                _with_text(candidate, candidate.text, extra={WINDOW_KEY: window})
                if window
                else candidate
            )
        return out

    def _question(
        self,
        asked: _Asked,
        speakers: Sequence[str],
        namespace: Namespace,
        known: set[str],
        reply: Turn | None = None,
    ) -> Candidate:
        """A question no reply took in, as a memory of its own (with a bare reply, if any)."""
        turn = asked.turn
        others = [s for s in speakers if s != turn.speaker]
        candidate = self._candidate(
            turn, asked.raw, _addressee(turn.speaker, speakers), others, namespace, known
        )
        if reply is None:
            return candidate
        answer = " ".join(reply.text.translate(_QUOTES).split())
        return _with_text(
            candidate,
            f"{candidate.text} {reply.speaker}: {answer}",
            extra={"reply_turn": reply.dia_id},
            provenance=(turn.dia_id, reply.dia_id),
        )

    def _turn_candidate(
        self,
        turn: Turn,
        speakers: Sequence[str],
        namespace: Namespace,
        known: set[str],
        context: _Asked | None,
    ) -> tuple[list[Candidate], _Asked | None]:
        """The candidates of one turn, and the question it leaves for the next turn.

        Statements of a changeable state ("I moved to Porto") become candidates of their
        own, so the memory policy can update them without touching the rest of the turn.
        """
        addressee = _addressee(turn.speaker, speakers)
        others = [s for s in speakers if s != turn.speaker]
        text = " ".join(turn.text.translate(_QUOTES).split())
        statements, questions = self._content(text, [*speakers, turn.speaker])
        # Interjections and vocatives open sentences anywhere in a turn, not only its start.
        statements = [
            strip_interjections(strip_vocatives(s, others), [*others, turn.speaker])
            for s in statements
        ]
        asked = None
        if self.carry_questions and questions:
            raw = " ".join(questions)
            asked = _Asked(turn, raw, self._render(turn, raw, addressee, others))
        elif questions:
            statements = [*statements, *questions]
        slots = [state_slots(s) for s in statements]
        states = [(s, found) for s, found in zip(statements, slots, strict=True) if found]
        rest = [s for s, found in zip(statements, slots, strict=True) if not found]
        if not rest and len(states) == 1:
            rest, states = [states[0][0]], []  # a one-fact turn is its own state memory
        if not rest and not states and not turn.caption:
            return [], asked
        known = known | _lower(speakers)
        out: list[Candidate] = []
        if rest or turn.caption:
            body = " ".join(rest)
            main = self._candidate(turn, body, addressee, others, namespace, known)
            main = _with_text(main, main.text, extra={"slots": sorted(state_slots(body))})
            if turn.caption:
                shown = caption_sentence(turn.speaker, turn.caption.translate(_QUOTES))
                main = _with_text(
                    main,
                    f"{main.text} {shown}".strip(),
                    extra={"caption": turn.caption},
                    entities=_unique([*main.entities, *proper_nouns(shown, known)]),
                )
            out.append(main)
        for sentence, found in states:
            state = self._candidate(turn, sentence, addressee, others, namespace, known)
            out.append(_with_text(state, state.text, extra={"slots": sorted(found)}))
        if context is not None:
            first = out[0]
            out[0] = _with_text(
                first,
                f"{context.text} {first.text}",
                extra={"context_turn": context.turn.dia_id},
                provenance=(turn.dia_id, context.turn.dia_id),
            )
        return out, asked

    def _content(self, text: str, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """A turn's statements, and the questions that end it."""
        sentences = split_sentences(text)
        if self.drop_small_talk:
            sentences = [s for s in sentences if not is_small_talk(s, names)]
            # "Take a look at this." carries nothing once names and filler are gone.
            sentences = [s for s in sentences if content_words(s, names) or _has_number(s)]
        if self.drop_reactions:
            sentences = [s for s in sentences if not is_reaction(s, names)]
        statements: list[str] = []
        questions: list[str] = []
        for sentence in sentences:
            if sentence.rstrip().endswith("?"):
                questions.append(sentence)
            else:
                # A statement after a question answers it or moves on: the question stays.
                statements.extend(questions)
                questions = []
                statements.append(sentence)
        return statements, questions

    def _render(self, turn: Turn, text: str, addressee: str | None, others: Sequence[str]) -> str:
        """One piece of a turn as it is stored: interjections gone, names, the speaker."""
        text = strip_interjections(strip_vocatives(text, others), [*others, turn.speaker])
        if self.attribute_speakers and text:
            text = rewrite_person(text, turn.speaker, addressee)
        if text and not text.startswith(turn.speaker):
            text = f"{turn.speaker}: {text}"
        return text

    def extract_turn(
        self,
        turn: Turn,
        speakers: Sequence[str],
        namespace: Namespace,
        *,
        known_proper: Iterable[str] = (),
    ) -> list[Candidate]:
        """Return the sentence-unit candidates of one turn (zero when it is only small talk)."""
        addressee = _addressee(turn.speaker, speakers)
        others = [s for s in speakers if s != turn.speaker]
        known = set(known_proper) | {s.lower() for s in speakers}
        text = " ".join(turn.text.translate(_QUOTES).split())
        chunks = self._chunks(text, [*speakers, turn.speaker])
        candidates = [
            self._candidate(turn, chunk, addressee, others, namespace, known) for chunk in chunks
        ]
        if turn.caption:
            shown = caption_sentence(turn.speaker, turn.caption.translate(_QUOTES))
            if candidates:
                last = candidates[-1]
                candidates[-1] = _with_text(
                    last, f"{last.text} {shown}", extra={"caption": turn.caption}
                )
            else:
                candidates.append(
                    self._candidate(turn, "", addressee, others, namespace, known, shown)
                )
        return candidates

    def _chunks(self, text: str, names: Sequence[str]) -> list[str]:
        sentences = split_sentences(text)
        if self.drop_small_talk:
            sentences = [s for s in sentences if not is_small_talk(s, names)]
        chunks: list[str] = []
        for sentence in sentences:
            if chunks and len(chunks[-1].split()) + len(sentence.split()) <= _MAX_CHUNK_WORDS:
                weak_before = len(content_words(chunks[-1], names)) < 2
                if weak_before or is_dependent(sentence) or len(content_words(sentence, names)) < 2:
                    chunks[-1] = f"{chunks[-1]} {sentence}"
                    continue
            chunks.append(sentence)
        return chunks

    def _candidate(
        self,
        turn: Turn,
        chunk: str,
        addressee: str | None,
        others: Sequence[str],
        namespace: Namespace,
        known: set[str],
        caption_text: str | None = None,
    ) -> Candidate:
        original = chunk
        mentions: list[DateMention] = find_dates(chunk, turn.time) if self.resolve_dates else []
        text = annotate_dates(chunk, mentions) if mentions else chunk
        text = strip_interjections(strip_vocatives(text, others), [*others, turn.speaker])
        if self.attribute_speakers and text:
            text = rewrite_person(text, turn.speaker, addressee)
        if text and not text.startswith(turn.speaker):
            # Keep who said it in the fact itself: retrieval and readers see only the text.
            text = f"{turn.speaker}: {text}"
        if caption_text:
            text = f"{text} {caption_text}".strip()
        entities = _unique(
            [
                turn.speaker,
                *(s for s in others if re.search(rf"\b{re.escape(s)}\b", text)),
                *proper_nouns(original, known),
                *(proper_nouns(caption_text, known) if caption_text else []),
                *keyword_entities(original),
            ]
        )
        session_day = turn.time.date()
        metadata: dict[str, Any] = {
            "source": "turn",
            "session": turn.session,
            "dia_id": turn.dia_id,
            "speaker": turn.speaker,
            "session_date": session_day.isoformat(),
            "date": (mentions[0].date if mentions else session_day).isoformat(),
        }
        if mentions:
            first = mentions[0]
            metadata["date_expression"] = first.text
            metadata["date_granularity"] = first.granularity
            if first.approximate:
                metadata["date_approximate"] = True
            if len(mentions) > 1:
                metadata["dates"] = [m.date.isoformat() for m in mentions]
        if caption_text and turn.caption:
            metadata["caption"] = turn.caption
        if original:
            metadata["original"] = original
            if original.rstrip().endswith("?"):
                metadata["question"] = True
            if _HYPOTHETICAL.search(original):
                metadata["hypothetical"] = True
            if relative_news(original):
                metadata["about_other"] = True
        return Candidate(
            text=text,
            namespace=namespace,
            tier=self.tier,
            speaker=turn.speaker,
            time=_at(mentions[0].date, turn.time) if mentions else turn.time,
            entities=entities,
            provenance=(turn.dia_id,),
            metadata=metadata,
        )


def _with_text(
    candidate: Candidate,
    text: str,
    *,
    extra: Mapping[str, Any],
    entities: tuple[str, ...] | None = None,
    provenance: tuple[str, ...] | None = None,
) -> Candidate:
    return Candidate(
        text=text,
        namespace=candidate.namespace,
        tier=candidate.tier,
        speaker=candidate.speaker,
        time=candidate.time,
        entities=candidate.entities if entities is None else entities,
        provenance=candidate.provenance if provenance is None else provenance,
        metadata={**candidate.metadata, **extra},
        embedding=candidate.embedding,
    )


@dataclass(frozen=True, slots=True)
class _Asked:
    """A question that ended a turn, rendered, waiting for the reply."""

    turn: Turn
    raw: str
    text: str


def _answers(turn: Turn, asked: Turn) -> bool:
    # The next turn of the same session by someone else is the reply.
    return turn.session == asked.session and turn.speaker != asked.speaker


def _has_number(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _lower(names: Iterable[str]) -> set[str]:
    return {n.lower() for n in names}


# ---------------------------------------------------------------------------------------
# Model-driven extraction
# ---------------------------------------------------------------------------------------

DEFAULT_PROMPT = """\
You extract long-term memories from a conversation between {speakers}.
This part of the conversation took place on {session_date}.

Turns, one per line as "[turn id] speaker: text"; an image shared with a turn is shown
as [photo: caption]:
{turns}

List every fact worth remembering about the speakers: events, plans, preferences,
relationships, possessions, opinions, and what shared photos show.
Rules:
- Each fact is one standalone sentence in the third person: use names, never I, you or we.
- Replace relative dates ("yesterday", "last week") with absolute dates computed from the
  date above.
- Skip greetings, thanks and small talk.
- dia_ids lists the ids of the turns the fact comes from.
Answer with JSON only, no other text:
{"facts": [
  {"text": "...", "dia_ids": ["D1:3"], "speaker": "...", "date": "YYYY-MM-DD or null",
   "entities": ["..."]}
]}
"""

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


@dataclass(frozen=True, slots=True)
class LLMExtractor:
    """Extraction by a language model, given as any ``str -> str`` callable.

    The prompt is :data:`DEFAULT_PROMPT` unless given; ``{speakers}``, ``{session_date}``
    and ``{turns}`` in it are filled in (other braces are left alone). One call covers up
    to ``max_turns`` consecutive turns of one session.

    Raises:
        ModelOutputError: From :meth:`extract`, when a reply is not the JSON asked for or
            cites turns it was not shown.
    """

    complete: Callable[[str], str]
    prompt: str = DEFAULT_PROMPT
    max_turns: int = 40
    tier: Tier = Tier.SEMANTIC
    name: str = field(default="llm")

    def extract(
        self, source: Source, speakers: Sequence[str] | None, namespace: Namespace
    ) -> list[Candidate]:
        """Return the model's facts for ``source`` (see :class:`Extractor`)."""
        namespace = validate_namespace(namespace)
        if self.max_turns < 1:
            raise InvalidInputError(f"max_turns must be at least 1, got {self.max_turns!r}")
        turns, names = _turns_and_speakers(source, speakers)
        out: list[Candidate] = []
        for batch in self._batches(turns):
            reply = self.complete(self.render(batch, names))
            out.extend(self.parse(reply, batch, namespace))
        return out

    def _batches(self, turns: Sequence[Turn]) -> list[list[Turn]]:
        batches: list[list[Turn]] = []
        for turn in turns:
            same_session = bool(batches) and batches[-1][-1].session == turn.session
            if same_session and len(batches[-1]) < self.max_turns:
                batches[-1].append(turn)
            else:
                batches.append([turn])
        return batches

    def render(self, turns: Sequence[Turn], speakers: Sequence[str]) -> str:
        """The prompt for one batch of turns of one session."""
        lines = []
        for turn in turns:
            photo = f" [photo: {turn.caption}]" if turn.caption else ""
            lines.append(f"[{turn.dia_id}] {turn.speaker}: {turn.text}{photo}")
        return (
            self.prompt.replace("{speakers}", " and ".join(speakers) or "the speakers")
            .replace("{session_date}", format_day(turns[0].time.date()) if turns else "")
            .replace("{turns}", "\n".join(lines))
        )

    def parse(self, reply: str, turns: Sequence[Turn], namespace: Namespace) -> list[Candidate]:
        """Read a model reply into candidates for ``turns``."""
        facts = _facts_from_reply(reply)
        by_id = {t.dia_id: t for t in turns}
        out: list[Candidate] = []
        for i, fact in enumerate(facts):
            where = f"fact {i} of the model's reply"
            text = fact.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ModelOutputError(f"{where} has no 'text' string: {fact!r}")
            try:
                ids = normalize_evidence(fact.get("dia_ids", fact.get("dia_id")))
            except InvalidInputError as exc:
                raise ModelOutputError(f"{where}: {exc}") from exc
            if not ids and len(turns) == 1:
                ids = (turns[0].dia_id,)
            unknown = [d for d in ids if d not in by_id]
            if not ids or unknown:
                raise ModelOutputError(
                    f"{where} cites turns {list(ids)!r}; it must cite one or more of "
                    f"{sorted(by_id)!r}"
                )
            first = by_id[ids[0]]
            speaker = fact.get("speaker")
            speaker = speaker if isinstance(speaker, str) and speaker.strip() else first.speaker
            when = _fact_time(fact.get("date"), first, where)
            raw_entities = fact.get("entities") or []
            if not isinstance(raw_entities, list):
                raise ModelOutputError(f"{where}: 'entities' must be a list, got {raw_entities!r}")
            metadata: dict[str, Any] = {
                "source": "llm",
                "session": first.session,
                "dia_id": first.dia_id,
                "speaker": speaker,
                "session_date": first.time.date().isoformat(),
                "date": when.date().isoformat(),
            }
            out.append(
                Candidate(
                    text=" ".join(text.split()),
                    namespace=namespace,
                    tier=self.tier,
                    speaker=speaker,
                    time=when,
                    entities=_unique([speaker, *(str(e).strip() for e in raw_entities)]),
                    provenance=ids,
                    metadata=metadata,
                )
            )
        return out


def _facts_from_reply(reply: str) -> list[Mapping[str, Any]]:
    if not isinstance(reply, str):
        raise ModelOutputError(f"the model must return a string, got {type(reply).__name__}")
    text = _FENCE.sub("", reply.strip())
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # Models often wrap the JSON in a sentence; try the outermost object or list.
        first = min((p for p in (text.find("{"), text.find("[")) if p >= 0), default=-1)
        last = max(text.rfind("}"), text.rfind("]"))
        try:
            data = json.loads(text[first : last + 1]) if 0 <= first < last else None
        except json.JSONDecodeError:
            data = None
        if data is None:
            raise ModelOutputError(
                "the model's reply is not valid JSON; expected "
                f'{{"facts": [{{"text": ..., "dia_ids": [...]}}]}}, got {reply[:200]!r}'
            ) from None
    facts = data.get("facts") if isinstance(data, dict) else data
    if not isinstance(facts, list) or not all(isinstance(f, dict) for f in facts):
        raise ModelOutputError(
            f"the model's reply must be a list of fact objects or {{'facts': [...]}}, "
            f"got {str(data)[:200]!r}"
        )
    return facts


def _fact_time(value: object, turn: Turn, where: str) -> datetime:
    if value in (None, "", "null"):
        return turn.time
    if not isinstance(value, str):
        raise ModelOutputError(f"{where}: 'date' must be YYYY-MM-DD or null, got {value!r}")
    try:
        return _at(date.fromisoformat(value.strip()), turn.time)
    except ValueError:
        pass
    try:
        parsed = parse_datetime(value, tz=turn.time.tzinfo)
    except InvalidInputError as exc:
        raise ModelOutputError(
            f"{where}: 'date' must be YYYY-MM-DD or null, got {value!r}"
        ) from exc
    return _at(parsed.date(), turn.time)


def extract_conversation(
    conversation: Conversation,
    extractor: Extractor | None = None,
    *,
    namespace: Namespace | None = None,
) -> list[Candidate]:
    """Extract candidates from a whole conversation, session by session.

    Args:
        conversation: The conversation.
        extractor: Defaults to :class:`RuleExtractor`.
        namespace: Defaults to ``("conversation", conversation.id)``.
    """
    chosen = extractor or RuleExtractor()
    target = namespace or ("conversation", conversation.id)
    out: list[Candidate] = []
    for session in conversation.sessions:
        out.extend(chosen.extract(session, conversation.speakers, target))
    return out
