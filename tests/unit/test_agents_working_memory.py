"""WorkingMemory: bounded by tokens, evicting the least useful items."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import WorkingItem, WorkingMemory
from memory.errors import InvalidInputError


def test_add_within_budget() -> None:
    memory = WorkingMemory(10)
    assert memory.add("one two three") == ()
    assert memory.add("four five", importance=0.9, kind="observation") == ()
    assert memory.tokens == 5 and len(memory) == 2
    first, second = memory.items()
    assert (first.text, first.tokens, first.kind, first.importance) == (
        "one two three",
        3,
        "note",
        0.5,
    )
    assert second.kind == "observation" and second.seq > first.seq


def test_evicts_lowest_importance_then_oldest() -> None:
    memory = WorkingMemory(6)
    memory.add("a a", importance=0.5)  # old, middling
    memory.add("b b", importance=0.2)  # least important
    memory.add("c c", importance=0.5)  # newer, middling
    evicted = memory.add("d d d d", importance=0.8)
    # 10 tokens held; drop the 0.2 item, then the older of the two 0.5 items.
    assert [i.text for i in evicted] == ["b b", "a a"]
    assert [i.text for i in memory.items()] == ["c c", "d d d d"]
    assert memory.tokens == 6 <= memory.budget_tokens


def test_new_item_can_be_the_one_evicted() -> None:
    memory = WorkingMemory(4)
    memory.add("keep this important note", importance=1.0)
    evicted = memory.add("trivia", importance=0.0)
    assert [i.text for i in evicted] == ["trivia"]
    assert [i.text for i in memory.items()] == ["keep this important note"]


def test_custom_tokenizer_and_clear() -> None:
    memory = WorkingMemory(10, tokenizer=len)  # characters as tokens
    memory.add("abcdef")
    evicted = memory.add("ghijk")
    assert [i.text for i in evicted] == ["abcdef"]
    assert memory.tokens == 5
    assert [i.text for i in memory.clear()] == ["ghijk"]
    assert memory.items() == () and memory.tokens == 0


@pytest.mark.parametrize("budget", [0, -5, 2.5, True, "10"])
def test_bad_budget(budget: object) -> None:
    with pytest.raises(InvalidInputError, match="budget_tokens"):
        WorkingMemory(budget)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "options", "fragment"),
    [
        (b"bytes", {}, "text must be a str"),
        (None, {}, "text must be a str"),
        ("   ", {}, "empty"),
        ("ok", {"importance": 1.5}, "importance"),
        ("ok", {"importance": float("nan")}, "importance"),
        ("ok", {"importance": "high"}, "importance"),
        ("ok", {"kind": ""}, "kind"),
        ("one two three four five six", {}, "6 tokens does not fit a working memory of 5"),
    ],
)
def test_bad_input_leaves_memory_unchanged(
    text: object, options: dict[str, object], fragment: str
) -> None:
    memory = WorkingMemory(5)
    memory.add("kept")
    before = memory.items()
    with pytest.raises(InvalidInputError, match=fragment):
        memory.add(text, **options)  # type: ignore[arg-type]
    assert memory.items() == before and memory.tokens == 1


def test_bad_tokenizer() -> None:
    with pytest.raises(InvalidInputError, match="tokenizer"):
        WorkingMemory(5, tokenizer=3)  # type: ignore[arg-type]
    memory = WorkingMemory(5, tokenizer=lambda _: -1)
    with pytest.raises(InvalidInputError, match="tokenizer must return"):
        memory.add("x")
    assert len(memory) == 0


def test_items_are_frozen_records() -> None:
    memory = WorkingMemory(5)
    memory.add("x")
    item = memory.items()[0]
    assert isinstance(item, WorkingItem)
    with pytest.raises(AttributeError):
        item.text = "y"  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 12),
    st.lists(st.tuples(st.integers(1, 5), st.sampled_from([0.0, 0.3, 0.5, 1.0])), max_size=60),
)
def test_eviction_matches_the_rule_lowest_importance_then_oldest(
    budget: int, adds: list[tuple[int, float]]
) -> None:
    memory = WorkingMemory(budget)
    held: list[WorkingItem] = []  # the rule, written out the slow way
    seq = 0
    for words, importance in adds:
        if words > budget:
            continue
        text = " ".join(["w"] * words)
        evicted = memory.add(text, importance=importance, kind=f"k{seq}")
        held.append(WorkingItem(text, importance, f"k{seq}", words, seq))
        seq += 1
        expected: list[WorkingItem] = []
        while sum(i.tokens for i in held) > budget:
            victim = min(held, key=lambda i: (i.importance, i.seq))
            held.remove(victim)
            expected.append(victim)
        assert list(evicted) == expected
        assert list(memory.items()) == held
        assert memory.tokens == sum(i.tokens for i in held) <= budget
