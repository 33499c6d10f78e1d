"""Rule-based and model-driven extraction, and relative-date resolution."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from memory._conversation import Conversation, Session, Turn
from memory._english import (
    is_small_talk,
    keyword_entities,
    proper_nouns,
    rewrite_person,
    split_sentences,
)
from memory._extraction import (
    DEFAULT_PROMPT,
    Extractor,
    LLMExtractor,
    ModelOutputError,
    RuleExtractor,
    extract_conversation,
)
from memory._locomo import load_locomo
from memory._temporal import annotate_dates, detect_tense, find_dates
from memory._types import WINDOW_KEY, Candidate, Tier
from memory.errors import ColonyError, InvalidInputError, InvalidNamespaceError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo"
NS = ("team", "test")
MAY_8 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)  # a Monday


def _turn(
    text: str,
    speaker: str = "Melanie",
    *,
    when: datetime = MAY_8,
    dia_id: str = "D1:1",
    caption: str | None = None,
    session: int = 1,
) -> Turn:
    return Turn(speaker, text, dia_id, session, when, caption)


def _extract(
    text: str,
    speaker: str = "Melanie",
    *,
    speakers: tuple[str, ...] = ("Caroline", "Melanie"),
    when: datetime = MAY_8,
    caption: str | None = None,
) -> list[Candidate]:
    turn = _turn(text, speaker, when=when, caption=caption)
    return RuleExtractor().extract([turn], speakers, NS)


def _one(text: str, speaker: str = "Melanie", **kwargs: object) -> Candidate:
    found = _extract(text, speaker, **kwargs)  # type: ignore[arg-type]
    assert len(found) == 1, [c.text for c in found]
    return found[0]


def _resolve(text: str, ref: date) -> list[tuple[str, date, str | None]]:
    return [(m.text, m.date, m.label) for m in find_dates(text, ref)]


# -- relative dates ----------------------------------------------------------------------

REF = date(2023, 5, 8)  # Monday


@pytest.mark.parametrize(
    ("text", "ref", "day", "label"),
    [
        ("I did it today.", REF, date(2023, 5, 8), "on 8 May 2023"),
        ("I'm going out tonight.", REF, date(2023, 5, 8), "on 8 May 2023"),
        ("I ran this morning.", REF, date(2023, 5, 8), "on 8 May 2023"),
        ("I ran yesterday.", REF, date(2023, 5, 7), "on 7 May 2023"),
        ("It rained last night.", REF, date(2023, 5, 7), "on 7 May 2023"),
        ("I ran the day before yesterday.", REF, date(2023, 5, 6), "on 6 May 2023"),
        ("I'll call tomorrow.", REF, date(2023, 5, 9), "on 9 May 2023"),
        # month, year and leap-day boundaries
        ("I ran yesterday.", date(2023, 3, 1), date(2023, 2, 28), "on 28 February 2023"),
        ("I ran yesterday.", date(2024, 3, 1), date(2024, 2, 29), "on 29 February 2024"),
        ("I ran yesterday.", date(2023, 1, 1), date(2022, 12, 31), "on 31 December 2022"),
        ("I'll run tomorrow.", date(2023, 12, 31), date(2024, 1, 1), "on 1 January 2024"),
        ("I saw it 3 days ago.", date(2024, 3, 2), date(2024, 2, 28), "on 28 February 2024"),
    ],
)
def test_day_expressions(text: str, ref: date, day: date, label: str) -> None:
    ((_, found, found_label),) = _resolve(text, ref)
    assert (found, found_label) == (day, label)


@pytest.mark.parametrize(
    ("text", "ref", "day", "label"),
    [
        ("We met last week.", REF, date(2023, 5, 1), "the week before 8 May 2023"),
        ("I'm busy this week.", REF, date(2023, 5, 8), "the week of 8 May 2023"),
        ("I'll start next week.", REF, date(2023, 5, 15), "the week after 8 May 2023"),
        (
            "We met last week.",
            date(2023, 1, 3),
            date(2022, 12, 26),
            "the week before 3 January 2023",
        ),
        ("I went camping last weekend.", REF, date(2023, 5, 6), "the weekend before 8 May 2023"),
        (
            "I went camping last weekend.",
            date(2023, 5, 7),  # a Sunday: the weekend before this one
            date(2023, 4, 29),
            "the weekend before 7 May 2023",
        ),
        (
            "I went camping last weekend.",
            date(2023, 5, 10),
            date(2023, 5, 6),
            "the weekend before 10 May 2023",
        ),
        (
            "We'll go this weekend.",
            date(2023, 5, 10),
            date(2023, 5, 13),
            "the weekend of 13 May 2023",
        ),
        (
            "We'll go next weekend.",
            date(2023, 5, 6),
            date(2023, 5, 13),
            "the weekend of 13 May 2023",
        ),
        ("We hiked over the weekend.", REF, date(2023, 5, 6), "the weekend before 8 May 2023"),
    ],
)
def test_week_and_weekend_expressions(text: str, ref: date, day: date, label: str) -> None:
    ((_, found, found_label),) = _resolve(text, ref)
    assert (found, found_label) == (day, label)


@pytest.mark.parametrize(
    ("text", "ref", "day"),
    [
        ("I ran a race last Saturday.", date(2023, 5, 25), date(2023, 5, 20)),
        ("I ran a race last Monday.", REF, date(2023, 5, 1)),
        ("I saw her last Friday.", date(2023, 1, 2), date(2022, 12, 30)),
        ("It was fun last Sunday night.", REF, date(2023, 5, 7)),
        ("I'll see you next Friday.", date(2023, 1, 20), date(2023, 1, 27)),
        ("Wanna see my moves next Fri?", date(2023, 1, 20), date(2023, 1, 27)),
        ("I went to the park on Friday.", REF, date(2023, 5, 5)),
        ("I will go to the park on Friday.", REF, date(2023, 5, 12)),
        ("I'm going this Saturday.", REF, date(2023, 5, 13)),
        ("This past Tuesday I rested.", REF, date(2023, 5, 2)),
    ],
)
def test_weekday_expressions(text: str, ref: date, day: date) -> None:
    ((_, found, label),) = _resolve(text, ref)
    assert found == day
    assert label == f"{day.day} {day.strftime('%B')} {day.year}"


@pytest.mark.parametrize(
    ("text", "ref", "day", "label"),
    [
        ("I moved two weeks ago.", REF, date(2023, 4, 24), "around 24 April 2023"),
        ("I moved 2 weeks ago.", REF, date(2023, 4, 24), "around 24 April 2023"),
        ("I moved a few days ago.", REF, date(2023, 5, 5), "around 5 May 2023"),
        ("I moved a couple of days ago.", REF, date(2023, 5, 6), "around 6 May 2023"),
        ("I moved five days ago.", REF, date(2023, 5, 3), "on 3 May 2023"),
        ("I moved a month ago.", date(2023, 3, 31), date(2023, 2, 1), "around February 2023"),
        ("I moved three months ago.", REF, date(2023, 2, 1), "around February 2023"),
        ("I moved a year ago.", date(2024, 2, 29), date(2023, 1, 1), "around 2023"),
        ("I started ten years ago.", REF, date(2013, 1, 1), "around 2013"),
        ("I'll be there in two weeks.", REF, date(2023, 5, 22), "around 22 May 2023"),
        ("I've been busy the past few weeks.", REF, date(2023, 4, 17), None),
        ("I changed a lot over the past year.", REF, date(2022, 5, 8), None),
        ("I saw her the other day.", REF, date(2023, 5, 5), "a few days before 8 May 2023"),
    ],
)
def test_ago_and_spans(text: str, ref: date, day: date, label: str | None) -> None:
    ((_, found, found_label),) = _resolve(text, ref)
    assert found == day
    if label is not None:
        assert found_label == label
    else:
        assert found_label is not None and "before 8 May 2023" in found_label


@pytest.mark.parametrize(
    ("text", "ref", "day", "label"),
    [
        ("I lost my job this month.", REF, date(2023, 5, 1), "May 2023"),
        ("I started last month.", REF, date(2023, 4, 1), "April 2023"),
        ("I started last month.", date(2023, 1, 15), date(2022, 12, 1), "December 2022"),
        ("I'll move next month.", date(2023, 12, 5), date(2024, 1, 1), "January 2024"),
        ("I painted it last year.", REF, date(2022, 1, 1), "2022"),
        ("I'll graduate next year.", REF, date(2024, 1, 1), "2024"),
        ("It has been busy this year.", REF, date(2023, 1, 1), "2023"),
        ("We went to Spain last summer.", REF, date(2022, 6, 1), "summer 2022"),
        ("We went to Spain last summer.", date(2023, 9, 20), date(2023, 6, 1), "summer 2023"),
        ("We skied last winter.", REF, date(2022, 12, 1), "winter 2022-2023"),
        ("We'll ski this winter.", date(2023, 1, 10), date(2022, 12, 1), "winter 2022-2023"),
        ("We'll swim next summer.", REF, date(2024, 6, 1), "summer 2024"),
        ("I went there in May.", date(2023, 1, 20), date(2022, 5, 1), "May 2022"),
        ("I will go there in May.", date(2023, 1, 20), date(2023, 5, 1), "May 2023"),
        ("I went there in May.", REF, date(2023, 5, 1), "May 2023"),
        ("I went there last May.", REF, date(2022, 5, 1), "May 2022"),
        ("I went there last March.", REF, date(2023, 3, 1), "March 2023"),
        ("We're going next June.", date(2023, 1, 20), date(2023, 6, 1), "June 2023"),
        ("We met on the 5th.", REF, date(2023, 5, 5), "on 5 May 2023"),
        ("We met on the 20th.", REF, date(2023, 4, 20), "on 20 April 2023"),
        ("We'll meet on the 20th.", REF, date(2023, 5, 20), "on 20 May 2023"),
        ("It closed on the 31st.", date(2023, 5, 15), date(2023, 3, 31), "on 31 March 2023"),
    ],
)
def test_month_year_season_expressions(text: str, ref: date, day: date, label: str) -> None:
    ((_, found, found_label),) = _resolve(text, ref)
    assert (found, found_label) == (day, label)


@pytest.mark.parametrize(
    ("text", "day", "label"),
    [
        ("It opened on May 7, 2023.", date(2023, 5, 7), "7 May 2023"),
        ("It opened on May 7th 2023.", date(2023, 5, 7), "7 May 2023"),
        ("It opened on 7 May 2023.", date(2023, 5, 7), None),
        ("It opened on the 7th of May, 2023.", date(2023, 5, 7), None),
        ("It opened on 2023-05-07.", date(2023, 5, 7), "7 May 2023"),
        ("It opened in 2022.", date(2022, 1, 1), None),
        ("I've lived here since 2016.", date(2016, 1, 1), None),
        ("It opened in March 2021.", date(2021, 3, 1), None),
        ("We married in the summer of 2019.", date(2019, 6, 1), None),
        ("My birthday is May 7.", date(2023, 5, 7), "7 May 2023"),
        ("I met her on 3 April.", date(2023, 4, 3), "3 April 2023"),
    ],
)
def test_explicit_dates(text: str, day: date, label: str | None) -> None:
    ((_, found, found_label),) = _resolve(text, REF)
    assert (found, found_label) == (day, label)


@pytest.mark.parametrize(
    "text",
    [
        "I may go to the park.",
        "They march on.",
        "I sat down and relaxed.",
        "I lost 10 pounds in two weeks.",
        "We sold 2000 tickets.",
        "Mondays are hard.",
        "I love the 2000s.",
        "The sun was out.",
    ],
)
def test_no_false_dates(text: str) -> None:
    assert find_dates(text, REF) == []


def test_longest_expression_wins_and_order_is_kept() -> None:
    found = _resolve("The day before yesterday and last Saturday night were fun.", REF)
    assert [m[0].lower() for m in found] == ["the day before yesterday", "last saturday night"]
    assert [m[1] for m in found] == [date(2023, 5, 6), date(2023, 5, 6)]


def test_annotate_inserts_labels_after_expressions() -> None:
    text = "I ran yesterday and moved last month."
    assert annotate_dates(text, find_dates(text, REF)) == (
        "I ran yesterday (on 7 May 2023) and moved last month (April 2023)."
    )


def test_label_goes_after_a_possessive() -> None:
    text = "Tomorrow's party is at noon."
    assert annotate_dates(text, find_dates(text, REF)) == (
        "Tomorrow's (on 9 May 2023) party is at noon."
    )


def test_tense_detection() -> None:
    assert detect_tense("I'll go in June") == "future"
    assert detect_tense("We're gonna move") == "future"
    assert detect_tense("I went in June") == "past"
    assert detect_tense("I visited Rome") == "past"
    assert detect_tense("June is nice") == "neutral"


# -- sentences, small talk, person -------------------------------------------------------


def test_split_sentences_spares_abbreviations() -> None:
    text = "I met Dr. Smith at 5 p.m. today. It was great! Really? Yes...\nBye"
    assert split_sentences(text) == [
        "I met Dr. Smith at 5 p.m. today.",
        "It was great!",
        "Really?",
        "Yes...",
        "Bye",
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Hey Caroline!",
        "Hi!",
        "Hey Mel!",  # a short form of a speaker's name
        "Thanks so much!",
        "Thank you, Caroline.",
        "Haha!",
        "lol",
        "Good to see you!",
        "See you soon!",
        "Take care!",
        "Talk to you later.",
        "How are you?",
        "What's up?",
        "Wow, that's awesome!",
        "Sorry to hear that.",
        "Yeah, me too!",
        "😊",
    ],
)
def test_small_talk_is_recognised(sentence: str) -> None:
    assert is_small_talk(sentence, ["Caroline", "Melanie"])


@pytest.mark.parametrize(
    "sentence",
    [
        "I went there!",
        "Thanks for the book recommendation!",
        "Congrats on the new job!",
        "Good luck with the interview tomorrow.",
        "Hey, I adopted a dog.",
        "Nice car!",
        "I love Paris.",
    ],
)
def test_content_is_not_small_talk(sentence: str) -> None:
    assert not is_small_talk(sentence, ["Caroline", "Melanie"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I went camping.", "Jon went camping."),
        ("I love dancing.", "Jon loves dancing."),
        ("I really watch a lot of films.", "Jon really watches a lot of films."),
        ("I study law.", "Jon studies law."),
        ("I cherish it.", "Jon cherishes it."),
        ("I went and I bought it.", "Jon went and Jon bought it."),
        ("I am tired.", "Jon is tired."),
        ("I have a dog.", "Jon has a dog."),
        ("I don't know.", "Jon doesn't know."),
        ("I'm starting a studio.", "Jon is starting a studio."),
        ("I've been there.", "Jon has been there."),
        ("I'd love to.", "Jon would love to."),
        ("I'd been there.", "Jon had been there."),
        ("I'll go.", "Jon will go."),
        ("Give me my book, it's mine.", "Give Jon Jon's book, it's Jon's."),
        ("I taught myself.", "Jon taught Jon."),
        ("Gina and I love it.", "Gina and Jon love it."),
        ("My wife and I love it.", "Jon's wife and Jon love it."),
        ("It was hard, and I want more.", "It was hard, and Jon wants more."),
        ("I'd love to have you there!", "Jon would love to have Gina there!"),
        ("Am I late?", "Is Jon late?"),
        ("Do I look ok?", "Does Jon look ok?"),
        ("You are great.", "Gina is great."),
        ("Are you coming?", "Is Gina coming?"),
        ("Have you been there?", "Has Gina been there?"),
        ("What do you think?", "What does Gina think?"),
        ("Did you go?", "Did Gina go?"),
        ("You love it.", "Gina loves it."),
        ("It lets you move.", "It lets Gina move."),
        ("Your store is great.", "Gina's store is great."),
        ("You're right and you've earned it.", "Gina is right and Gina has earned it."),
        ("You'll see.", "Gina will see."),
        ("I love you.", "Jon loves Gina."),
        ("You both looked great.", "Gina and others both looked great."),
        ("Let's go dancing.", "Jon and Gina should go dancing."),
        ("We should plan a trip.", "Jon and Gina should plan a trip."),
        ("We went camping with the kids.", "Jon and family went camping with the kids."),
        ("We won first place.", "Jon and others won first place."),
        ("Our team won.", "Jon's team won."),
        (
            "We're moving and we've packed.",
            "Jon and others are moving and Jon and others have packed.",
        ),
    ],
)
def test_rewrite_person_two_speakers(text: str, expected: str) -> None:
    assert rewrite_person(text, "Jon", "Gina") == expected


def test_second_person_is_left_alone_without_a_single_addressee() -> None:
    assert rewrite_person("I told you about my dog.", "Ana", None) == (
        "Ana told you about Ana's dog."
    )


# -- the rule extractor ------------------------------------------------------------------


def test_camping_example() -> None:
    candidate = _one("I went camping with my kids last weekend.")
    assert candidate.text == (
        "Melanie went camping with Melanie's kids last weekend (the weekend before 8 May 2023)."
    )
    assert candidate.time == datetime(2023, 5, 6, tzinfo=UTC)
    assert candidate.metadata["date"] == "2023-05-06"
    assert candidate.metadata["date_granularity"] == "weekend"
    assert candidate.metadata["date_expression"] == "last weekend"
    assert candidate.metadata["session_date"] == "2023-05-08"
    assert candidate.speaker == "Melanie"
    assert "kids" in candidate.entities


def test_provenance_and_metadata() -> None:
    turn = _turn("I adopted a puppy named Pixel.", "Ana", dia_id="D3:7", session=3)
    (candidate,) = RuleExtractor().extract(turn, ("Ana", "Ben"), NS)
    assert candidate.provenance == ("D3:7",)
    assert candidate.namespace == NS and candidate.tier is Tier.SEMANTIC
    assert candidate.time == MAY_8  # no date expression: when it was said
    meta = candidate.metadata
    assert meta["source"] == "turn" and meta["dia_id"] == "D3:7" and meta["session"] == 3
    assert meta["speaker"] == "Ana" and meta["session_date"] == "2023-05-08"
    assert meta["date"] == "2023-05-08" and meta["original"] == "I adopted a puppy named Pixel."
    json.dumps(dict(meta))


def test_second_person_resolves_to_the_other_speaker() -> None:
    candidate = _one("Your painting is lovely, did you paint it yourself?", "Caroline")
    assert candidate.text == (
        "Caroline: Melanie's painting is lovely, did Melanie paint it Melanie?"
    )
    assert candidate.entities[:2] == ("Caroline", "Melanie")


def test_second_person_kept_with_three_speakers() -> None:
    candidate = _one("Did you see my new bike?", "Ana", speakers=("Ana", "Ben", "Cleo"))
    assert candidate.text == "Ana: Did you see Ana's new bike?"


def test_small_talk_turns_give_no_candidates() -> None:
    for text in ("Hey Caroline! Good to see you!", "Haha, thanks!", "Bye! See you soon!"):
        assert _extract(text) == []


def test_small_talk_is_dropped_but_content_kept() -> None:
    candidate = _one("Hey Caroline! Good to see you! I'm swamped with the kids & work.")
    assert candidate.text == "Melanie is swamped with the kids & work."


def test_small_talk_can_be_kept() -> None:
    turn = _turn("Hey Caroline! Thanks!")
    assert len(RuleExtractor(drop_small_talk=False).extract(turn, None, NS)) == 1


def test_leading_interjections_and_vocatives_are_trimmed() -> None:
    candidate = _one("Wow Caroline, I finally ran a marathon, Caroline!")
    assert candidate.text == "Melanie finally ran a marathon!"


def test_vocative_between_commas_is_removed() -> None:
    candidate = _one("Your support, Caroline, means a lot to me.")
    assert candidate.text == "Melanie: Caroline's support means a lot to Melanie."


def test_related_sentences_stay_together() -> None:
    turn = _turn(
        "I love all dances, but contemporary is my top pick. It's so expressive! "
        "I also started pottery classes."
    )
    found = RuleExtractor(unit="sentence").extract([turn], ("Caroline", "Melanie"), NS)
    assert [c.text for c in found] == [
        "Melanie loves all dances, but contemporary is Melanie's top pick. It's so expressive!",
        "Melanie also started pottery classes.",
    ]


def test_caption_becomes_part_of_the_candidate() -> None:
    candidate = _one("Look what I painted last week!", caption="a photo of a sunset over a lake")
    assert candidate.text.endswith("Melanie shared a photo of a sunset over a lake.")
    assert "(the week before 8 May 2023)" in candidate.text
    assert candidate.metadata["caption"] == "a photo of a sunset over a lake"


def test_caption_alone_survives_small_talk() -> None:
    candidate = _one("Wow, thanks!", caption="a dog on a beach")
    assert candidate.text == "Melanie shared a photo: a dog on a beach."
    assert candidate.provenance == ("D1:1",)


def test_entities() -> None:
    candidate = _one(
        "I lost my job at Door Dash and moved to New York City to work for Bank of America.",
        "Gina",
        speakers=("Jon", "Gina"),
    )
    assert candidate.entities[0] == "Gina"
    for name in ("Door Dash", "New York City", "Bank of America", "job"):
        assert name in candidate.entities


def test_entities_skip_sentence_starts_days_and_pronouns() -> None:
    candidate = _one(
        "Dance is fun. I went there on Friday with Jon.", "Gina", speakers=("Jon", "Gina")
    )
    assert "Dance" not in candidate.entities and "Friday" not in candidate.entities
    assert "I" not in candidate.entities and "Jon" in candidate.entities


def test_sentence_start_name_known_from_elsewhere() -> None:
    turns = [
        _turn("I flew to Lisbon.", "Ana", dia_id="D1:1"),
        _turn("Lisbon is beautiful in spring.", "Ben", dia_id="D1:2"),
    ]
    found = RuleExtractor().extract(turns, ("Ana", "Ben"), NS)
    assert "Lisbon" in found[1].entities


def test_proper_nouns_and_keywords_helpers() -> None:
    assert proper_nouns("Hey Gina, I met Mr. Smith at the Statue of Liberty.") == [
        "Gina",
        "Mr. Smith",
        "Statue of Liberty",
    ]
    assert proper_nouns("Totally agree, Mel. Relaxing is key.") == ["Mel"]
    assert keyword_entities("my kids and my clothing store, our own house.") == [
        "kids",
        "clothing store",
        "house",
    ]


def test_question_and_hypothetical_flags() -> None:
    question = _one("Did you go to the concert?")
    assert question.metadata.get("question") is True
    hypothetical = _one(
        "If I moved to Porto I would miss the beach.", "Ben", speakers=("Ana", "Ben")
    )
    assert hypothetical.metadata.get("hypothetical") is True
    # A relative's news sets none of the speaker's facts; with "I" in it, it may.
    news = _one("Big news from my sister: she moved to Porto.", "Ben", speakers=("Ana", "Ben"))
    assert news.metadata.get("about_other") is True
    together = _one("My sister and I moved to Porto.", "Ben", speakers=("Ana", "Ben"))
    assert "about_other" not in together.metadata


def test_extract_accepts_every_source_shape() -> None:
    turns = (
        _turn("I adopted a dog.", "Ana", dia_id="D1:1"),
        _turn("I bought a bike.", "Ben", dia_id="D1:2"),
    )
    session = Session(1, MAY_8, turns)
    conv = Conversation("c1", ("Ana", "Ben"), (session,))
    extractor = RuleExtractor()
    expected = extractor.extract(list(turns), ("Ana", "Ben"), NS)
    assert extractor.extract(session, ("Ana", "Ben"), NS) == expected
    assert extractor.extract(conv, None, NS) == expected
    assert extractor.extract(session, None, NS) == expected  # speakers from the turns
    # One turn alone has no turns around it: the rest of its memory is the same.
    (alone,) = extractor.extract(turns[0], None, NS)
    first = expected[0]
    assert first.metadata[WINDOW_KEY] == "I bought a bike." and WINDOW_KEY not in alone.metadata
    kept = {key: value for key, value in first.metadata.items() if key != WINDOW_KEY}
    assert alone == replace(first, metadata=kept)
    assert extract_conversation(conv, namespace=NS) == expected
    assert extract_conversation(conv)[0].namespace == ("conversation", "c1")


def test_extract_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidNamespaceError):
        RuleExtractor().extract(_turn("I ran."), None, ("bad label",))
    with pytest.raises(InvalidInputError, match="Conversation, a Session"):
        RuleExtractor().extract("I ran.", None, NS)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="sequence of names"):
        RuleExtractor().extract(_turn("I ran."), "Ana", NS)


def test_dates_can_be_left_unresolved() -> None:
    turn = _turn("I ran yesterday.")
    (candidate,) = RuleExtractor(resolve_dates=False).extract(turn, None, NS)
    assert candidate.text == "Melanie ran yesterday." and candidate.time == MAY_8


def test_extractors_satisfy_the_protocol() -> None:
    assert isinstance(RuleExtractor(), Extractor)
    assert isinstance(LLMExtractor(lambda prompt: "[]"), Extractor)


@pytest.mark.skipif(not (DATA / "conv-30.json").is_file(), reason=f"no LoCoMo sample in {DATA}")
def test_every_evidence_turn_of_the_samples_yields_a_candidate() -> None:
    for conv in load_locomo(DATA):
        candidates = extract_conversation(conv)
        covered = {p for c in candidates for p in c.provenance}
        evidence = {e for q in conv.questions if q.category != "5" for e in q.evidence}
        # Nearly every turn a question cites gives or joins a memory; the rest are
        # greetings or reactions ("Wow! Did you see that band?").
        assert len(evidence - covered) <= 0.03 * len(evidence), sorted(evidence - covered)
        assert len(candidates) < len(conv.turns)  # fewer, denser memories than turns
        for candidate in candidates:
            assert 1 <= len(candidate.provenance) <= 2 and candidate.text
            assert candidate.provenance[0] == candidate.metadata["dia_id"]
            assert candidate.entities[0] == candidate.speaker


@pytest.mark.skipif(not (DATA / "conv-30.json").is_file(), reason=f"no LoCoMo sample in {DATA}")
def test_sample_relative_dates_resolve() -> None:
    conv = load_locomo(DATA / "conv-30.json")[0]
    by_turn = {c.provenance[0]: c for c in extract_conversation(conv)}
    job = by_turn["D1:2"]  # "Lost my job as a banker yesterday" on 20 January 2023
    assert job.metadata["date"] == "2023-01-19" and "19 January 2023" in job.text


# -- the model extractor -----------------------------------------------------------------

TURNS = (
    _turn("I adopted a dog yesterday!", "Ana", dia_id="D2:1", session=2),
    _turn("Cool! I got a bike.", "Ben", dia_id="D2:2", session=2, caption="a red bike"),
)


class ScriptedModel:
    """Returns canned replies in order and records the prompts."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.replies.pop(0)


def _facts(*facts: dict[str, object]) -> str:
    return json.dumps({"facts": list(facts)})


def test_llm_extractor_parses_facts() -> None:
    model = ScriptedModel(
        _facts(
            {
                "text": "Ana adopted a dog on 7 May 2023.",
                "dia_ids": ["D2:1"],
                "speaker": "Ana",
                "date": "2023-05-07",
                "entities": ["dog"],
            },
            {"text": "Ben got a red bike.", "dia_ids": "D2:2", "date": None},
        )
    )
    found = LLMExtractor(model).extract(TURNS, ("Ana", "Ben"), NS)
    assert [c.text for c in found] == ["Ana adopted a dog on 7 May 2023.", "Ben got a red bike."]
    assert found[0].time == datetime(2023, 5, 7, tzinfo=UTC)
    assert found[0].entities == ("Ana", "dog") and found[0].provenance == ("D2:1",)
    assert found[1].speaker == "Ben" and found[1].time == MAY_8
    assert found[1].metadata["source"] == "llm" and found[1].metadata["session"] == 2
    prompt = model.prompts[0]
    assert "Ana and Ben" in prompt and "8 May 2023" in prompt
    assert "[D2:2] Ben: Cool! I got a bike. [photo: a red bike]" in prompt
    assert '{"facts": [' in prompt  # JSON braces in the prompt survive templating


def test_llm_extractor_accepts_fenced_or_wrapped_json() -> None:
    fenced = "```json\n" + _facts({"text": "Ana has a dog.", "dia_ids": ["D2:1"]}) + "\n```"
    wrapped = 'Here you go: [{"text": "Ana has a dog.", "dia_ids": ["D2:1"]}] Hope it helps.'
    for reply in (fenced, wrapped):
        (candidate,) = LLMExtractor(ScriptedModel(reply)).extract(TURNS, None, NS)
        assert candidate.text == "Ana has a dog."


def test_llm_extractor_uses_a_custom_prompt_and_batches_by_session() -> None:
    turns = (*TURNS, _turn("I moved.", "Ana", dia_id="D3:1", session=3))
    model = ScriptedModel("[]", "[]", "[]")
    extractor = LLMExtractor(
        model, prompt="Facts of {speakers} on {session_date}:\n{turns}", max_turns=1
    )
    assert extractor.extract(turns, ("Ana", "Ben"), NS) == []
    assert len(model.prompts) == 3
    assert model.prompts[2] == "Facts of Ana and Ben on 8 May 2023:\n[D3:1] Ana: I moved."
    assert DEFAULT_PROMPT.count("{turns}") == 1


def test_llm_extractor_infers_the_turn_of_a_single_turn_batch() -> None:
    model = ScriptedModel(_facts({"text": "Ana adopted a dog."}))
    (candidate,) = LLMExtractor(model).extract(TURNS[0], None, NS)
    assert candidate.provenance == ("D2:1",)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("Sorry, I cannot help with that.", "not valid JSON"),
        ("{not json}", "not valid JSON"),
        ('{"facts": "none"}', "list of fact objects"),
        (_facts({"dia_ids": ["D2:1"]}), "no 'text'"),
        (_facts({"text": "x", "dia_ids": ["D9:9"]}), "cites turns"),
        (_facts({"text": "x", "dia_ids": []}), "cites turns"),
        (_facts({"text": "x", "dia_ids": ["D2:1"], "date": "someday"}), "'date'"),
        (_facts({"text": "x", "dia_ids": ["D2:1"], "entities": "dog"}), "'entities'"),
    ],
)
def test_llm_extractor_reports_bad_replies(reply: str, message: str) -> None:
    with pytest.raises(ModelOutputError, match=message) as info:
        LLMExtractor(ScriptedModel(reply)).extract(TURNS, None, NS)
    assert isinstance(info.value, InvalidInputError) and isinstance(info.value, ColonyError)


def test_llm_extractor_rejects_bad_batch_size() -> None:
    with pytest.raises(InvalidInputError, match="max_turns"):
        LLMExtractor(ScriptedModel(), max_turns=0).extract(TURNS, None, NS)
