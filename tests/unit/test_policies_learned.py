"""The learned policy: numpy inference from a checkpoint, errors, and the shipped checkpoint."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from memory import (
    SYSTEM,
    Candidate,
    HashEmbedder,
    MemoryService,
    Operation,
    Principal,
    ScoredMemory,
)
from memory.errors import InvalidInputError
from policies import SHIPPED_CHECKPOINT, LearnedPolicy, make_policy
from policies._features import CANDIDATE_FEATURES, NEIGHBOUR_FEATURES, K
from policies._network import Network
from policies._training import validation_figures
from tests.unit.test_baseline_policies import cand, hit

DIMS = (len(CANDIDATE_FEATURES), len(NEIGHBOUR_FEATURES), K)


def test_a_checkpoint_round_trips_and_decides_through_the_service(tmp_path: Path) -> None:
    path = Network.init(*DIMS, hidden=16, seed=0).save(tmp_path / "p.npz", seed=0)
    policy = make_policy(str(path))
    assert isinstance(policy, LearnedPolicy) and policy.name == "learned"
    ns = ("team", "t")
    with MemoryService.open(embedder=HashEmbedder()) as service:
        applied = service.remember(
            [
                Candidate("Ana lives in Lisbon", ns, speaker="Ana"),
                Candidate("Ana lives in Porto now", ns, speaker="Ana"),
            ],
            principal=Principal.admin(),
            policy=policy,
        )
    assert [a.decision.operation in set(Operation) for a in applied] == [True, True]
    assert all(0.0 < a.decision.confidence <= 1.0 for a in applied)


def test_bad_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no learned-policy checkpoint"):
        LearnedPolicy.from_checkpoint(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInputError, match="not a learned-policy checkpoint"):
        LearnedPolicy.from_checkpoint(junk)
    other = Network.init(3, 2, 2, hidden=4, seed=0).save(tmp_path / "other.npz")
    with pytest.raises(InvalidInputError, match="retrain"):
        LearnedPolicy.from_checkpoint(other)


def test_numpy_and_torch_networks_agree() -> None:
    torch = pytest.importorskip("torch")
    from policies._network import split_observation
    from policies._torch_network import TorchNetwork

    net = Network.init(*DIMS, hidden=8, seed=1)
    obs = np.random.default_rng(0).random((4, DIMS[0] + DIMS[1] * K + K), dtype=np.float32)
    obs[:, -K:] = np.array([1.0, 0.5, 1.0, 0.0, 0.0], np.float32)  # target, context, padding
    with torch.no_grad():
        logits, values = TorchNetwork(net)(torch.tensor(obs))
    for row in range(4):
        expected, value = net.forward(*split_observation(obs[row], *DIMS))
        np.testing.assert_allclose(logits[row].detach().numpy(), expected, rtol=1e-4, atol=1e-4)
        assert float(values[row]) == pytest.approx(value, rel=1e-4, abs=1e-4)
    no_neighbours = obs[0].copy()
    no_neighbours[-K:] = 0.0
    with torch.no_grad():
        logits, values = TorchNetwork(net)(torch.tensor(no_neighbours[None]))
    expected, value = net.forward(*split_observation(no_neighbours, *DIMS))
    np.testing.assert_allclose(logits[0].detach().numpy(), expected, rtol=1e-4, atol=1e-4)
    assert float(values[0]) == pytest.approx(value, rel=1e-4, abs=1e-4)


def test_the_shipped_checkpoint_reproduces_its_recorded_validation_figures() -> None:
    assert SHIPPED_CHECKPOINT.is_file()
    policy = make_policy("learned")
    assert isinstance(policy, LearnedPolicy)
    recorded = policy.meta["validation"]
    assert validation_figures(policy.network) == recorded


def test_the_network_cannot_change_what_the_candidate_may_not() -> None:
    net = Network.init(*DIMS, hidden=8, seed=0)
    eager = dict(net.weights, bp=np.array([50.0, 0.0], np.float32))  # UPDATE whatever it sees
    policy = LearnedPolicy(Network(net.cand_dim, net.neigh_dim, net.k, eager))
    ns = ("team", "t")

    def neighbour(speaker: str) -> ScoredMemory:
        return hit(f"{speaker} lives in Lisbon.", 0.9, "m1", speaker)

    moved = Candidate("Ana moved to Porto", ns, speaker="Ana", entities=("Ana",))
    assert policy.decide(moved, [neighbour("Ana")]).operation is Operation.UPDATE
    assert policy.decide(moved, [neighbour("Ben")]).operation is not Operation.UPDATE
    maybe = Candidate("Maybe one day Ana will move to Porto", ns, speaker="Ana")
    assert policy.decide(maybe, [neighbour("Ana")]).operation is not Operation.UPDATE
    # "would" contracted, as said (the extractor keeps the original wording).
    said = {"original": "Honestly I’d move to Porto tomorrow."}
    dreamy = Candidate("Ana would move to Porto tomorrow", ns, speaker="Ana", metadata=said)
    assert policy.decide(dreamy, [neighbour("Ana")]).operation is not Operation.UPDATE


def test_a_fact_never_becomes_the_new_version_of_a_distractor() -> None:
    net = Network.init(*DIMS, hidden=8, seed=0)
    eager = dict(net.weights, bp=np.array([50.0, 0.0], np.float32))  # UPDATE whatever it can
    policy = LearnedPolicy(Network(net.cand_dim, net.neigh_dim, net.k, eager))
    denied = hit("It wasn't Ana who moved to Oslo; it was Ana's aunt.", 0.8, "m1")
    lived = hit("Ana's flat in Lisbon has a tiny balcony.", 0.6, "m2")
    moved = cand("Ana moved to Porto.")
    # Unmarked, the denial is the likelier target; marked (by the service's slot model), the
    # network cannot point at it, or "where did Ana live before?" would answer Oslo.
    assert policy.decide(moved, [denied, lived]).target == "m1"
    denied.record.metadata["distractor"] = True
    decision = policy.decide(moved, [denied, lived])
    assert (decision.operation, decision.target) == (Operation.UPDATE, "m2")
    assert policy.decide(moved, [denied]).operation is not Operation.UPDATE


def test_training_refuses_the_seeds_of_the_held_out_sets() -> None:
    from policies._synthetic import FRESH_SEEDS, HELDOUT_SEEDS, RESERVED_SEEDS
    from policies._training import training_conversations

    # A seed draws the same people and facts in every phrasing: training on it would leak.
    assert {*HELDOUT_SEEDS.values(), *FRESH_SEEDS} == set(range(90_001, 90_011))
    assert {*HELDOUT_SEEDS.values(), *FRESH_SEEDS} < RESERVED_SEEDS
    for reserved in RESERVED_SEEDS:
        with pytest.raises(InvalidInputError, match=f"seed {reserved} is reserved"):
            training_conversations([], 2, reserved)
    conversations, labels = training_conversations([], 2, 7)
    assert len(conversations) == len(labels) == 2


def test_an_add_of_a_repeat_updates_what_it_repeats_and_nothing_else_does() -> None:
    net = Network.init(*DIMS, hidden=8, seed=0)
    hoarder = dict(net.weights, bg=np.array([50.0, 0.0], np.float32))  # ADD whatever it sees
    policy = LearnedPolicy(Network(net.cand_dim, net.neigh_dim, net.k, hoarder))
    said = hit("Ana watched the football final with some friends.", 0.99, "m1", "Ana")
    again = cand("Ana watched the football final with some friends.")
    decision = policy.decide(again, [hit("Ana likes tea.", 0.4, "m0"), said])
    assert (decision.operation, decision.target, decision.reason) == (
        Operation.UPDATE,
        "m1",
        "repeat",
    )
    assert decision.confidence == pytest.approx(0.99)
    assert policy.decide(again, [hit(said.record.text, 0.911)]).operation is Operation.UPDATE
    # Below the threshold, by someone else, or the same event told again with another date:
    # stored.
    assert policy.decide(again, [hit(said.record.text, 0.905)]).operation is Operation.ADD
    assert policy.decide(cand(said.record.text, "Ben"), [said]).operation is Operation.ADD
    dated = Candidate(
        "Ana's phone screen cracked again this morning (on 29 March 2021).",
        ("team", "t"),
        speaker="Ana",
        metadata={"date_expression": "this morning"},
    )
    before = hit("Ana's phone screen cracked again this morning (on 20 February 2021).", 0.99)
    assert policy.decide(dated, [before]).operation is Operation.ADD
    # The network's NOOP of a repeat stands.
    quiet = dict(net.weights, bg=np.array([0.0, 50.0], np.float32))
    skipper = LearnedPolicy(Network(net.cand_dim, net.neigh_dim, net.k, quiet))
    assert skipper.decide(again, [said]).operation is Operation.NOOP


def test_a_repeat_keeps_its_memory_and_both_turns(tmp_path: Path) -> None:
    net = Network.init(*DIMS, hidden=8, seed=0)
    hoarder = dict(net.weights, bg=np.array([50.0, 0.0], np.float32))
    policy = LearnedPolicy(Network(net.cand_dim, net.neigh_dim, net.k, hoarder))
    with MemoryService.open(
        tmp_path / "m.duckdb", embedder=HashEmbedder(), policy=policy
    ) as service:
        ns = ("team", "t")
        said = "Ana: I walk the dog every morning."
        day = datetime(2024, 1, 1, tzinfo=UTC)
        first = Candidate(said, ns, speaker="Ana", provenance=("D1:1",), time=day)
        again = replace(first, provenance=("D4:2",), time=day + timedelta(days=3))
        other = replace(first, speaker="Ben", provenance=("D5:1",))
        applied = service.remember([first, again, other], principal=SYSTEM)
        assert [(a.decision.operation, a.decision.restates) for a in applied] == [
            (Operation.ADD, False),
            (Operation.UPDATE, True),
            (Operation.ADD, False),
        ]
        assert applied[0].record is not None
        kept = service.get(applied[0].record.id, principal=SYSTEM)
        assert kept.provenance == ("D1:1", "D4:2") and kept.version == 2
        # Said again, not changed: the memory is as old as the first saying, and the first
        # version's validity is not cut short.
        assert kept.valid_from == day
        old = service.versions(kept.id, principal=SYSTEM)[0]
        assert old.valid_from == day and old.valid_to is None
        assert service.stats()["current"] == 2


def test_the_networks_update_restates_only_a_repeat() -> None:
    net = Network.init(*DIMS, hidden=8, seed=0)
    eager = dict(net.weights, bp=np.array([50.0, 0.0], np.float32))  # UPDATE whatever it can
    updater = LearnedPolicy(Network(net.cand_dim, net.neigh_dim, net.k, eager))
    again = cand("Ana watched the football final with some friends.")
    said = hit(again.text, 0.99, "m1", "Ana")
    decision = updater.decide(again, [said])
    assert (decision.operation, decision.target, decision.restates) == (
        Operation.UPDATE,
        "m1",
        True,
    )
    moved = updater.decide(cand("Ana moved to Porto."), [hit("Ana lives in Lisbon.", 0.6, "m2")])
    assert (moved.operation, moved.target, moved.restates) == (Operation.UPDATE, "m2", False)
