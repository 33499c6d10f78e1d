"""HybridRetriever query analysis: speakers and dates named in a query become priors."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from memory import SYSTEM, WINDOW_KEY, HashEmbedder, MemoryService, RetrievalWeights
from memory._index import BM25Index
from memory._retrieval import HybridRetriever, _collector_paused
from memory._temporal import Period, named_periods

NS = ("team", "chat")


def _service(weights: RetrievalWeights | None = None) -> MemoryService:
    return MemoryService.open(":memory:", embedder=HashEmbedder(), weights=weights)


@pytest.fixture
def service() -> Iterator[MemoryService]:
    with _service() as svc:
        for speaker, text in [
            ("Melanie", "Melanie: I painted a sunset over the lake."),
            ("Caroline", "Caroline: I painted a sunset over the lake too."),
            ("Caroline", "Caroline: Melanie, Melanie, Melanie, you and Melanie are great."),
            ("Will", "Will: I researched adoption agencies."),
        ]:
            svc.add(text, principal=SYSTEM, namespace=NS, metadata={"speaker": speaker})
        yield svc


def _texts(service: MemoryService, query: str) -> list[str]:
    return [h.record.text for h in service.search(query, principal=SYSTEM, k=4)]


def test_analyse_takes_named_speakers_out_of_the_words(service: MemoryService) -> None:
    analyse = service._retriever.analyse
    assert analyse("What did Caroline paint?") == ("What did paint?", frozenset({"caroline"}))
    assert analyse("What did Mel's kids like?") == ("What did kids like?", frozenset({"melanie"}))
    # lower-case words are never names, even when a speaker is called that
    assert analyse("What will they do?") == ("What will they do?", frozenset())
    both = analyse("Did Melanie and Caroline both paint?")
    assert both == ("Did and both paint?", frozenset({"melanie", "caroline"}))


def test_the_named_speaker_comes_first(service: MemoryService) -> None:
    assert _texts(service, "What did Caroline paint?")[0].startswith("Caroline: I painted")
    assert _texts(service, "What did Melanie paint?")[0].startswith("Melanie: I painted")


def test_a_name_repeated_in_a_memory_does_not_win(service: MemoryService) -> None:
    assert "great" not in _texts(service, "What did Melanie paint?")[0]


def test_speaker_analysis_can_be_turned_off() -> None:
    with _service(RetrievalWeights(other_speaker_factor=1.0)) as svc:
        svc.add("Ana: I ran.", principal=SYSTEM, namespace=NS, metadata={"speaker": "Ana"})
        assert svc._retriever.analyse("Did Ana run?") == ("Did Ana run?", frozenset({"ana"}))


def test_speakers_survive_a_reopen(tmp_path: object) -> None:
    path = f"{tmp_path}/m.duckdb"
    with MemoryService.open(path, embedder=HashEmbedder()) as svc:
        svc.add("Ana: I ran.", principal=SYSTEM, namespace=NS, metadata={"speaker": "Ana"})
    with MemoryService.open(path, embedder=HashEmbedder()) as svc:
        assert svc._retriever.analyse("Did Ana run?")[1] == frozenset({"ana"})


def test_the_owner_named_in_a_query_is_not_its_subject(service: MemoryService) -> None:
    analyse = service._retriever.analyse
    assert analyse("What did Melanie think of Caroline's plan?")[1] == frozenset({"melanie"})
    assert analyse("What do Caroline's kids like?")[1] == frozenset({"caroline"})


def test_a_named_month_prefers_memories_of_that_month() -> None:
    with _service() as svc:
        for month in (6, 7):
            when = datetime(2023, month, 10, tzinfo=UTC)
            svc.add(
                f"Melanie: We went camping with the kids ({month}).",
                principal=SYSTEM,
                namespace=NS,
                valid_from=when,
                metadata={"speaker": "Melanie", "session_date": when.date().isoformat()},
            )
        for month, name in ((6, "June"), (7, "July")):
            top = _texts(svc, f"When did Melanie go camping in {name}?")[0]
            assert f"({month})" in top


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("When did she go camping in June?", [Period(None, frozenset({6}))]),
        ("What happened on October 13, 2023?", [Period(2023, frozenset({10}), 13)]),
        ("What did they paint in July 2023?", [Period(2023, frozenset({7}))]),
        ("Where did they go during the summer?", [Period(None, frozenset({6, 7, 8}))]),
        ("How often did she swim in 2023?", [Period(2023, frozenset())]),
        ("May I ask? Did she fall down?", []),
    ],
)
def test_named_periods(text: str, expected: list[Period]) -> None:
    assert named_periods(text) == expected


def test_period_contains() -> None:
    day = Period(2023, frozenset({10}), 13)
    assert day.contains(date(2023, 10, 15)) and not day.contains(date(2023, 10, 20))
    winter = Period(2022, frozenset({12, 1, 2}))
    assert winter.contains(date(2023, 1, 5)) and not winter.contains(date(2022, 1, 5))


def test_memories_without_a_speaker_are_not_held_back() -> None:
    with _service() as svc:
        svc.add(
            "Ben: I painted a boat.", principal=SYSTEM, namespace=NS, metadata={"speaker": "Ben"}
        )
        svc.add("Ana painted a boat in 2020.", principal=SYSTEM, namespace=NS)
        svc.add("Ana: I ran.", principal=SYSTEM, namespace=NS, metadata={"speaker": "Ana"})
        assert _texts(svc, "What did Ana paint?")[0] == "Ana painted a boat in 2020."


def test_only_speakers_under_the_filter_are_analysed() -> None:
    with _service() as svc:
        svc.add(
            "Ana: I ran.", principal=SYSTEM, namespace=("chat", "a"), metadata={"speaker": "Ana"}
        )
        svc.add("Notes: Ana painted a boat.", principal=SYSTEM, namespace=("docs", "b"))
        svc.add("Notes: Ben painted a car.", principal=SYSTEM, namespace=("docs", "b"))
        hits = svc.search("What did Ana paint?", principal=SYSTEM, namespace_prefix=("docs",))
        # In ("docs",) nobody speaks, so "Ana" stays a word to match.
        assert hits[0].record.text == "Notes: Ana painted a boat."
        assert "bm25" in hits[0].components


def test_indexes_are_built_in_bulk_with_the_garbage_collector_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, bool]] = []
    facts, words = HybridRetriever._add_row_facts, BM25Index.add_many

    def spy_facts(self: HybridRetriever, *args: object) -> None:
        seen.append(("vectors and rows", gc.isenabled()))
        facts(self, *args)  # type: ignore[arg-type]

    def spy_words(self: BM25Index, *args: object) -> None:
        seen.append(("words", gc.isenabled()))
        words(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(HybridRetriever, "_add_row_facts", spy_facts)
    monkeypatch.setattr(BM25Index, "add_many", spy_words)
    with _service() as service:
        table = pa.table({"namespace": ["team/a"] * 3, "text": ["one", "two", "three"]})
        service.import_arrow(table, principal=SYSTEM)
        assert seen == [("vectors and rows", False)] and gc.isenabled()  # resumed once built
        # The first search by words builds the keyword index, paused too.
        assert [h.record.text for h in service.search("two", principal=SYSTEM)][:1] == ["two"]
        assert seen[1:] == [("words", False)] and gc.isenabled()
    # A paused collector stays paused (it is its pauser's to resume); an error resumes it.
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("a failed build")
    assert gc.isenabled()


def _add(svc: MemoryService, text: str, window: str | None = None) -> None:
    metadata = {"speaker": "Jon", **({WINDOW_KEY: window} if window else {})}
    svc.add(text, principal=SYSTEM, namespace=NS, metadata=metadata)


def _found(service: MemoryService, query: str) -> list[str]:
    """What ranks at all (a retriever of weight 0 still lists its hits, at no score)."""
    return [h.record.text for h in service.search(query, principal=SYSTEM, k=4) if h.score > 0]


def test_a_memory_is_found_by_the_words_of_the_turns_around_it(tmp_path: object) -> None:
    path = f"{tmp_path}/m.duckdb"
    query = "What will Jon do at the grand opening?"
    keywords = RetrievalWeights(vector=0.0, graph=0.0)
    savor, nervous, floor = (
        "Jon: I will savor every minute of it.",
        "Jon: Thanks, I am nervous.",
        "Jon: My studio has a new floor.",
    )
    with MemoryService.open(path, embedder=HashEmbedder(), weights=keywords) as svc:
        _add(svc, savor, "Gina: The grand opening of your studio is tomorrow!")
        _add(svc, floor)
        assert _found(svc, query) == [savor]
        # Added after the window's index was built: indexed there too.
        _add(svc, nervous, "Gina: The grand opening! The grand opening is here!")
        assert _found(svc, query) == [nervous, savor]
    # Read back from the file, the windows are still searched.
    with MemoryService.open(path, embedder=HashEmbedder(), weights=keywords) as svc:
        assert _found(svc, query) == [nervous, savor]
        assert _found(svc, "studio") == [floor, savor]  # its own words first
    # With the window's ranking off, only the memories' own words count: none says it.
    own = RetrievalWeights(bm25=1.0, window=0.0, vector=0.0, graph=0.0)
    with MemoryService.open(path, embedder=HashEmbedder(), weights=own) as svc:
        assert _found(svc, query) == []


def test_without_windows_the_keyword_weight_is_the_two_weights_together() -> None:
    said = [
        ("Melanie", "Melanie: I painted a sunset over the lake."),
        ("Caroline", "Caroline: I painted a sunset over the lake too."),
        ("Will", "Will: I researched adoption agencies and a lake house."),
    ]
    ranked = []
    for weights in (RetrievalWeights(), RetrievalWeights(bm25=1.0, window=0.0)):
        with _service(weights) as svc:
            for speaker, text in said:
                svc.add(text, principal=SYSTEM, namespace=NS, metadata={"speaker": speaker})
            queries = ["What did Caroline paint?", "adoption agencies", "lake", "sunset"]
            ranked.append(
                [
                    [(h.record.text, h.score) for h in svc.search(q, principal=SYSTEM)]
                    for q in queries
                ]
            )
    assert ranked[0] == ranked[1]
