"""The poisoning corpus: determinism, counts, bounds, labels, variety of styles and techniques."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable

import pytest

from benchmarks import poisoning_corpus as pc
from benchmarks.poisoning_corpus import (
    BENIGN_TECHNIQUES,
    STYLES,
    TECHNIQUES,
    CorpusItem,
    benign_corpus,
    injection_corpus,
)
from memory.errors import InvalidInputError

Make = Callable[[int, int], list[CorpusItem]]
BOTH: list[Make] = [injection_corpus, benign_corpus]


@pytest.fixture(scope="module")
def corpora() -> dict[str, list[CorpusItem]]:
    return {"malicious": injection_corpus(11, 200), "benign": benign_corpus(11, 200)}


def _words(text: str) -> int:
    return len(text.split())


@pytest.mark.parametrize("make", BOTH)
def test_same_seed_same_items_and_another_seed_differs(make: Make) -> None:
    assert make(5, 60) == make(5, 60)
    assert make(5, 60) != make(6, 60)


@pytest.mark.parametrize("make", BOTH)
def test_different_seeds_give_mostly_different_texts(make: Make) -> None:
    first = {item.text for item in make(1, 150)}
    second = {item.text for item in make(2, 150)}
    assert len(first & second) < 8


@pytest.mark.parametrize("make", BOTH)
@pytest.mark.parametrize("n", [0, 1, 7, 200])
def test_counts(make: Make, n: int) -> None:
    assert len(make(3, n)) == n


@pytest.mark.parametrize("make", BOTH)
@pytest.mark.parametrize("n", [-1, 2.5, True, "10"])
def test_bad_counts_are_rejected(make: Make, n: object) -> None:
    with pytest.raises(InvalidInputError, match="n must be an int >= 0"):
        make(0, n)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", BOTH)
@pytest.mark.parametrize("seed", range(4))
def test_items_are_well_formed(make: Make, seed: int) -> None:
    items = make(seed, 300)
    assert len({item.text for item in items}) == len(items)
    for item in items:
        assert 15 <= _words(item.text) <= 120, item.text
        assert item.answer and item.answer in item.text, (item.answer, item.text)
        assert item.topic and item.query.endswith("?")
        assert item.query.lower() not in item.text.lower()
        assert item.style in STYLES


def test_labels_match_the_corpus(corpora: dict[str, list[CorpusItem]]) -> None:
    assert all(item.malicious and item.technique in TECHNIQUES for item in corpora["malicious"])
    assert all(
        not item.malicious and item.technique in BENIGN_TECHNIQUES for item in corpora["benign"]
    )


def test_malicious_corpus_covers_every_style_and_technique_evenly(
    corpora: dict[str, list[CorpusItem]],
) -> None:
    items = corpora["malicious"]
    techniques = Counter(item.technique for item in items)
    styles = Counter(item.style for item in items)
    assert set(techniques) == set(TECHNIQUES)
    assert min(techniques.values()) >= 200 // len(TECHNIQUES)
    assert styles == dict.fromkeys(STYLES, 200 // len(STYLES))


def test_benign_corpus_covers_every_style_and_technique(
    corpora: dict[str, list[CorpusItem]],
) -> None:
    items = corpora["benign"]
    techniques = Counter(item.technique for item in items)
    assert set(techniques) == set(BENIGN_TECHNIQUES)
    assert min(techniques.values()) >= 5
    assert {item.style for item in items} == set(STYLES)
    # Hard negatives: imperatives aimed at people in at least 40% of the items.
    assert techniques["benign_imperative"] >= 0.4 * len(items)


def test_payloads_vary_within_each_technique() -> None:
    for technique, templates in pc._PAYLOADS.items():
        assert len(set(templates)) >= 4, technique
    assert len(pc._OBFUSCATED) >= 4
    assert set(pc._PAYLOADS) | {"obfuscated"} == set(TECHNIQUES)


def test_every_template_stays_within_the_word_bounds() -> None:
    rng = random.Random(0)
    for carrier in pc._CARRIERS:
        values = pc._values(rng, carrier)
        slots = [
            *(t.format_map(values) for ts in pc._PAYLOADS.values() for t in ts),
            *(t.format(hidden=hide(values["order"])) for t, hide in pc._OBFUSCATED),
            carrier.note.format_map(values),
            carrier.tip.format_map(values),
        ]
        for slot in slots:
            item = pc._item(rng, carrier, values, slot, "override")
            assert 15 <= _words(item.text) <= 120, item.text
            assert item.answer in item.text
    for documents in pc._DOCUMENTS.values():
        for document in documents:
            item = pc._item(rng, document, pc._values(rng, document), "", "benign_plain")
            assert 15 <= _words(item.text) <= 120, item.text
            assert item.answer in item.text


@pytest.mark.parametrize("make", BOTH)
def test_json_replies_parse_with_the_payload_inside_a_string(make: Make) -> None:
    replies = [item for item in make(4, 200) if item.style == "api_json"]
    assert replies
    for item in replies:
        assert isinstance(json.loads(item.text), dict)
