"""Turn-unit extraction: one dense memory per turn, questions joined to their replies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memory._conversation import Turn
from memory._english import is_reaction, state_slots
from memory._extraction import RuleExtractor
from memory._types import WINDOW_KEY
from memory.errors import InvalidInputError

NS = ("team", "test")
WHEN = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
PAIR = ("Caroline", "Melanie")


def _turns(*lines: tuple[str, str], session: int = 1) -> list[Turn]:
    return [
        Turn(speaker, text, f"D{session}:{i}", session, WHEN)
        for i, (speaker, text) in enumerate(lines, start=1)
    ]


def _texts(*lines: tuple[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    found = RuleExtractor().extract(_turns(*lines), PAIR, NS)
    return [(c.text, c.provenance) for c in found]


REACTED = (
    ("Caroline", "Hey Mel! Good to see you!"),
    ("Melanie", "Hi! I ran a charity race last Saturday. It was great. That's so cool!"),
    ("Caroline", "That's awesome! Such a lovely pic."),
)


def test_one_memory_per_turn_without_greetings_keeping_reactions() -> None:
    # A reaction says what its speaker thought of something ("What did Caroline say about
    # the photo?"): kept by default, with the speaker's name; bare praise and filler go.
    assert _texts(*REACTED) == [
        ("Melanie ran a charity race last Saturday (6 May 2023).", ("D1:2",)),
        ("Caroline: Such a lovely pic.", ("D1:3",)),
    ]


def test_reactions_dropped_when_asked() -> None:
    found = RuleExtractor(drop_reactions=True).extract(_turns(*REACTED), PAIR, NS)
    assert [(c.text, c.provenance) for c in found] == [
        ("Melanie ran a charity race last Saturday (6 May 2023).", ("D1:2",))
    ]


def test_a_question_joins_the_reply_it_gets() -> None:
    found = _texts(
        ("Melanie", "I painted a lake last year. What are you working on?"),
        ("Caroline", "I'm researching adoption agencies."),
    )
    assert found == [
        ("Melanie painted a lake last year (2022).", ("D1:1",)),
        (
            "Melanie: What is Caroline working on? Caroline is researching adoption agencies.",
            ("D1:2", "D1:1"),
        ),
    ]


def test_a_question_without_a_reply_stays() -> None:
    found = RuleExtractor().extract(_turns(("Melanie", "Did you go to the concert?")), PAIR, NS)
    assert [c.text for c in found] == ["Melanie: Did Caroline go to the concert?"]
    assert found[0].metadata["question"] is True


def test_a_short_reply_keeps_its_question() -> None:
    found = _texts(("Melanie", "Did you go to the concert?"), ("Caroline", "Yes!"))
    assert found == [("Melanie: Did Caroline go to the concert? Caroline: Yes!", ("D1:1", "D1:2"))]


def test_questions_do_not_cross_sessions_or_speakers() -> None:
    turns = [
        *_turns(("Melanie", "Did you go to the concert?")),
        *_turns(("Caroline", "I adopted a dog."), session=2),
    ]
    found = RuleExtractor().extract(turns, PAIR, NS)
    assert [c.provenance for c in found] == [("D1:1",), ("D2:1",)]


def test_a_changeable_state_becomes_its_own_memory() -> None:
    (narrative, state) = RuleExtractor().extract(
        _turns(("Caroline", "The parade was so much fun. I moved to Porto last month.")),
        PAIR,
        NS,
    )
    assert narrative.text == "Caroline: The parade was so much fun."
    assert narrative.metadata["slots"] == []
    assert state.text == "Caroline moved to Porto last month (April 2023)."
    assert state.metadata["slots"] == ["residence"]
    assert state.provenance == narrative.provenance == ("D1:1",)


def test_caption_goes_with_the_turn() -> None:
    turn = Turn("Melanie", "Look at this!", "D1:1", 1, WHEN, "a photo of a bowl")
    (candidate,) = RuleExtractor().extract([turn], PAIR, NS)
    assert candidate.text == "Melanie shared a photo of a bowl."


def test_sentence_unit_is_still_available() -> None:
    turns = _turns(("Melanie", "I ran a race. I also adopted a cat named Max."))
    assert len(RuleExtractor(unit="sentence").extract(turns, PAIR, NS)) == 2
    with pytest.raises(InvalidInputError, match="unit"):
        RuleExtractor(unit="word")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("That bowl is gorgeous!", True),
        ("Looks awesome!", True),
        ("What an amazing family pic!", True),
        ("Love that purple color!", True),
        ("These are for running.", False),  # an answer, no praise
        ("That's great, I signed up for pottery!", False),  # says what the speaker did
        ("That trip to Paris sounds amazing!", False),  # names a place
        ("I painted that last year.", False),
    ],
)
def test_reactions(sentence: str, expected: bool) -> None:
    assert is_reaction(sentence, PAIR) is expected


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("I moved to Porto two weeks ago.", {"residence"}),
        ("Ana works at the bank", {"job"}),
        ("my new job is great", {"job"}),
        ("I live in Lisbon and I work at a bakery.", {"residence", "job"}),
        ("Nice job!", set()),
        ("She really put in the work", set()),
        ("I want to live authentically.", set()),
        ("I love live music.", set()),
    ],
)
def test_state_slots(text: str, slots: set[str]) -> None:
    assert state_slots(text, ["Ana"]) == slots


def test_a_question_is_never_a_reaction() -> None:
    assert not is_reaction("Love the necklace, any special meaning to it?", PAIR)


def test_each_memory_carries_the_turns_around_it_in_its_session() -> None:
    turns = [
        *_turns(("Caroline", "Tomorrow is the grand opening!"), ("Melanie", "Can't wait!")),
        *_turns(
            ("Caroline", "The studio looks great."),
            ("Melanie", "I will savor every minute of it."),
            ("Caroline", "Good night then."),
            session=2,
        ),
    ]
    found = {c.provenance[0]: c for c in RuleExtractor().extract(turns, PAIR, NS)}
    savor = found["D2:2"]
    # The turns before and after, as said; never the turn itself, never another session's.
    assert savor.metadata[WINDOW_KEY] == "The studio looks great. Good night then."
    assert "savor" not in savor.metadata[WINDOW_KEY]
    assert "grand opening" not in found["D2:1"].metadata[WINDOW_KEY]
    assert savor.text == "Melanie will savor every minute of it."  # not part of the memory
    wide = RuleExtractor(window=2).extract(turns, PAIR, NS)
    assert "Good night" in next(c for c in wide if c.provenance[0] == "D2:1").metadata[WINDOW_KEY]
    assert all(
        WINDOW_KEY not in c.metadata for c in RuleExtractor(window=0).extract(turns, PAIR, NS)
    )
    # a lone turn has no window
    (alone,) = RuleExtractor().extract(turns[3], PAIR, NS)
    assert WINDOW_KEY not in alone.metadata


@pytest.mark.parametrize("window", [-1, 1.5, True, "1"])
def test_a_bad_window_is_refused(window: object) -> None:
    with pytest.raises(InvalidInputError, match=f"window must be an integer >= 0, got {window!r}"):
        RuleExtractor(window=window)  # type: ignore[arg-type]
