"""MiniLMEmbedder speed: load time, single-sentence latency, batch throughput.

Run: ``python -m benchmarks.embedding``; prints one JSON object. Every text is distinct,
so the embedder's LRU cache never answers (a repeated text costs microseconds).
``--conversation PATH`` (a LoCoMo-layout file) also embeds its turns session by session, as
an ingest embeds them (a few texts of mixed lengths a call), and in one call.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from memory import load_locomo
from memory._embedding import MiniLMEmbedder

__all__ = ["main", "run", "sentences"]

_SUBJECTS = ["Caroline", "Melanie", "The team", "My neighbour", "Our manager", "A friend"]
_VERBS = ["went camping in", "painted a picture of", "moved to", "talked about", "visited"]
_OBJECTS = ["the mountains", "a lake at sunrise", "Sweden", "the support group", "the museum"]


def sentences(n: int) -> list[str]:
    """``n`` distinct, realistic short sentences."""
    out = []
    for i in range(n):
        s, v, o = (
            _SUBJECTS[i % 6],
            _VERBS[(i // 6) % 5],
            _OBJECTS[(i // 30) % 5],
        )
        out.append(f"{s} {v} {o} on day {i} and said it was worth it.")
    return out


def run(
    single: int = 200,
    batch: int = 2000,
    batch_size: int = 64,
    num_threads: int | None = None,
    conversation: str | None = None,
) -> dict[str, Any]:
    """Measure load, ``single`` one-sentence calls and one call of ``batch`` sentences; and,
    given a ``conversation`` file, its turns embedded session by session and in one call."""
    embedder = MiniLMEmbedder(batch_size=batch_size, num_threads=num_threads, cache_size=0)
    start = time.perf_counter()
    embedder.load()
    load_s = time.perf_counter() - start

    texts = sentences(single + batch + 20)
    for text in texts[:20]:  # warm-up
        embedder.embed([text])
    latencies = []
    for text in texts[20 : 20 + single]:
        start = time.perf_counter()
        embedder.embed([text])
        latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    embedder.embed(texts[20 + single :])
    batch_s = time.perf_counter() - start

    ms = np.asarray(latencies) * 1000
    figures = _conversation(embedder, conversation) if conversation is not None else {}
    return {
        "model": embedder.name,
        "threads": num_threads,
        "load_s": round(load_s, 2),
        "single_p50_ms": round(float(np.percentile(ms, 50)), 2),
        "single_p95_ms": round(float(np.percentile(ms, 95)), 2),
        "batch": batch,
        "batch_size": batch_size,
        "batch_sentences_per_s": round(batch / batch_s),
        **figures,
    }


def _conversation(embedder: MiniLMEmbedder, path: str) -> dict[str, Any]:
    """The turns of the first conversation in ``path``, embedded session by session, then
    all in one call."""
    sessions = [
        [turn.text for turn in session.turns] for session in load_locomo([path])[0].sessions
    ]
    start = time.perf_counter()
    for texts in sessions:
        embedder.embed(texts)
    by_session_s = time.perf_counter() - start
    start = time.perf_counter()
    embedder.embed([text for texts in sessions for text in texts])
    at_once_s = time.perf_counter() - start
    return {
        "conversation_turns": sum(map(len, sessions)),
        "conversation_sessions": len(sessions),
        "conversation_by_session_s": round(by_session_s, 2),
        "conversation_at_once_s": round(at_once_s, 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=200)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--conversation", default=None, help="a LoCoMo-layout file")
    args = parser.parse_args(argv)
    figures = run(args.single, args.batch, args.batch_size, args.threads, args.conversation)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
