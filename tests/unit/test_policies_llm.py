"""The LLM-prompted policy: prompt, robust parsing, fallbacks, and use through the service."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agents.errors import ModelConfigError, ModelError
from memory import (
    SYSTEM,
    Candidate,
    DuckDBStore,
    HashEmbedder,
    MemoryService,
    Operation,
    ScoredMemory,
)
from memory.errors import InvalidInputError
from orchestrator._policy_cli import cli_policies, complete_from_env
from policies import (
    DEFAULT_POLICY_PROMPT,
    LLMPolicy,
    available_policies,
    make_policy,
    register_policy,
    scoped_policies,
)
from policies import _registry as registry
from tests.helpers.chat_server import ChatServer, completion
from tests.unit.test_baseline_policies import hit as baseline_hit

NS = ("team", "t")
WHEN = datetime(2025, 3, 2, tzinfo=UTC)


def hit(text: str, memory_id: str) -> ScoredMemory:
    near = baseline_hit(text, 0.8, memory_id)
    stated = replace(near.record, valid_from=datetime(2025, 2, 28, tzinfo=UTC))
    return replace(near, record=stated)


def cand(text: str = "Ana moved to Porto") -> Candidate:
    return Candidate(text=text, namespace=NS, speaker="Ana", time=WHEN)


NEAR = [hit("Ana lives in Lisbon", "m1"), hit("Ana works at a bakery", "m2")]


def scripted(*replies: str) -> tuple[Callable[[str], str], list[str]]:
    prompts: list[str] = []
    answers = iter(replies)

    def complete(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    return complete, prompts


def test_prompt_shows_candidate_and_numbered_neighbours() -> None:
    complete, prompts = scripted('{"operation": "ADD", "target": null}')
    LLMPolicy(complete, neighbours_shown=1).decide(cand(), NEAR)
    (prompt,) = prompts
    assert "Ana moved to Porto" in prompt and "said by Ana, 2025-03-02" in prompt
    assert "1. [id m1, 2 days old, said by Ana] Ana lives in Lisbon" in prompt
    assert "bakery" not in prompt  # only neighbours_shown neighbours
    assert '"operation": "ADD|UPDATE|DELETE|NOOP"' in prompt


@pytest.mark.parametrize(
    ("reply", "operation", "target", "text"),
    [
        (
            '{"operation": "UPDATE", "target": 1, "text": "Ana lives in Porto", "confidence": 0.9}',
            Operation.UPDATE,
            "m1",
            "Ana lives in Porto",
        ),
        (
            'Sure:\n```json\n{"operation": "delete", "target": "2", "confidence": 0.7}\n```',
            Operation.DELETE,
            "m2",
            None,
        ),
        ('{"operation": "NOOP", "target": null}', Operation.NOOP, None, None),
        ('{"operation": "ADD", "text": ""}', Operation.ADD, None, "Ana moved to Porto"),
        ('{"operation": "UPDATE", "target": "m2"}', Operation.UPDATE, "m2", "Ana moved to Porto"),
    ],
)
def test_answers_are_read(
    reply: str, operation: Operation, target: str | None, text: str | None
) -> None:
    complete, _ = scripted(reply)
    decision = LLMPolicy(complete).decide(cand(), NEAR)
    assert (decision.operation, decision.target, decision.text) == (operation, target, text)
    assert decision.reason is not None and decision.reason.startswith("llm")
    assert 0.0 <= decision.confidence <= 1.0


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("I think we should add it.", "no JSON object"),
        ('{"operation": "MERGE"}', "unknown operation 'MERGE'"),
        ('{"operation": "UPDATE", "target": 3}', "target 3, which is not one of the 2"),
        ('{"operation": "DELETE"}', "target None"),
        ('{"operation": "UPDATE", "target": 0}', "target 0"),
        ('{"operation": "DELETE", "target": true}', "target True"),
    ],
)
def test_unusable_answers_fall_back_to_add_with_a_reason(reply: str, why: str) -> None:
    complete, _ = scripted(reply)
    decision = LLMPolicy(complete).decide(cand(), NEAR)
    assert decision.operation is Operation.ADD and decision.text == "Ana moved to Porto"
    assert decision.confidence <= 0.1
    assert decision.reason is not None and "unusable" in decision.reason and why in decision.reason


def test_a_failed_model_call_is_an_add_that_says_so() -> None:
    def down(prompt: str) -> str:
        raise ModelError("endpoint unreachable")

    decision = LLMPolicy(down).decide(cand(), NEAR)
    assert decision.operation is Operation.ADD
    assert decision.reason is not None and "ModelError" in decision.reason


def test_bad_settings_are_clear() -> None:
    with pytest.raises(InvalidInputError, match="placeholder"):
        LLMPolicy(str, prompt="decide: {candidate}")
    with pytest.raises(InvalidInputError, match="neighbours_shown"):
        LLMPolicy(str, neighbours_shown=0)
    with pytest.raises(InvalidInputError, match="complete=fn"):
        make_policy("llm")
    custom = DEFAULT_POLICY_PROMPT.replace("You manage", "You curate")
    policy = make_policy("llm", complete=str, prompt=custom, name="llm-curator")
    assert isinstance(policy, LLMPolicy) and policy.name == "llm-curator"


def service() -> MemoryService:
    return MemoryService(DuckDBStore.from_path(":memory:"), embedder=HashEmbedder())


def update_first_neighbour(prompt: str) -> str:
    if "\n1. [id " in prompt:
        return '```json\n{"operation": "UPDATE", "target": 1, "confidence": 0.8}\n```'
    return '{"operation": "ADD", "target": null, "confidence": 0.9}'


def test_the_model_is_held_to_what_a_candidate_may_change() -> None:
    complete, _ = scripted(*['{"operation": "UPDATE", "target": 1, "confidence": 0.9}'] * 4)
    policy = LLMPolicy(complete)
    ben = [baseline_hit("Ben lives in Lisbon", 0.8, "m1", speaker="Ben")]
    denied = [baseline_hit("Ana never moved to Oslo, honestly.", 0.8, "m1")]
    denied[0].record.metadata["distractor"] = True  # as the service's slot model marks it
    refused = [
        policy.decide(cand("Maybe one day Ana will move to Porto"), NEAR),  # hypothetical
        policy.decide(cand(), ben),  # another speaker's memory
        policy.decide(cand(), denied),  # a memory marked hypothetical or denied
    ]
    for decision in refused:
        assert (decision.operation, decision.target) == (Operation.ADD, None), decision
        assert decision.reason is not None and "refused" in decision.reason
        assert "may not change" in decision.reason
    allowed = policy.decide(cand(), NEAR)
    assert (allowed.operation, allowed.target) == (Operation.UPDATE, "m1")
    # Past the learned policy's five neighbours the same rules hold.
    many = [hit(f"Ana fact {i}", f"a{i}") for i in range(6)]
    many.append(baseline_hit("Ben lives in Lisbon", 0.8, "b7", speaker="Ben"))
    answers = ('{"operation": "DELETE", "target": 6}', '{"operation": "DELETE", "target": 7}')
    complete, _ = scripted(*answers)
    wide = LLMPolicy(complete, neighbours_shown=7)
    assert wide.decide(cand(), many).operation is Operation.DELETE
    assert wide.decide(cand(), many).operation is Operation.ADD


def test_through_the_service() -> None:
    with service() as svc:
        policy = LLMPolicy(update_first_neighbour)
        first = svc.remember([cand("Ana lives in Lisbon")], principal=SYSTEM, policy=policy)
        second = svc.remember([cand("Ana moved to Porto")], principal=SYSTEM, policy=policy)
        garbage = LLMPolicy(lambda prompt: "no idea")
        third = svc.remember([cand("Ana plays the cello")], principal=SYSTEM, policy=garbage)
        assert [a.decision.operation for a in (*first, *second, *third)] == [
            Operation.ADD,
            Operation.UPDATE,
            Operation.ADD,
        ]
        updated = second[0].record
        assert updated is not None and updated.version == 2 and updated.text == "Ana moved to Porto"
        history = svc.history(updated.id, principal=SYSTEM)
        assert [h.policy for h in history] == ["llm", "llm"]
        added = third[0].record
        assert added is not None and added.text == "Ana plays the cello"
        (entry,) = svc.history(added.id, principal=SYSTEM)
        assert entry.reason is not None and "unusable" in entry.reason


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        return completion(update_first_neighbour(body["messages"][-1]["content"]))

    with ChatServer(respond) as server:
        yield server


def test_through_a_real_chat_completions_endpoint(chat_server: ChatServer) -> None:
    env = {
        "COLONY_OPENAI_BASE_URL": chat_server.url,
        "OPENAI_API_KEY": "sk-test",
        "COLONY_MODEL": "policy-model",
    }
    with scoped_policies(cli_policies("llm", env)), service() as svc:
        policy = make_policy("llm")
        svc.remember([cand("Ana lives in Lisbon")], principal=SYSTEM, policy=policy)
        (applied,) = svc.remember([cand("Ana moved to Porto")], principal=SYSTEM, policy=policy)
    assert applied.decision.operation is Operation.UPDATE
    assert [r.body["model"] for r in chat_server.requests] == ["policy-model"] * 2
    assert chat_server.requests[0].authorization == "Bearer sk-test"
    assert "Ana moved to Porto" in chat_server.requests[1].body["messages"][0]["content"]


def test_llm_without_configuration_names_the_settings() -> None:
    with pytest.raises(ModelConfigError) as caught:
        complete_from_env({})
    for name in ("COLONY_OPENAI_BASE_URL", "OPENAI_API_KEY", "COLONY_MODEL"):
        assert name in str(caught.value)
    assert complete_from_env({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": ""})
    assert cli_policies("heuristic", {}) == {}


def test_checkpoints_resolve_through_the_learned_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "policy.ckpt"
    checkpoint.write_text(json.dumps({}))
    seen: list[Path | None] = []

    def learned(checkpoint: Path | None = None) -> LLMPolicy:
        seen.append(checkpoint)
        return LLMPolicy(str, name="learned")

    with scoped_policies({"learned": learned}):
        assert make_policy(str(checkpoint)).name == "learned"
        assert make_policy("learned").name == "learned"
    assert seen == [checkpoint, None]
    with pytest.raises(InvalidInputError, match="no checkpoint file at"):
        make_policy(str(tmp_path / "missing.ckpt"))
    # Without a learned policy installed, the error names what is missing.
    monkeypatch.setattr(registry, "_REGISTERED", {})
    monkeypatch.setitem(registry._LAZY_MODULES, "learned", "policies._no_such_module")
    with pytest.raises(InvalidInputError, match=r"policies\._no_such_module is missing"):
        make_policy(str(checkpoint))
    with pytest.raises(InvalidInputError, match="register_policy"):
        make_policy("learned")


def test_register_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTERED", {})
    register_policy("echo", lambda: LLMPolicy(str, name="echo"))
    assert make_policy("echo").name == "echo" and "echo" in available_policies()
    with pytest.raises(InvalidInputError, match="already registered"):
        register_policy("echo", LLMPolicy)
    with pytest.raises(InvalidInputError, match="built-in"):
        register_policy("heuristic", LLMPolicy)
    with pytest.raises(InvalidInputError, match="non-empty"):
        register_policy(" ", LLMPolicy)
