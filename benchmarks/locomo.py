"""Evidence recall on LoCoMo-layout conversations, without an LLM.

For each conversation: ingest into a fresh in-memory store, then for every question (category
5, adversarial, excluded) retrieve memories in rank order until the word budget is used and
score evidence recall: the share of the question's evidence turn ids found in the provenance
of what was retrieved. ``baseline`` scores plain retrieval over raw turns in the same harness.

Evidence recall credits a turn whenever a memory that carries it is retrieved, whatever of its
text the context holds. ``answer_in_context`` checks the other side: for the questions whose
reference answer is short (at most :data:`ANSWER_WORDS` words), the share whose answer appears
word for word in the retrieved text. A change that raises recall while this falls is crediting
turns without their content.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memory import (
    SYSTEM,
    Candidate,
    Conversation,
    Embedder,
    MemoryService,
    MiniLMEmbedder,
    RetrievalWeights,
    RuleExtractor,
    Tier,
    default_embedder,
    load_locomo,
)
from memory._duckdb import DuckDBStore
from memory.errors import InvalidInputError
from policies import make_policy

__all__ = [
    "ANSWER_WORDS",
    "BASELINES",
    "answer_in_context",
    "bench_embedder",
    "run_locomo",
    "summarize",
]


def _plain(*, vector: float) -> RetrievalWeights:
    """Plain retrieval over raw turns: the same fusion as ours (RRF constant, depth), nothing
    that knows about the memory (no entity graph, no speaker, date or slot analysis)."""
    return RetrievalWeights(
        bm25=1.0,
        window=0.0,
        vector=vector,
        graph=0.0,
        slot=0.0,
        other_speaker_factor=1.0,
        date_factor=1.0,
        slot_factor=1.0,
    )


BASELINES: dict[str, RetrievalWeights] = {
    "bm25-turns": _plain(vector=0.0),
    "hybrid-turns": _plain(vector=1.0),
}
EXCLUDED_CATEGORIES = frozenset({"5"})
SEARCH_DEPTH = 200
ANSWER_WORDS = 5
"""Reference answers up to this many words are looked for in the context; longer ones
(lists, explanations) are paraphrased by any context and are not checked."""

_NOT_WORD = re.compile(r"[\W_]+")


def _words_of(text: str) -> str:
    """Lower-cased words joined by single spaces, with a space at each end."""
    return " " + " ".join(_NOT_WORD.sub(" ", text.casefold()).split()) + " "


def answer_in_context(answer: str | None, texts: Sequence[str]) -> bool | None:
    """Whether ``answer`` appears word for word (case and punctuation aside) in ``texts``;
    None when there is no answer or it is longer than :data:`ANSWER_WORDS` words."""
    if answer is None:
        return None
    wanted = _words_of(answer)
    if not wanted.strip() or len(wanted.split()) > ANSWER_WORDS:
        return None
    return any(wanted in _words_of(text) for text in texts)


def turn_text(speaker: str, text: str, caption: str | None) -> str:
    """A raw turn as the baselines index it."""
    shared = f" [shared a photo: {caption}]" if caption else ""
    return f"{speaker}: {text}{shared}"


def _ingest_turns(service: MemoryService, conv: Conversation, namespace: tuple[str, ...]) -> None:
    candidates = [
        Candidate(
            text=turn_text(t.speaker, t.text, t.caption),
            namespace=namespace,
            tier=Tier.INTERACTION,
            speaker=t.speaker,
            time=t.time,
            provenance=(t.dia_id,),
            metadata={"dia_id": t.dia_id, "session": t.session},
        )
        for t in conv.turns
    ]
    service.remember(candidates, principal=SYSTEM, policy=make_policy("add-all"))


def _ingest_facts(
    service: MemoryService, conv: Conversation, namespace: tuple[str, ...], extractor: RuleExtractor
) -> None:
    for session in conv.sessions:
        service.remember(extractor.extract(session, conv.speakers, namespace), principal=SYSTEM)


def run_locomo(
    paths: Sequence[str | Path],
    *,
    budget_words: int = 300,
    policy: str = "heuristic",
    baseline: str | None = None,
    embedder: str | Embedder | None = None,
    extractor: RuleExtractor | None = None,
    weights: RetrievalWeights | None = None,
    compare: str | None = None,
) -> dict[str, Any]:
    """Run the benchmark; returns the JSON-ready result.

    ``extractor`` and ``weights`` replace the defaults of our system (for ablations);
    a baseline always uses its own weights and the raw turns. ``compare`` names a baseline
    to run on the same data after ours: its result goes under ``"baseline"`` (not with
    ``baseline``, which runs a baseline instead of ours).
    """
    for option, name in (("baseline", baseline), ("compare", compare)):
        if name is not None and name not in BASELINES:
            raise InvalidInputError(
                f"unknown {option} {name!r}; choose one of {', '.join(sorted(BASELINES))}"
            )
    if not isinstance(budget_words, int) or budget_words <= 0:
        raise InvalidInputError(f"--budget-words must be a positive integer, got {budget_words!r}")
    conversations = load_locomo(paths)
    emb = bench_embedder(embedder)
    weights = BASELINES[baseline] if baseline else (weights or RetrievalWeights())
    extractor = extractor or RuleExtractor()
    per_category: dict[str, list[float]] = defaultdict(list)
    answered: dict[str, list[float]] = defaultdict(list)
    per_conv: dict[str, float] = {}
    items = turns = 0
    ingest_s = 0.0
    search_ms: list[float] = []
    for conv in conversations:
        namespace = ("locomo", conv.id)
        service = MemoryService(
            DuckDBStore.from_path(":memory:"),
            embedder=emb,
            policy=make_policy(policy),
            weights=weights,
        )
        started = time.perf_counter()
        if baseline:
            _ingest_turns(service, conv, namespace)
        else:
            _ingest_facts(service, conv, namespace, extractor)
        ingest_s += time.perf_counter() - started
        items += service.stats()["current"]
        turns += len(conv.turns)
        scores = []
        for q in conv.questions:
            if q.category in EXCLUDED_CATEGORIES or not q.evidence:
                continue
            t0 = time.perf_counter()
            packed = service.search(
                q.question,
                principal=SYSTEM,
                namespace_prefix=namespace,
                k=SEARCH_DEPTH,
                budget_words=budget_words,
            )
            search_ms.append((time.perf_counter() - t0) * 1000)
            found = {p for hit in packed for p in hit.record.provenance}
            share = len(found & set(q.evidence)) / len(set(q.evidence))
            per_category[q.category].append(share)
            scores.append(share)
            held = answer_in_context(q.answer, [hit.record.text for hit in packed])
            if held is not None:
                answered[q.category].append(float(held))
        per_conv[conv.id] = _pct(scores)
        service.close()
    all_scores = [s for values in per_category.values() for s in values]
    recall = {"overall": _pct(all_scores)}
    recall.update({cat: _pct(per_category[cat]) for cat in sorted(per_category, key=_cat_key)})
    checked = [held for values in answered.values() for held in values]
    in_context = {"overall": _pct(checked)}
    in_context.update({cat: _pct(answered[cat]) for cat in sorted(answered, key=_cat_key)})
    result = {
        "questions": len(all_scores),
        "recall": recall,
        "answer_in_context": in_context,
        "answer_questions": len(checked),
        "items_stored": items,
        "raw_turns": turns,
        "ingest_s": round(ingest_s, 2),
        "policy": baseline or policy,
        "budget_words": budget_words,
        "per_conversation": per_conv,
        "search_p95_ms": round(_p95(search_ms), 2),
    }
    if compare is not None and baseline is None:
        result["baseline"] = run_locomo(
            paths, budget_words=budget_words, baseline=compare, embedder=emb
        )
    return result


def bench_embedder(choice: str | Embedder | None) -> Embedder:
    """The embedder a benchmark run uses: ``choice``, or the default one set up for it."""
    if isinstance(choice, Embedder):
        return choice
    emb = default_embedder(choice)
    if isinstance(emb, MiniLMEmbedder) and emb.num_threads is None:
        # Questions are embedded one at a time; on a busy two-core machine a second torch
        # thread mostly waits (p95 of one query: ~500 ms with two threads, ~10 ms with one).
        emb = MiniLMEmbedder(num_threads=1)
    return emb


def _pct(values: Sequence[float]) -> float:
    return round(100 * statistics.fmean(values), 2) if values else 0.0


def _p95(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _cat_key(category: str) -> tuple[int, str]:
    return (int(category), category) if category.isdigit() else (10**9, category)


def summarize(result: dict[str, Any]) -> str:
    """One human line per figure, for stderr."""
    cats = ", ".join(f"{k}={v}" for k, v in result["recall"].items())
    return (
        f"locomo [{result['policy']}] {result['questions']} questions, "
        f"budget {result['budget_words']} words: recall {cats}; "
        f"by conversation {', '.join(f'{k}={v}' for k, v in result['per_conversation'].items())}; "
        f"short answer in context {result['answer_in_context']['overall']} "
        f"({result['answer_questions']} questions); "
        f"{result['items_stored']} items from {result['raw_turns']} turns; "
        f"ingest {result['ingest_s']} s; search p95 {result['search_p95_ms']} ms"
        + (f"\n  beside it, {summarize(result['baseline'])}" if "baseline" in result else "")
    )
