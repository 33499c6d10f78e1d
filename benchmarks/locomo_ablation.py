"""Ablations of the LoCoMo evidence-recall benchmark: each component of our system off, one
at a time, on the same data, budget and embedder.

Run ``python -m benchmarks.locomo_ablation --data ../shared/data/locomo/conv-26.json``; it
prints a Markdown table (overall recall, each category, items stored) and, with ``--json``,
the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.locomo import bench_embedder, run_locomo
from memory import RetrievalWeights, RuleExtractor

__all__ = ["ABLATIONS", "Ablation", "run_ablations"]


@dataclass(frozen=True, slots=True)
class Ablation:
    """One variant: extractor fields, retrieval weights and policy that differ from ours."""

    name: str
    extractor: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, Any] = field(default_factory=dict)
    policy: str = "heuristic"


ABLATIONS: tuple[Ablation, ...] = (
    Ablation("full system"),
    Ablation("sentence units instead of turns", extractor={"unit": "sentence"}),
    Ablation("no question carried to its reply", extractor={"carry_questions": False}),
    Ablation("reactions dropped", extractor={"drop_reactions": True}),
    Ablation("no conversation window in keyword search", extractor={"window": 0}),
    Ablation("no name rewriting (quotes)", extractor={"attribute_speakers": False}),
    Ablation("no speaker analysis of the query", weights={"other_speaker_factor": 1.0}),
    Ablation("no date prior", weights={"date_factor": 1.0}),
    Ablation("no entity graph", weights={"graph": 0.0}),
    Ablation("RRF k=60", weights={"rrf_k": 60.0}),
    Ablation("add-all policy", policy="add-all"),
)


def run_ablations(
    paths: Sequence[str],
    *,
    budget_words: int = 300,
    embedder: str | None = None,
    ablations: Sequence[Ablation] = ABLATIONS,
) -> list[dict[str, Any]]:
    """Run every ablation; returns one result per ablation with its ``name``."""
    emb = bench_embedder(embedder)  # one model for all runs
    rows = []
    for ablation in ablations:
        result = run_locomo(
            paths,
            budget_words=budget_words,
            policy=ablation.policy,
            embedder=emb,
            extractor=RuleExtractor(**ablation.extractor),
            weights=RetrievalWeights(**ablation.weights),
        )
        rows.append({"name": ablation.name, **result})
    return rows


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a Markdown table, with each recall's change against the first row."""
    categories = [k for k in rows[0]["recall"] if k != "overall"]
    head = ["variant", "overall", "delta", *(f"cat {c}" for c in categories), "items"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = rows[0]["recall"]["overall"]
    for row in rows:
        recall = row["recall"]
        cells = [
            row["name"],
            f"{recall['overall']:.2f}",
            f"{recall['overall'] - base:+.2f}",
            *(f"{recall.get(c, 0.0):.2f}" for c in categories),
            f"{row['items_stored']}/{row['raw_turns']}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", required=True, help="LoCoMo JSON file(s)")
    parser.add_argument("--budget-words", type=int, default=300)
    parser.add_argument("--embedder", default=None, help="minilm (default) or hash")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rows = run_ablations(args.data, budget_words=args.budget_words, embedder=args.embedder)
    print(json.dumps(rows, indent=2) if args.json else markdown(rows), file=sys.stdout)


if __name__ == "__main__":
    main()
