"""HybridRetriever query analysis: speakers named in a query become a prior, not words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from memory import SYSTEM, HashEmbedder, MemoryService, RetrievalWeights

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
