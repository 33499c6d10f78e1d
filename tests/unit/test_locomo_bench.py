"""The LoCoMo evidence-recall harness and its ablations, on a small generated conversation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.locomo import BASELINES, answer_in_context, run_locomo, summarize
from benchmarks.locomo_ablation import Ablation, markdown, run_ablations
from memory import RetrievalWeights, pack_within_budget
from memory.errors import InvalidInputError

TURNS = [
    ("Ana", "Hi Ben! Long time no see."),
    ("Ben", "Hey Ana! Good to see you! How have you been?"),
    ("Ana", "I adopted a puppy named Pixel last week. What have you been up to?"),
    ("Ben", "I started a pottery class on Tuesday. I made a blue bowl."),
    ("Ana", "That bowl is gorgeous! Where do you take the class?"),
    ("Ben", "At the community center downtown."),
    ("Ana", "Thanks, bye!"),
]
QUESTIONS = [
    ("What is the name of Ana's puppy?", ["D1:3"], 4, "a puppy called Pixel"),  # "named"
    ("Where does Ben take his pottery class?", ["D1:5", "D1:6"], 1, "the community center"),
    ("When did Ben start a pottery class?", ["D1:4"], 2, "2 May 2023"),
    ("What is Ana's cat called?", [], 5, "x"),
]


def _conversation(tmp_path: Path) -> Path:
    data: dict[str, Any] = {
        "speaker_a": "Ana",
        "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": speaker, "dia_id": f"D1:{i}", "text": text}
            for i, (speaker, text) in enumerate(TURNS, start=1)
        ],
        "qa": [
            {"question": q, "answer": answer, "evidence": ev, "category": cat}
            for q, ev, cat, answer in QUESTIONS
        ],
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_ours_stores_fewer_items_than_turns_and_keeps_the_json_keys(tmp_path: Path) -> None:
    result = run_locomo([_conversation(tmp_path)], embedder="hash")
    assert set(result) == {
        "questions",
        "recall",
        "items_stored",
        "raw_turns",
        "ingest_s",
        "policy",
        "budget_words",
        "per_conversation",
        "search_p95_ms",
        "answer_in_context",
        "answer_questions",
    }
    assert result["questions"] == 3  # category 5 and evidence-free questions are left out
    assert result["items_stored"] < result["raw_turns"] == len(TURNS)
    assert result["recall"]["overall"] == 100.0  # everything fits in 300 words
    # Every evidence turn is found; "on Tuesday" is stored with its date (2 May 2023), but
    # the puppy was "named" Pixel, not "called": 2 answers of 3.
    assert result["answer_questions"] == 3
    assert result["answer_in_context"] == {"overall": 66.67, "1": 100.0, "2": 100.0, "4": 0.0}


def test_answer_in_context_matches_whole_words_and_skips_long_answers() -> None:
    texts = ["Ben: Ben took up pottery, at the Community-Center!", "Ana: Party at eight."]
    assert answer_in_context("the community center", texts) is True
    assert answer_in_context("Pottery", texts) is True
    assert answer_in_context("art", texts) is False  # inside "party", not a word of its own
    assert answer_in_context("center party", texts) is False  # across two memories
    assert answer_in_context("a b c d e f", texts) is None  # longer than ANSWER_WORDS words
    assert answer_in_context(None, texts) is None
    assert answer_in_context(" ,. ", texts) is None


@pytest.mark.parametrize("baseline", sorted(BASELINES))
def test_baselines_store_every_raw_turn(tmp_path: Path, baseline: str) -> None:
    result = run_locomo([_conversation(tmp_path)], embedder="hash", baseline=baseline)
    assert result["items_stored"] == result["raw_turns"] == len(TURNS)
    assert result["policy"] == baseline


def test_baselines_use_nothing_of_the_memory() -> None:
    plain = RetrievalWeights()
    for weights in BASELINES.values():
        assert weights.graph == 0.0
        assert weights.other_speaker_factor == weights.date_factor == 1.0
        assert weights.rrf_k == plain.rrf_k  # the same fusion as ours


def test_a_baseline_is_run_beside_ours_when_asked(tmp_path: Path) -> None:
    path = _conversation(tmp_path)
    ours = run_locomo([path], embedder="hash", compare="hybrid-turns")
    alone = run_locomo([path], embedder="hash", baseline="hybrid-turns")
    beside = ours.pop("baseline")
    assert beside["policy"] == "hybrid-turns" and beside["recall"] == alone["recall"]
    assert beside["items_stored"] == alone["items_stored"] == len(TURNS)
    assert ours == run_locomo([path], embedder="hash") | {
        "ingest_s": ours["ingest_s"],
        "search_p95_ms": ours["search_p95_ms"],
    }
    assert "beside it, locomo [hybrid-turns]" in summarize(ours | {"baseline": beside})
    # a baseline run alone has nothing beside it
    assert "baseline" not in run_locomo(
        [path], embedder="hash", baseline="bm25-turns", compare="hybrid-turns"
    )
    with pytest.raises(InvalidInputError, match="unknown compare 'oracle'"):
        run_locomo([path], embedder="hash", compare="oracle")


def test_the_cli_prints_the_hybrid_baseline_beside_ours_unless_told_not_to(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli import app

    args = ["bench", "locomo", "--data", str(_conversation(tmp_path)), "--embedder", "hash"]
    shown = CliRunner().invoke(app, [*args, "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout.splitlines()[0])["baseline"]["policy"] == "hybrid-turns"
    plain = CliRunner().invoke(app, [*args, "--json", "--compare", "none"])
    assert plain.exit_code == 0, plain.output
    assert "baseline" not in json.loads(plain.stdout.splitlines()[0])


def test_a_small_budget_packs_fewer_memories(tmp_path: Path) -> None:
    small = run_locomo([_conversation(tmp_path)], embedder="hash", budget_words=12)
    assert small["recall"]["overall"] < 100.0
    with pytest.raises(InvalidInputError, match="budget"):
        run_locomo([_conversation(tmp_path)], embedder="hash", budget_words=0)
    with pytest.raises(InvalidInputError, match="unknown baseline"):
        run_locomo([_conversation(tmp_path)], embedder="hash", baseline="oracle")


def test_pack_within_budget_skips_what_does_not_fit() -> None:
    class _Hit:
        def __init__(self, words: int) -> None:
            self.record = type("R", (), {"text": " ".join(["w"] * words)})()

    hits = [_Hit(8), _Hit(5), _Hit(2), _Hit(1)]
    packed = pack_within_budget(hits, 10)  # type: ignore[arg-type]
    assert [len(h.record.text.split()) for h in packed] == [8, 2]


def test_ablations_report_a_delta_per_variant(tmp_path: Path) -> None:
    rows = run_ablations(
        [str(_conversation(tmp_path))],
        embedder="hash",
        ablations=[Ablation("full system"), Ablation("sentences", extractor={"unit": "sentence"})],
    )
    assert [row["name"] for row in rows] == ["full system", "sentences"]
    table = markdown(rows)
    assert table.splitlines()[0].startswith("| variant | overall | delta |")
    assert "| full system | 100.00 | +0.00 |" in table
