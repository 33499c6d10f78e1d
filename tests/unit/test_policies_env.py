"""The learned memory manager's features and its gymnasium environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, SupportsFloat

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from benchmarks.locomo import run_locomo
from memory import (
    Candidate,
    Conversation,
    HashEmbedder,
    Operation,
    Question,
    ScoredMemory,
    write_locomo,
)
from memory.errors import InvalidInputError
from orchestrator._demo_memory import demo_conversation
from policies._env import MemoryManagerEnv
from policies._features import (
    CANDIDATE_FEATURES,
    CONTEXT,
    FEATURES,
    N_ACTIONS,
    NEIGHBOUR_FEATURES,
    OBSERVATION_SIZE,
    K,
    action_mask,
    decision_for,
    featurize,
    flatten_observation,
    joined_features,
)
from tests.unit.test_baseline_policies import hit as baseline_hit

NS = ("team", "t")
WHEN = datetime(2025, 3, 2, 18, 30, tzinfo=UTC)


def conversation(conv_id: str = "demo", start: datetime = WHEN) -> Conversation:
    """The demo conversation with questions whose evidence is known."""
    questions = (
        Question("Where does Ana live?", "Porto", ("D2:1",), "1"),
        Question("Where does Ana work?", "a design studio", ("D2:3",), "1"),
        Question("What is the name of Ben's dog?", "Pixel", ("D1:5",), "1"),
        Question("What instrument is Ana learning?", "cello", ("D3:2",), "2"),
        Question("What did Ana say about Mars?", None, ("D1:1",), "5"),  # excluded
    )
    return replace(demo_conversation(start), id=conv_id, questions=questions)


def hit(text: str, sim: float, memory_id: str = "m1", speaker: str = "Ana") -> ScoredMemory:
    """A neighbour stated 30 days before :data:`WHEN`."""
    base = baseline_hit(text, sim, memory_id, speaker)
    return replace(base, record=replace(base.record, valid_from=WHEN - timedelta(days=30)))


def cand(text: str, speaker: str = "Ana", **metadata: object) -> Candidate:
    return Candidate(
        text=text, namespace=NS, speaker=speaker, time=WHEN, entities=(speaker,), metadata=metadata
    )


def feature(cand_feats: np.ndarray, name: str) -> float:
    return float(cand_feats[CANDIDATE_FEATURES.index(name)])


# -- features ------------------------------------------------------------------------------


def test_featurize_shapes_and_dtypes() -> None:
    neighbours = [hit(f"Ana said thing {i}", 0.5 - i / 10, f"m{i}") for i in range(K + 2)]
    c, n, mask = featurize(cand("Ana lives in Porto"), neighbours)
    assert c.shape == (len(CANDIDATE_FEATURES),) and c.dtype == np.float32
    assert n.shape == (K, len(NEIGHBOUR_FEATURES)) and n.dtype == np.float32
    assert mask.shape == (K,) and mask.dtype == np.float32
    assert mask.tolist() == [1.0] * K
    assert len(FEATURES) == len(CANDIDATE_FEATURES) + len(NEIGHBOUR_FEATURES)
    flat = flatten_observation(c, n, mask)
    assert flat.shape == (OBSERVATION_SIZE,) and flat[-K:].tolist() == mask.tolist()
    c, n, mask = featurize(cand("Ana lives in Porto"), neighbours[:2])
    assert mask.tolist() == [1, 1, 0, 0, 0]
    assert not n[2:].any()


def test_joined_features_are_the_same_features_laid_out_for_the_network() -> None:
    neighbours = [hit(f"Ana said thing {i}", 0.5 - i / 10, f"m{i}") for i in range(3)]
    c, n, mask = featurize(cand("Ana lives in Porto"), neighbours)
    joined, joined_mask = joined_features(cand("Ana lives in Porto"), neighbours)
    assert joined.shape == (K, len(NEIGHBOUR_FEATURES) + len(CANDIDATE_FEATURES) + 1)
    np.testing.assert_array_equal(joined[:, : n.shape[1]], n)
    np.testing.assert_array_equal(joined[:, n.shape[1] : -1], np.tile(c, (K, 1)))
    assert joined[:, -1].tolist() == [1.0] * K and joined_mask == mask.tolist()


def test_a_reused_id_and_version_is_read_afresh() -> None:
    # Features of a version are memoised by (id, version); records built by hand, or from
    # another store, may reuse both with other content.
    same = NEIGHBOUR_FEATURES.index("same_speaker")
    said_by_ana = featurize(cand("Ana lives in Porto"), [hit("I moved", 0.9, "m1", "Ana")])[1]
    said_by_ben = featurize(cand("Ana lives in Porto"), [hit("I moved", 0.9, "m1", "Ben")])[1]
    assert said_by_ana[0, same] == 1.0 and said_by_ben[0, same] == 0.0


def test_identical_text_has_maximal_similarity() -> None:
    text = "Ana works at a bakery near the river."
    _, n, _ = featurize(cand(text), [hit(text, 1.0, "a"), hit("Ben has a dog.", 0.1, "b")])
    vector = NEIGHBOUR_FEATURES.index("vector")
    tokens = NEIGHBOUR_FEATURES.index("token_jaccard")
    assert n[0, vector] == pytest.approx(1.0) and n[0, tokens] == pytest.approx(1.0)
    assert n[1, vector] < n[0, vector] and n[1, tokens] < n[0, tokens]


def test_cues_of_the_candidate() -> None:
    plain = featurize(cand("Ana lives in Porto."), [])[0]
    assert feature(plain, "negation") == 0 and feature(plain, "has_slot") == 1
    assert feature(featurize(cand("Ana didn't move to Porto."), [])[0], "negation") == 1
    assert feature(featurize(cand("Ana sold her car."), [])[0], "retraction") == 1
    hypothetical = featurize(cand("If Ana moved to Porto she would miss Lisbon."), [])[0]
    assert feature(hypothetical, "hypothetical") == 1
    assert feature(featurize(cand("Does Ana live in Porto?"), [])[0], "question") == 1
    other = Candidate(
        text="Ben: Ana moved to Porto.", namespace=NS, speaker="Ben", entities=("Ben", "Ana")
    )
    assert feature(featurize(other, [])[0], "about_other") == 1
    assert feature(featurize(cand("I moved to Porto."), [])[0], "about_other") == 0


def test_same_subject_and_slot() -> None:
    neighbours = [
        hit("Ana lives in Lisbon.", 0.6, "a"),
        hit("Ana likes jazz.", 0.5, "b"),
        hit("Ben lives in Faro.", 0.5, "c", speaker="Ben"),
    ]
    _, n, _ = featurize(cand("Ana moved to Porto."), neighbours)
    same_slot = n[:, NEIGHBOUR_FEATURES.index("same_slot")]
    same_speaker = n[:, NEIGHBOUR_FEATURES.index("same_speaker")]
    assert same_slot[:3].tolist() == [1, 0, 0]
    assert same_speaker[:3].tolist() == [1, 1, 0]
    gap = n[0, NEIGHBOUR_FEATURES.index("time_gap")]
    assert gap > 0  # the candidate is 30 days after the neighbour


def test_actions_map_to_decisions() -> None:
    c = cand("Ana moved to Porto.")
    neighbours = [hit("Ana lives in Lisbon.", 0.6, "a"), hit("Ana likes jazz.", 0.5, "b")]
    assert decision_for(0, c, neighbours).operation is Operation.ADD
    assert decision_for(1, c, neighbours).operation is Operation.NOOP
    update = decision_for(2 + 1, c, neighbours)
    assert (update.operation, update.target, update.text) == (Operation.UPDATE, "b", c.text)
    delete = decision_for(2 + K, c, neighbours)
    assert (delete.operation, delete.target) == (Operation.DELETE, "a")
    # A target past the retrieved neighbours is an ADD; the mask says so beforehand.
    assert decision_for(2 + 3, c, neighbours).operation is Operation.ADD
    mask = featurize(c, neighbours)[2]
    assert action_mask(mask).tolist() == [1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0]
    with pytest.raises(InvalidInputError, match="action"):
        decision_for(N_ACTIONS, c, neighbours)


def test_neighbours_the_candidate_may_not_change_are_context() -> None:
    neighbours = [
        hit("Ana lives in Lisbon.", 0.6, "a"),
        hit("Ben lives in Faro.", 0.5, "b", speaker="Ben"),
    ]
    mask = featurize(cand("Ana moved to Porto."), neighbours)[2]
    assert mask.tolist() == [1.0, CONTEXT, 0, 0, 0]  # Ben's memory is read, never a target
    assert action_mask(mask).tolist() == [1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    for modal in (
        cand("If Ana moved to Porto she would miss Lisbon."),
        cand("That's a rumour, Ana didn't move to Porto."),
        cand("Ana moved to Porto.", distractor=True),
        cand("My sister moved to Porto."),
    ):
        mask = featurize(modal, neighbours)[2]
        assert mask.tolist() == [CONTEXT, CONTEXT, 0, 0, 0], modal.text
        assert action_mask(mask).tolist() == [1, 1] + [0] * (2 * K)
    # A relative's news is second-hand, unless the speaker is in it too.
    for own in ("My sister and I moved to Porto.", "My friend got me a flat in Porto."):
        assert featurize(cand(own), neighbours)[2][0] == 1.0, own
    # A question asserts nothing, and a value added next to the old one replaces nothing.
    for fixed in (cand("Did Ana move to Porto?"), cand("Ana also has a flat in Porto.")):
        mask = featurize(fixed, neighbours)[2]
        assert mask.tolist() == [CONTEXT, CONTEXT, 0, 0, 0], fixed.text
    # A retraction is a change, even in words a denial also uses.
    mask = featurize(cand("Ana doesn't live in Lisbon anymore."), neighbours)[2]
    assert mask[0] == 1.0


# -- environment ---------------------------------------------------------------------------


def test_check_env_passes() -> None:
    env = MemoryManagerEnv([conversation()])
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (OBSERVATION_SIZE,)
    env.close()


Agent = Callable[[np.ndarray, dict[str, Any]], int]


def run_episode(
    env: MemoryManagerEnv, pick: Agent, seed: int
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Play one episode; the last step's info gets the reward."""
    obs, info = env.reset(seed=seed)
    seen, done = [obs], False
    reward: SupportsFloat = 0.0
    while not done:
        obs, reward, done, truncated, info = env.step(pick(obs, info))
        assert not truncated
        seen.append(obs)
        if not done:
            assert reward == 0.0
    info["reward"] = reward
    return seen, info


def test_always_add_matches_add_all_through_the_service(tmp_path: Path) -> None:
    conv = conversation()
    # 15 words: some questions' evidence fits, some does not.
    env = MemoryManagerEnv([conv], budget_words=15, item_cost=0.01)
    _, info = run_episode(env, lambda obs, info: 0, seed=0)
    env.close()
    path = tmp_path / "demo.json"
    write_locomo([conv], path)
    bench = run_locomo([path], policy="add-all", embedder=HashEmbedder(), budget_words=15)
    assert info["questions"] == bench["questions"] == 4
    assert 0 < info["recall"] < 1
    assert round(100 * info["recall"], 2) == bench["recall"]["overall"]
    assert info["items"] == bench["items_stored"]
    assert info["update_correctness"] == 0.0
    expected = info["recall"] - 0.01 * info["items"]
    assert info["reward"] == pytest.approx(expected)


def test_a_conversation_can_be_scored_at_its_own_budget() -> None:
    # LoCoMo is asked at 300 words while synthetic conversations are asked at 30.
    recalls = []
    for budgets in ({}, {"wide": 300}):
        env = MemoryManagerEnv([conversation("wide")], budget_words=15, budgets=budgets)
        recalls.append(run_episode(env, lambda obs, info: 0, seed=0)[1]["recall"])
        env.close()
    assert recalls[0] < 1 and recalls[1] == 1


def test_training_scores_locomo_files_at_their_own_budget(tmp_path: Path) -> None:
    from policies._training import make_training_env

    path = tmp_path / "demo.json"
    write_locomo([conversation("locomo-file")], path)
    env = make_training_env((str(path),), 1, 7, 30, "hash", locomo_budget_words=300)
    assert env.budget_words == 30 and env.budgets == {"locomo-file": 300}
    env.close()


def test_update_correctness_rewards_slot_updates_and_punishes_distractors() -> None:
    env = MemoryManagerEnv([conversation()])
    same_slot = NEIGHBOUR_FEATURES.index("same_slot")
    start = len(CANDIDATE_FEATURES)

    def slot_updates(obs: np.ndarray, info: dict[str, Any]) -> int:
        rows = obs[start : start + K * len(NEIGHBOUR_FEATURES)].reshape(K, -1)
        hypothetical = obs[CANDIDATE_FEATURES.index("hypothetical")]
        hits = np.flatnonzero(rows[:, same_slot] > 0)
        return 2 + int(hits[0]) if hits.size and not hypothetical else 0

    _, good = run_episode(env, slot_updates, seed=0)
    assert good["operations"]["UPDATE"] == 2
    assert good["update_correctness"] == 1.0

    def update_first(obs: np.ndarray, info: dict[str, Any]) -> int:
        return 2 if info["action_mask"][2] else 0

    _, bad = run_episode(env, update_first, seed=0)
    assert bad["update_correctness"] < 0
    assert good["reward"] > bad["reward"]
    env.close()


def test_seeded_episodes_repeat() -> None:
    convs = [conversation("a"), conversation("b", WHEN + timedelta(days=400))]

    def episode(seed: int) -> tuple[str, list[np.ndarray], dict[str, Any]]:
        env = MemoryManagerEnv(convs)
        env.action_space.seed(seed)
        seen, info = run_episode(
            env, lambda obs, info: int(env.action_space.sample(mask=info["action_mask"])), seed=seed
        )
        assert env.conversation is not None
        conv_id = env.conversation.id
        env.close()
        return conv_id, seen, info

    first, second = episode(5), episode(5)
    assert first[0] == second[0]
    assert all(np.array_equal(a, b) for a, b in zip(first[1], second[1], strict=True))
    assert first[2]["reward"] == second[2]["reward"]
    picked = {episode(seed)[0] for seed in range(6)}
    assert picked == {"a", "b"}


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="at least one"):
        MemoryManagerEnv([])
    with pytest.raises(InvalidInputError, match="budget_words"):
        MemoryManagerEnv([conversation()], budget_words=0)
    with pytest.raises(InvalidInputError, match=r"'demo'.*got -5"):
        MemoryManagerEnv([conversation()], budgets={"demo": -5})
    env = MemoryManagerEnv([conversation()])
    with pytest.raises(InvalidInputError, match="reset"):
        env.step(0)
    with pytest.raises(InvalidInputError, match="conversation"):
        env.reset(options={"conversation": 3})


def test_labels_reward_the_right_update_and_charge_distractor_updates() -> None:
    from policies import K
    from policies._synthetic import synthetic_samples

    (sample,) = synthetic_samples(1, 11, mentions=0.75)
    env = MemoryManagerEnv(
        [sample.conversation],
        labels={sample.conversation.id: sample.statements},
        shaping=0.1,
    )
    expected = {st.dia_id: st for st in sample.statements}
    env.reset(seed=0)
    seen = {"right": 0.0, "distractor": 0.0, "mention": 0.0}
    done = False
    while not done:
        episode = env._episode
        assert episode is not None
        candidate = episode.candidates[env._step]
        neighbours = env._peek.neighbours
        st = expected.get(candidate.provenance[0]) if candidate.provenance else None
        action = 0
        if st is not None and st.kind == "change":
            replaced = [
                i
                for i, hit in enumerate(neighbours[:K])
                if any(
                    expected.get(p)
                    and expected[p].slot == st.slot
                    and expected[p].person == st.person
                    and expected[p].sets_slot
                    for p in hit.record.provenance
                )
            ]
            action = 2 + replaced[-1] if replaced else 0
        elif st is not None and st.kind in ("hypothetical", "denial", "other", "mention"):
            action = 2 if neighbours else 0  # UPDATE the first neighbour: wrong by construction
        _, reward, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
        if not done and st is not None and action >= 2:
            key = st.kind if st.kind in ("change", "mention") else "distractor"
            key = "right" if key == "change" else key
            seen[key] += float(reward)
    assert seen["distractor"] < 0 and seen["mention"] < 0  # neither may change memory
    assert seen["right"] > 0  # updating the memory a change replaces is rewarded
