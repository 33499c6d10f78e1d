"""Read and write conversations in the LoCoMo layout.

Two layouts are accepted, in files or folders of ``*.json`` files:

- per conversation: one object with ``speaker_a``, ``speaker_b``, ``session_N`` (a list
  of turns), ``session_N_date_time`` and ``qa``;
- per sample: a list (or one object) of ``{"sample_id", "conversation": {...}, "qa": [...]}``.

Only raw turns are read. The LLM-written ``session_N_observation``, ``session_N_summary``
and ``events_session_N`` fields are ignored on purpose: retrieval must work from what
was said, not from a model's digest of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from memory._conversation import Conversation, Question, Session, Turn
from memory._temporal import MONTH_NAMES, parse_datetime
from memory.errors import InvalidInputError

__all__ = [
    "conversation_to_dict",
    "load_locomo",
    "normalize_dia_id",
    "normalize_evidence",
    "write_locomo",
]

PathLike = str | Path
# Builds the error for a bad value: (key, what is wrong, the value).
_Fail = Callable[[str, str, object], InvalidInputError]
_SESSION_KEY = re.compile(r"^session_(\d+)$")
_DATE_KEY = re.compile(r"^session_(\d+)_date_time$")
_SPEAKER_KEY = re.compile(r"^speaker_([a-z])$")
_DIA_ID = re.compile(r"D\s*(\d+)\s*:\s*(\d+)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[;,\s]+")


def normalize_dia_id(value: str) -> str:
    """Canonical form of one turn id: ``" d3 : 07"`` -> ``"D3:7"``; other ids are stripped."""
    match = _DIA_ID.fullmatch(value.strip())
    if match:
        return f"D{int(match[1])}:{int(match[2])}"
    return value.strip()


def normalize_evidence(value: object) -> tuple[str, ...]:
    """Flatten evidence ids: split ``"D8:6; D9:17"``, strip spaces, drop empties and repeats.

    Raises:
        InvalidInputError: ``value`` is neither a string nor a list of strings.
    """
    items: Iterable[object]
    if value is None:
        return ()
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise InvalidInputError(f"evidence must be a list of turn ids, got {value!r}")
    ids: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInputError(f"evidence ids must be strings, got {item!r} in {value!r}")
        found = [m[0] for m in _DIA_ID.finditer(item)]
        parts = found or [p for p in _SEPARATORS.split(item) if p]
        for part in parts:
            normal = normalize_dia_id(part)
            if normal and normal not in ids:
                ids.append(normal)
    return tuple(ids)


def load_locomo(
    paths: PathLike | Sequence[PathLike], *, tz: tzinfo | None = UTC
) -> list[Conversation]:
    """Load conversations from LoCoMo-layout files and folders.

    Args:
        paths: Files, or folders whose ``*.json`` files are read (sorted by name).
        tz: Time zone given to session stamps, which carry none. ``None`` keeps them naive.

    Returns:
        The conversations in the order found.

    Raises:
        InvalidInputError: A path is missing, a folder has no JSON file, a file is not
            JSON, or a value is malformed; the message names the file, key and value.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise InvalidInputError("load_locomo needs at least one file or folder, got none")
    conversations: list[Conversation] = []
    for item in items:
        for file in _expand(Path(item)):
            conversations.extend(_load_file(file, tz))
    seen: dict[str, int] = {}
    for conversation in conversations:
        seen[conversation.id] = seen.get(conversation.id, 0) + 1
    duplicates = sorted(cid for cid, n in seen.items() if n > 1)
    if duplicates:
        raise InvalidInputError(
            f"conversation ids must be unique across {items!r}; repeated: {duplicates!r}"
        )
    return conversations


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            raise InvalidInputError(f"{path}: folder holds no *.json conversation file")
        return files
    if path.is_file():
        return [path]
    raise InvalidInputError(f"{path}: no such file or folder")


def _load_file(path: Path, tz: tzinfo | None) -> list[Conversation]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read JSON: {exc}") from exc
    if isinstance(data, list):
        if not data:
            raise InvalidInputError(f"{path}: the list of conversations is empty")
        return [
            _parse_sample(item, path, f"[{i}]", tz, default_id=f"{path.stem}-{i}")
            for i, item in enumerate(data)
        ]
    if isinstance(data, dict) and "conversation" in data:
        return [_parse_sample(data, path, "", tz, default_id=path.stem)]
    if isinstance(data, dict):
        return [_parse_conversation(data, data.get("qa", []), path, "", tz, path.stem)]
    raise InvalidInputError(
        f"{path}: expected a conversation object or a list of samples, got {type(data).__name__}"
    )


def _parse_sample(
    item: object, path: Path, where: str, tz: tzinfo | None, *, default_id: str
) -> Conversation:
    if not isinstance(item, dict) or not isinstance(item.get("conversation"), dict):
        raise InvalidInputError(
            f"{path}: {where or 'top level'}: expected an object with a 'conversation' object, "
            f"got {_short(item)}"
        )
    sample_id = item.get("sample_id", default_id)
    if not isinstance(sample_id, str | int) or not str(sample_id).strip():
        raise InvalidInputError(f"{path}: key {where}['sample_id']: invalid id {sample_id!r}")
    body = item["conversation"]
    return _parse_conversation(
        body,
        item.get("qa", body.get("qa", [])),
        path,
        f"{where}['conversation']",
        tz,
        str(sample_id),
    )


def _parse_conversation(
    data: Mapping[str, Any],
    qa: object,
    path: Path,
    where: str,
    tz: tzinfo | None,
    default_id: str,
) -> Conversation:
    def fail(key: str, problem: str, value: object) -> InvalidInputError:
        location = f"{where}[{key!r}]" if where else repr(key)
        return InvalidInputError(f"{path}: key {location}: {problem}, got {_short(value)}")

    conv_id = str(data.get("sample_id", default_id)).strip() or default_id
    speakers = _speakers(data, fail)
    dates: dict[int, str] = {}
    bodies: dict[int, object] = {}
    for key, value in data.items():
        if match := _DATE_KEY.match(key):
            dates[int(match[1])] = value
        elif match := _SESSION_KEY.match(key):
            bodies[int(match[1])] = value
    if not bodies:
        raise fail("session_1", "no session_N list of turns", None)
    sessions: list[Session] = []
    all_speakers = list(speakers)
    for index in sorted(bodies):
        key = f"session_{index}"
        body = bodies[index]
        if not isinstance(body, list):
            raise fail(key, "a session must be a list of turns", body)
        stamp = dates.get(index)
        if stamp is None:
            raise fail(f"{key}_date_time", f"missing date of {key}", None)
        try:
            when = parse_datetime(stamp, tz=tz)
        except InvalidInputError as exc:
            raise fail(f"{key}_date_time", str(exc), stamp) from exc
        turns = tuple(_turn(raw, index, when, f"{key}[{i}]", fail) for i, raw in enumerate(body))
        for turn in turns:
            # Tolerate a speaker the header does not name rather than reject the conversation.
            if turn.speaker not in all_speakers:
                all_speakers.append(turn.speaker)
        sessions.append(Session(index=index, time=when, turns=turns))
    _check_unique_ids(sessions, fail)
    questions = _questions(qa, fail)
    return Conversation(
        id=conv_id, speakers=tuple(all_speakers), sessions=tuple(sessions), questions=questions
    )


def _speakers(data: Mapping[str, Any], fail: _Fail) -> tuple[str, ...]:
    named = sorted((m[1], key) for key in data if (m := _SPEAKER_KEY.match(key)))
    if not named:
        raise fail("speaker_a", "missing speaker names", None)
    speakers: list[str] = []
    for _, key in named:
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "a speaker name must be a non-empty string", value)
        speakers.append(value.strip())
    return tuple(speakers)


def _turn(raw: object, session: int, when: datetime, key: str, fail: _Fail) -> Turn:
    if not isinstance(raw, dict):
        raise fail(key, "a turn must be an object", raw)
    fields: dict[str, str] = {}
    for name in ("speaker", "dia_id", "text"):
        value = raw.get(name)
        if not isinstance(value, str) or (name != "text" and not value.strip()):
            raise fail(f"{key}.{name}", f"a turn needs a string {name!r}", value)
        fields[name] = value
    caption = raw.get("blip_caption")
    if caption is not None and not isinstance(caption, str):
        raise fail(f"{key}.blip_caption", "a caption must be a string", caption)
    return Turn(
        speaker=fields["speaker"].strip(),
        text=fields["text"],
        dia_id=normalize_dia_id(fields["dia_id"]),
        session=session,
        time=when,
        caption=(caption.strip() or None) if caption else None,
    )


def _check_unique_ids(sessions: Sequence[Session], fail: _Fail) -> None:
    seen: set[str] = set()
    for session in sessions:
        for turn in session.turns:
            if turn.dia_id in seen:
                raise fail(f"session_{session.index}", "repeated dia_id", turn.dia_id)
            seen.add(turn.dia_id)


def _questions(qa: object, fail: _Fail) -> tuple[Question, ...]:
    if qa is None:
        return ()
    if not isinstance(qa, list):
        raise fail("qa", "questions must be a list", qa)
    questions: list[Question] = []
    for i, raw in enumerate(qa):
        key = f"qa[{i}]"
        if not isinstance(raw, dict):
            raise fail(key, "a question must be an object", raw)
        text = raw.get("question")
        if not isinstance(text, str) or not text.strip():
            raise fail(f"{key}.question", "a question needs a 'question' string", text)
        category = raw.get("category")
        if isinstance(category, bool) or not isinstance(category, int | str) or category == "":
            raise fail(f"{key}.category", "a question needs a category code", category)
        try:
            evidence = normalize_evidence(raw.get("evidence", []))
        except InvalidInputError as exc:
            raise fail(f"{key}.evidence", str(exc), raw.get("evidence")) from exc
        questions.append(
            Question(
                question=text.strip(),
                answer=_answer(raw.get("answer")),
                evidence=evidence,
                category=str(category).strip(),
                adversarial_answer=_answer(raw.get("adversarial_answer")),
            )
        )
    return tuple(questions)


def _answer(value: object) -> str | None:
    # Answers are mostly strings; some are bare numbers (a year, a count).
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def format_session_time(when: datetime) -> str:
    """Render a session time the way LoCoMo does: ``"1:56 pm on 8 May, 2023"``."""
    hour = when.hour % 12 or 12
    half = "am" if when.hour < 12 else "pm"
    return f"{hour}:{when.minute:02d} {half} on {when.day} {MONTH_NAMES[when.month]}, {when.year}"


def conversation_to_dict(
    conversation: Conversation, *, layout: Literal["conversation", "sample"] = "conversation"
) -> dict[str, Any]:
    """Convert a conversation back to LoCoMo JSON.

    Args:
        conversation: What to write.
        layout: ``"conversation"`` for the per-conversation object (it also records
            ``sample_id`` so the id survives a rename of the file); ``"sample"`` for one
            entry of the multi-conversation list.
    """
    body: dict[str, Any] = {}
    for letter, speaker in zip("abcdefghijklmnopqrstuvwxyz", conversation.speakers, strict=False):
        body[f"speaker_{letter}"] = speaker
    for session in conversation.sessions:
        body[f"session_{session.index}_date_time"] = format_session_time(session.time)
        body[f"session_{session.index}"] = [_turn_to_dict(turn) for turn in session.turns]
    qa = [_question_to_dict(question) for question in conversation.questions]
    if layout == "sample":
        return {"sample_id": conversation.id, "conversation": body, "qa": qa}
    return {"sample_id": conversation.id, **body, "qa": qa}


def _turn_to_dict(turn: Turn) -> dict[str, Any]:
    out: dict[str, Any] = {"speaker": turn.speaker, "dia_id": turn.dia_id, "text": turn.text}
    if turn.caption is not None:
        out["blip_caption"] = turn.caption
    return out


def _question_to_dict(question: Question) -> dict[str, Any]:
    out: dict[str, Any] = {"question": question.question}
    if question.answer is not None:
        out["answer"] = question.answer
    if question.adversarial_answer is not None:
        out["adversarial_answer"] = question.adversarial_answer
    out["evidence"] = list(question.evidence)
    out["category"] = int(question.category) if question.category.isdigit() else question.category
    return out


def write_locomo(conversations: Conversation | Sequence[Conversation], path: PathLike) -> Path:
    """Write one conversation (per-conversation layout) or several (sample list) as JSON.

    Returns:
        The path written.
    """
    target = Path(path)
    data: object
    if isinstance(conversations, Conversation):
        data = conversation_to_dict(conversations)
    else:
        data = [conversation_to_dict(c, layout="sample") for c in conversations]
    target.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
