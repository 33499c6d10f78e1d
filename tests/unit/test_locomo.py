"""LoCoMo-layout loading and writing, and session date stamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from memory._conversation import Conversation
from memory._locomo import (
    conversation_to_dict,
    format_session_time,
    load_locomo,
    normalize_dia_id,
    normalize_evidence,
    write_locomo,
)
from memory._temporal import parse_datetime
from memory.errors import InvalidInputError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo"
needs_data = pytest.mark.skipif(
    not (DATA / "conv-26.json").is_file() or not (DATA / "conv-30.json").is_file(),
    reason=f"LoCoMo sample files not found under {DATA}",
)


def _conv(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "speaker_a": "Ana",
        "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "I moved to Porto."},
            {
                "speaker": "Ben",
                "dia_id": "D1:2",
                "text": "Look at my dog!",
                "blip_caption": "a photo of a dog on a beach",
                "img_url": ["http://example.invalid/dog.jpg"],
            },
        ],
        "session_2_date_time": "10:04 am on 19 June, 2023",
        "session_2": [{"speaker": "Ben", "dia_id": "D2:1", "text": "I got a new job."}],
        "session_1_observation": {"Ana": [["Ana moved to Porto.", "D1:1"]]},
        "session_1_summary": "Ana moved.",
        "events_session_1": {"Ana": ["moved"]},
        "qa": [
            {
                "question": "Where does Ana live?",
                "answer": "Porto",
                "evidence": ["D1:1"],
                "category": 4,
            },
            {
                "question": "What did Ben get?",
                "answer": 2023,
                "evidence": ["D2:1 ", "D1:2; D2:1"],
                "category": 2,
            },
            {
                "question": "What is Ana's cat called?",
                "adversarial_answer": "Tom",
                "evidence": [],
                "category": 5,
            },
        ],
    }
    data.update(overrides)
    return data


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -- real sample files -------------------------------------------------------------------


@needs_data
def test_loads_the_sample_folder() -> None:
    conversations = load_locomo(DATA)
    by_id = {c.id: c for c in conversations}
    assert set(by_id) == {"conv-26", "conv-30"}
    conv26, conv30 = by_id["conv-26"], by_id["conv-30"]
    assert conv26.speakers == ("Caroline", "Melanie")
    assert conv30.speakers == ("Jon", "Gina")
    assert len(conv26.turns) == 419 and len(conv30.turns) == 369
    assert len(conv26.sessions) == 19 and len(conv30.sessions) == 19
    first = conv26.sessions[0]
    assert first.time == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert first.turns[0].dia_id == "D1:1" and first.turns[0].session == 1
    assert conv26.turn("D1:5").caption == (
        "a photo of a dog walking past a wall with a painting of a woman"
    )
    counts26 = sum(q.category in {"1", "2", "3", "4"} for q in conv26.questions)
    counts30 = sum(q.category in {"1", "2", "3", "4"} for q in conv30.questions)
    assert (counts26, counts30) == (152, 81)


@needs_data
def test_sample_evidence_is_normalised_and_points_at_turns() -> None:
    for conv in load_locomo(DATA):
        ids = {t.dia_id for t in conv.turns}
        for question in conv.questions:
            for evidence in question.evidence:
                assert evidence == evidence.strip() and ";" not in evidence
                if question.category != "5":
                    assert evidence in ids, (conv.id, question.question, evidence)
    conv26 = {c.id: c for c in load_locomo(DATA)}["conv-26"]
    painted = [q for q in conv26.questions if q.question == "What did Melanie paint recently?"]
    assert painted and painted[0].evidence == ("D8:6", "D9:17")  # stored as "D8:6; D9:17"


@needs_data
def test_sample_session_times_increase_and_turns_keep_order() -> None:
    for conv in load_locomo([DATA / "conv-26.json", str(DATA / "conv-30.json")]):
        times = [s.time for s in conv.sessions]
        assert times == sorted(times)
        assert [s.index for s in conv.sessions] == list(range(1, len(conv.sessions) + 1))
        assert all(t.time == conv.sessions[t.session - 1].time for t in conv.turns)


@needs_data
def test_sample_round_trips_through_the_writer(tmp_path: Path) -> None:
    original = {c.id: c for c in load_locomo(DATA)}["conv-30"]
    path = write_locomo(original, tmp_path / "copy.json")
    again = load_locomo(path)[0]
    assert again == original


def test_summaries_and_observations_are_not_read(tmp_path: Path) -> None:
    conv = load_locomo(_write(tmp_path / "c.json", _conv()))[0]
    texts = " ".join(t.text for t in conv.turns)
    assert "Ana moved to Porto." not in texts and "moved." not in texts
    assert not any(hasattr(s, "summary") for s in conv.sessions)


# -- parsing details ---------------------------------------------------------------------


def test_loads_per_conversation_file(tmp_path: Path) -> None:
    conv = load_locomo(_write(tmp_path / "my-chat.json", _conv()))[0]
    assert conv.id == "my-chat"
    assert conv.speakers == ("Ana", "Ben")
    assert [len(s.turns) for s in conv.sessions] == [2, 1]
    assert conv.sessions[1].time == datetime(2023, 6, 19, 10, 4, tzinfo=UTC)
    assert conv.turn("D1:2").caption == "a photo of a dog on a beach"
    assert conv.turn("D1:1").caption is None
    questions = conv.questions
    assert questions[0].category == "4" and questions[0].answer == "Porto"
    assert questions[1].answer == "2023"
    assert questions[1].evidence == ("D2:1", "D1:2")
    assert questions[2].answer is None and questions[2].adversarial_answer == "Tom"
    assert questions[2].category == "5"


def test_loads_multi_conversation_list(tmp_path: Path) -> None:
    body = {k: v for k, v in _conv().items() if k != "qa"}
    samples = [
        {"sample_id": "conv-1", "conversation": body, "qa": _conv()["qa"]},
        {"sample_id": "conv-2", "conversation": body, "qa": []},
    ]
    conversations = load_locomo(_write(tmp_path / "all.json", samples))
    assert [c.id for c in conversations] == ["conv-1", "conv-2"]
    assert len(conversations[0].questions) == 3 and conversations[1].questions == ()


def test_loads_single_sample_object_and_mixed_paths(tmp_path: Path) -> None:
    body = {k: v for k, v in _conv().items() if k != "qa"}
    one = _write(tmp_path / "one.json", {"sample_id": "s-1", "conversation": body})
    other = _write(tmp_path / "other.json", _conv())
    conversations = load_locomo([one, str(other)])
    assert [c.id for c in conversations] == ["s-1", "other"]


def test_folder_reads_json_files_sorted_and_ignores_others(tmp_path: Path) -> None:
    _write(tmp_path / "b.json", _conv())
    _write(tmp_path / "a.json", _conv())
    (tmp_path / "README.md").write_text("not json")
    assert [c.id for c in load_locomo(tmp_path)] == ["a", "b"]


def test_any_category_code_is_kept_as_string(tmp_path: Path) -> None:
    qa = [{"question": "q?", "answer": "a", "evidence": ["D1:1"], "category": 17}]
    qa.append({"question": "r?", "answer": "b", "evidence": "D1:2", "category": "multi-hop"})
    conv = load_locomo(_write(tmp_path / "c.json", _conv(qa=qa)))[0]
    assert [q.category for q in conv.questions] == ["17", "multi-hop"]
    assert conv.questions[1].evidence == ("D1:2",)


def test_session_dates_without_turns_are_ignored(tmp_path: Path) -> None:
    conv = load_locomo(
        _write(tmp_path / "c.json", _conv(session_9_date_time="1:00 pm on 1 July, 2023"))
    )[0]
    assert [s.index for s in conv.sessions] == [1, 2]


def test_unknown_speaker_is_added_not_rejected(tmp_path: Path) -> None:
    data = _conv()
    data["session_2"] = [{"speaker": "Cleo", "dia_id": "D2:1", "text": "Hi all, I'm Cleo."}]
    conv = load_locomo(_write(tmp_path / "c.json", data))[0]
    assert conv.speakers == ("Ana", "Ben", "Cleo")


def test_naive_times_when_asked(tmp_path: Path) -> None:
    conv = load_locomo(_write(tmp_path / "c.json", _conv()), tz=None)[0]
    assert conv.sessions[0].time.tzinfo is None
    cet = timezone(timedelta(hours=1))
    conv = load_locomo(_write(tmp_path / "c.json", _conv()), tz=cet)[0]
    assert conv.sessions[0].time.tzinfo is cet


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["D1:3"], ("D1:3",)),
        ([" D1:3 "], ("D1:3",)),
        (["D8:6; D9:17"], ("D8:6", "D9:17")),
        (["D8:6 D9:17"], ("D8:6", "D9:17")),
        (["D8:6,D9:17", "D8:6"], ("D8:6", "D9:17")),
        (["D 8 : 06"], ("D8:6",)),
        (["", "  ", "D2:1"], ("D2:1",)),
        ("D1:1;D1:2", ("D1:1", "D1:2")),
        (None, ()),
        ([], ()),
        (["turn-7"], ("turn-7",)),
    ],
)
def test_normalize_evidence(raw: object, expected: tuple[str, ...]) -> None:
    assert normalize_evidence(raw) == expected


def test_normalize_evidence_rejects_non_strings() -> None:
    with pytest.raises(InvalidInputError, match="strings"):
        normalize_evidence([3])
    with pytest.raises(InvalidInputError, match="list of turn ids"):
        normalize_evidence(3)


def test_normalize_dia_id() -> None:
    assert normalize_dia_id(" d3:07 ") == "D3:7"
    assert normalize_dia_id("custom-id") == "custom-id"


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56)),
        ("12:48 am on 1 February, 2023", datetime(2023, 2, 1, 0, 48)),
        ("12:05 pm on 1 February, 2023", datetime(2023, 2, 1, 12, 5)),
        ("1:56 PM on 8 May 2023", datetime(2023, 5, 8, 13, 56)),
        ("1:56 p.m. on May 8, 2023", datetime(2023, 5, 8, 13, 56)),
        ("8 May, 2023 1:56 pm", datetime(2023, 5, 8, 13, 56)),
        ("May 8th, 2023", datetime(2023, 5, 8)),
        ("Monday, 8 May 2023", datetime(2023, 5, 8)),
        ("8 Sept 2023", datetime(2023, 9, 8)),
        ("2023-05-08", datetime(2023, 5, 8)),
        ("2023-05-08T13:56:10", datetime(2023, 5, 8, 13, 56, 10)),
        ("2023-05-08 13:56", datetime(2023, 5, 8, 13, 56)),
        ("13:56 on 8 May 2023", datetime(2023, 5, 8, 13, 56)),
        ("2023/05/08", datetime(2023, 5, 8)),
        ("25/12/2023", datetime(2023, 12, 25)),
        ("29 February, 2024", datetime(2024, 2, 29)),
    ],
)
def test_parse_session_stamps(stamp: str, expected: datetime) -> None:
    assert parse_datetime(stamp) == expected


def test_parse_keeps_an_explicit_offset() -> None:
    parsed = parse_datetime("2023-05-08T13:56:00+02:00", tz=UTC)
    assert parsed.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "stamp",
    [
        "",
        "soon",
        "1:56 pm on 8 Smarch, 2023",
        "29 February, 2023",
        "13:56 pm on 8 May, 2023",
        "1:75 pm on 8 May, 2023",
        "03/04/2023",
        "8 May",
    ],
)
def test_parse_rejects_bad_stamps(stamp: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_datetime(stamp)
    assert repr(stamp) in str(info.value) or stamp == ""


def test_session_time_formatting_round_trips() -> None:
    for when in (datetime(2023, 5, 8, 13, 56), datetime(2023, 2, 1, 0, 48)):
        text = format_session_time(when)
        assert parse_datetime(text) == when
    assert format_session_time(datetime(2023, 5, 8, 13, 56)) == "1:56 pm on 8 May, 2023"


# -- writing -----------------------------------------------------------------------------


def test_round_trip_both_layouts(tmp_path: Path) -> None:
    original = load_locomo(_write(tmp_path / "orig.json", _conv()))[0]
    single = load_locomo(write_locomo(original, tmp_path / "renamed.json"))[0]
    assert single == original  # the sample_id keeps the id across a rename
    many = load_locomo(write_locomo([original, _renamed(original)], tmp_path / "many.json"))
    assert many == [original, _renamed(original)]
    raw = json.loads((tmp_path / "many.json").read_text())
    assert set(raw[0]) == {"sample_id", "conversation", "qa"}


def _renamed(conv: Conversation) -> Conversation:
    return Conversation(id="copy", speakers=conv.speakers, sessions=conv.sessions)


def test_conversation_to_dict_layout(tmp_path: Path) -> None:
    conv = load_locomo(_write(tmp_path / "c.json", _conv()))[0]
    data = conversation_to_dict(conv)
    assert data["speaker_a"] == "Ana" and data["speaker_b"] == "Ben"
    assert data["session_1_date_time"] == "1:56 pm on 8 May, 2023"
    assert data["session_1"][1] == {
        "speaker": "Ben",
        "dia_id": "D1:2",
        "text": "Look at my dog!",
        "blip_caption": "a photo of a dog on a beach",
    }
    assert data["qa"][0]["category"] == 4
    assert "answer" not in data["qa"][2] and data["qa"][2]["adversarial_answer"] == "Tom"
    json.dumps(data)  # JSON-ready


# -- malformed input ---------------------------------------------------------------------


def _error_for(tmp_path: Path, data: object, name: str = "bad.json") -> str:
    path = _write(tmp_path / name, data)
    with pytest.raises(InvalidInputError) as info:
        load_locomo(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_missing_turn_speaker(tmp_path: Path) -> None:
    data = _conv()
    del data["session_1"][0]["speaker"]
    message = _error_for(tmp_path, data)
    assert "session_1[0].speaker" in message and "None" in message


def test_empty_turn_speaker(tmp_path: Path) -> None:
    data = _conv()
    data["session_1"][1]["speaker"] = "  "
    assert "session_1[1].speaker" in _error_for(tmp_path, data)


def test_missing_speaker_names(tmp_path: Path) -> None:
    data = _conv()
    del data["speaker_a"], data["speaker_b"]
    assert "speaker_a" in _error_for(tmp_path, data)


def test_session_that_is_not_a_list(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _conv(session_2={"speaker": "Ana"}))
    assert "'session_2'" in message and "list of turns" in message and "Ana" in message


def test_turn_that_is_not_an_object(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _conv(session_2=["hello"]))
    assert "session_2[0]" in message and "'hello'" in message


def test_bad_session_date(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _conv(session_2_date_time="sometime in spring"))
    assert "session_2_date_time" in message and "sometime in spring" in message


def test_missing_session_date(tmp_path: Path) -> None:
    data = _conv()
    del data["session_2_date_time"]
    assert "session_2_date_time" in _error_for(tmp_path, data)


def test_text_must_be_a_string(tmp_path: Path) -> None:
    data = _conv()
    data["session_1"][0]["text"] = 42
    assert "session_1[0].text" in _error_for(tmp_path, data)


def test_caption_must_be_a_string(tmp_path: Path) -> None:
    data = _conv()
    data["session_1"][1]["blip_caption"] = ["a dog"]
    assert "blip_caption" in _error_for(tmp_path, data)


def test_repeated_dia_id(tmp_path: Path) -> None:
    data = _conv()
    data["session_2"][0]["dia_id"] = "D1:1"
    assert "repeated dia_id" in _error_for(tmp_path, data)


def test_question_without_category(tmp_path: Path) -> None:
    data = _conv(qa=[{"question": "q?", "answer": "a", "evidence": []}])
    assert "qa[0].category" in _error_for(tmp_path, data)


def test_question_with_bad_evidence(tmp_path: Path) -> None:
    data = _conv(qa=[{"question": "q?", "answer": "a", "evidence": [1], "category": 1}])
    assert "qa[0].evidence" in _error_for(tmp_path, data)


def test_no_sessions(tmp_path: Path) -> None:
    data = {"speaker_a": "Ana", "speaker_b": "Ben", "qa": []}
    assert "session" in _error_for(tmp_path, data)


def test_unreadable_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"speaker_a": "Ana", ')
    with pytest.raises(InvalidInputError, match="cannot read JSON") as info:
        load_locomo(path)
    assert str(path) in str(info.value)


def test_wrong_top_level_type(tmp_path: Path) -> None:
    assert "got str" in _error_for(tmp_path, "just a string")
    assert "empty" in _error_for(tmp_path, [], name="empty.json")
    assert "'conversation' object" in _error_for(tmp_path, [{"sample_id": "x"}], name="l.json")


def test_empty_folder_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidInputError, match=r"no \*\.json"):
        load_locomo(tmp_path)
    with pytest.raises(InvalidInputError, match="no such file"):
        load_locomo(tmp_path / "missing.json")
    with pytest.raises(InvalidInputError, match="at least one"):
        load_locomo([])


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.json", _conv(sample_id="same"))
    second = _write(tmp_path / "b.json", _conv(sample_id="same"))
    with pytest.raises(InvalidInputError, match="repeated"):
        load_locomo([first, second])
