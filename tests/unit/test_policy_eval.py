"""evaluate_policy and `colony policy eval` on a small generated LoCoMo-layout file."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchmarks.policy_eval import evaluate_policy, summarize
from memory import HashEmbedder, Question, RuleExtractor, write_locomo
from orchestrator._demo_memory import demo_conversation
from orchestrator.cli import app
from policies import AddAllPolicy
from tests.helpers.chat_server import ChatServer, completion
from tests.helpers.policies import RestatingPolicy

runner = CliRunner()
KEYS = {"policy", "recall", "items_stored", "decisions", "decision_p95_ms"}
QUESTIONS = (
    Question("Where does Ana live?", "Porto", ("D2:1",), "1"),
    Question("Where did Ana work before the studio?", "a bakery", ("D1:4", "D2:3"), "2"),
    Question("What is the name of Ben's dog?", "Pixel", ("D1:5",), "4"),
    Question("What did Ana start learning?", "the cello", ("D3:2",), "4"),
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    conv = dataclasses.replace(demo_conversation(), questions=QUESTIONS)
    return write_locomo(conv, tmp_path_factory.mktemp("locomo") / "demo.json")


def candidates(path: Path) -> int:
    conv = dataclasses.replace(demo_conversation(), questions=QUESTIONS)
    extractor = RuleExtractor()
    ns = ("locomo", conv.id)
    return sum(len(extractor.extract(s, conv.speakers, ns)) for s in conv.sessions)


@pytest.mark.parametrize("policy", ["add-all", "heuristic", AddAllPolicy()])
def test_evaluate_policy(data: Path, policy: Any) -> None:
    result = evaluate_policy([data], policy, budget_words=60, embedder=HashEmbedder())
    assert set(result) >= KEYS
    assert result["policy"] == (policy if isinstance(policy, str) else policy.name)
    assert set(result["decisions"]) == {"ADD", "UPDATE", "DELETE", "NOOP"}
    assert sum(result["decisions"].values()) == candidates(data)
    assert set(result["recall"]) == {"overall", "1", "2", "4"}
    assert all(0.0 <= value <= 100.0 for value in result["recall"].values())
    assert 0.0 < result["decision_p95_ms"] < 50.0
    assert result["questions"] == 4 and result["conversations"] == 1
    assert result["answer_questions"] == 4  # every answer here is short
    assert set(result["answer_in_context"]) == {"overall", "1", "2", "4"}
    assert all(0.0 <= value <= 100.0 for value in result["answer_in_context"].values())
    if policy == "add-all":
        assert result["items_stored"] == result["decisions"]["ADD"] == candidates(data)
    assert 0 <= result["restated"] <= result["decisions"]["UPDATE"]


def test_restating_updates_are_counted(data: Path) -> None:
    result = evaluate_policy([data], RestatingPolicy(), budget_words=60, embedder=HashEmbedder())
    assert result["decisions"]["UPDATE"] == candidates(data) - 1 == result["restated"]
    assert f"({result['restated']} UPDATEs restating)" in summarize(result)


def test_cli_policy_eval_json(data: Path, tmp_path: Path) -> None:
    other = dataclasses.replace(demo_conversation(), id="demo-2", questions=QUESTIONS)
    second = write_locomo(other, tmp_path / "demo-2.json")
    options = ["--policy", "heuristic", "--budget-words", "60", "--embedder", "hash", "--json"]
    result = runner.invoke(app, ["policy", "eval", "--data", str(data), str(second), *options])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.splitlines()[0])
    assert set(out) >= KEYS and out["policy"] == "heuristic"
    assert out["conversations"] == 2  # `--data A B` reads both
    assert sum(out["decisions"].values()) == 2 * candidates(data)
    assert "decision p95" in result.stderr


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for var in ("COLONY_OPENAI_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "COLONY_MODEL"):
        monkeypatch.delenv(var, raising=False)
    yield monkeypatch


@pytest.mark.parametrize("command", [["policy", "eval"], ["bench", "locomo"]])
def test_llm_without_configuration_is_a_clear_error(
    data: Path, clean_env: pytest.MonkeyPatch, command: list[str]
) -> None:
    result = runner.invoke(
        app, [*command, "--data", str(data), "--policy", "llm", "--embedder", "hash"]
    )
    assert result.exit_code != 0
    message = str(result.exception)
    assert "COLONY_OPENAI_BASE_URL" in message and "OPENAI_API_KEY" in message


def test_unknown_policy_is_a_clear_error(data: Path) -> None:
    result = runner.invoke(
        app, ["policy", "eval", "--data", str(data), "--policy", "nope", "--embedder", "hash"]
    )
    assert result.exit_code != 0
    assert "unknown memory policy 'nope'" in str(result.exception)


def test_cli_llm_policy_on_a_local_endpoint(data: Path, clean_env: pytest.MonkeyPatch) -> None:
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        return completion('{"operation": "ADD", "target": null, "confidence": 0.9}')

    with ChatServer(respond) as server:
        clean_env.setenv("COLONY_OPENAI_BASE_URL", server.url)
        clean_env.setenv("OPENAI_API_KEY", "")
        args = ["--data", str(data), "--policy", "llm", "--embedder", "hash", "--json"]
        evaluated = runner.invoke(app, ["policy", "eval", *args])
        bench = runner.invoke(app, ["bench", "locomo", *args])
    assert evaluated.exit_code == 0, evaluated.output
    out = json.loads(evaluated.stdout.splitlines()[0])
    assert out["policy"] == "llm" and out["decisions"]["ADD"] == candidates(data)
    assert bench.exit_code == 0, bench.output
    assert json.loads(bench.stdout.splitlines()[0])["policy"] == "llm"
    assert len(server.requests) == 2 * candidates(data)


def test_synthetic_labels_count_updates_by_distractors_and_changes(
    data: Path, tmp_path: Path
) -> None:
    from policies import write_synthetic
    from policies._synthetic import synthetic_samples

    path = write_synthetic(tmp_path / "synthetic.json", 2, 4242, phrasing="heldout", mentions=0.75)
    statements = [
        st
        for sample in synthetic_samples(2, 4242, phrasing="heldout", mentions=0.75)
        for st in sample.statements
    ]
    result = evaluate_policy([path], "heuristic", budget_words=30, embedder=HashEmbedder())
    distractors = sum(st.kind in ("hypothetical", "denial", "other") for st in statements)
    changes = sum(st.kind == "change" for st in statements)
    assert result["distractors"]["statements"] == distractors > 0
    assert result["changes"]["statements"] == changes > 0
    mentions = sum(st.kind == "mention" for st in statements)
    assert result["mentions"]["statements"] == mentions > 0
    assert 0 <= result["mentions"]["updated_or_deleted"] <= mentions
    assert 0 <= result["distractors"]["updated_or_deleted"] <= distractors
    by_kind = result["distractors"]["by_kind"]
    assert set(by_kind) == {"hypothetical", "denial", "other"}
    for kind, counts in by_kind.items():
        assert counts["statements"] == sum(st.kind == kind for st in statements) > 0, kind
    assert (
        sum(c["updated_or_deleted"] for c in by_kind.values())
        == (result["distractors"]["updated_or_deleted"])
    )
    assert result["changes"]["updated"] <= result["decisions"]["UPDATE"]
    line = summarize(result)
    hypothetical = by_kind["hypothetical"]
    expected = f"hypothetical={hypothetical['updated_or_deleted']}/{hypothetical['statements']}"
    assert "changed memory: distractors" in line and expected in line
    # Files without labels (LoCoMo) report no such counts.
    plain = evaluate_policy([data], "heuristic", budget_words=30, embedder=HashEmbedder())
    assert "distractors" not in plain and "changes" not in plain
    assert "changed memory" not in summarize(plain)


def test_cli_writes_a_synthetic_held_out_file_that_eval_reads(tmp_path: Path) -> None:
    from policies._synthetic import HELDOUT_SEEDS, synthetic_samples

    out = tmp_path / "heldout2.json"
    args = ["--out", str(out), "--conversations", "2", "--seed", "4242", "--phrasing", "heldout2"]
    written = runner.invoke(app, ["policy", "synthetic", *args])
    assert written.exit_code == 0, written.output
    samples = synthetic_samples(2, 4242, phrasing="heldout2")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [item["sample_id"] for item in data] == [s.conversation.id for s in samples]
    assert [len(item["statements"]) for item in data] == [len(s.statements) for s in samples]
    evaluated = runner.invoke(
        app, ["policy", "eval", "--data", str(out), "--embedder", "hash", "--json"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(evaluated.stdout.splitlines()[0])
    assert result["conversations"] == 2
    assert result["questions"] == sum(len(s.conversation.questions) for s in samples)

    bad = runner.invoke(app, ["policy", "synthetic", "--out", str(out), "--phrasing", "fresh"])
    assert bad.exit_code != 0
    assert "got 'fresh'" in str(bad.exception) and "heldout2" in str(bad.exception)
    assert json.loads(out.read_text(encoding="utf-8")) == data  # the file is untouched

    # By default: the held-out family whose misses nobody has read, from its reserved seed.
    default = runner.invoke(app, ["policy", "synthetic", "--out", str(out), "--conversations", "1"])
    assert default.exit_code == 0, default.output
    seed = HELDOUT_SEEDS["heldout3"]
    expected = synthetic_samples(1, seed, phrasing="heldout3")[0].conversation
    (item,) = json.loads(out.read_text(encoding="utf-8"))
    assert item["sample_id"] == expected.id == f"synth-{seed}-0"
    assert item["conversation"]["session_1"][0]["text"] == expected.sessions[0].turns[0].text

    # With mentions: values brought up again, and the questions about them.
    args = ["policy", "synthetic", "--out", str(out), "--conversations", "2", "--seed", "4242"]
    mentioned = runner.invoke(app, [*args, "--mentions", "0.75"])
    assert mentioned.exit_code == 0, mentioned.output
    data = json.loads(out.read_text(encoding="utf-8"))
    labelled = [st["kind"] for item in data for st in item["statements"]]
    asked = [q["category"] for item in data for q in item["qa"]]
    assert labelled.count("mention") == asked.count("mention") > 0
    bad = runner.invoke(app, [*args, "--mentions", "1.5"])
    assert bad.exit_code != 0 and "got 1.5" in str(bad.exception)
    assert json.loads(out.read_text(encoding="utf-8")) == data  # the file is untouched


def test_cli_trains_a_slot_tagger_and_records_its_statement_phrasing(tmp_path: Path) -> None:
    from memory import SlotModel

    out = tmp_path / "slots.npz"
    args = ["policy", "slots", "--out", str(out), "--conversations", "3", "--embedder", "hash"]
    trained = runner.invoke(app, args)
    assert trained.exit_code == 0, trained.output
    model = SlotModel.load(out)
    assert model.embedder == HashEmbedder().name
    assert model.meta is not None and model.meta["statement_phrasing"] == "train-wide"
    assert model.meta["conversations"] == 3
    narrow = runner.invoke(app, [*args, "--statement-phrasing", "train"])
    assert narrow.exit_code == 0, narrow.output
    assert SlotModel.load(out).meta["statement_phrasing"] == "train"  # type: ignore[index]
    assert SlotModel.load(out).statement_threshold == 0.3
    stricter = runner.invoke(app, [*args, "--statement-threshold", "0.45"])
    assert stricter.exit_code == 0, stricter.output
    assert SlotModel.load(out).statement_threshold == 0.45

    written = out.read_bytes()
    bad = runner.invoke(app, [*args, "--statement-phrasing", "heldout2"])
    assert bad.exit_code != 0
    assert "got 'heldout2'" in str(bad.exception) and "train-wide" in str(bad.exception)
    assert out.read_bytes() == written  # the file is untouched
    bad = runner.invoke(app, [*args, "--statement-threshold", "1.5"])
    assert bad.exit_code != 0
    assert "statement_threshold must be in (0, 1], got 1.5" in str(bad.exception)
    assert out.read_bytes() == written
