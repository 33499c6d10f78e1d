"""What `colony policy train` trains on, and how a checkpoint's figures are recorded.

Training data: the LoCoMo training conversation (conv-26) when given, plus synthetic
conversations in the *train* phrasing. Validation (recorded in the checkpoint): synthetic
conversations in the *held-out* phrasing, from a seed training never uses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from memory import Conversation, HashEmbedder, default_embedder, load_locomo
from policies._baselines import HeuristicPolicy
from policies._env import MemoryManagerEnv
from policies._features import CANDIDATE_FEATURES, NEIGHBOUR_FEATURES, K
from policies._network import Network
from policies._ppo import PPOArgs, train_ppo
from policies._synthetic import (
    VALIDATION_SEED,
    check_training_seed,
    synthetic_conversations,
    synthetic_samples,
)

__all__ = ["VALIDATION_SEED", "make_training_env", "train_policy", "validation_figures"]

DIMS = (len(CANDIDATE_FEATURES), len(NEIGHBOUR_FEATURES), K)


def training_conversations(
    locomo: Sequence[Path], synthetic: int, seed: int, mentions: float = 0.0
) -> tuple[list[Conversation], dict[str, Any]]:
    """The LoCoMo files given plus ``synthetic`` train-phrased conversations for ``seed``
    (with ``mentions``, see :func:`policies.synthetic_sample`), and the synthetic ones'
    statement labels by conversation id."""
    check_training_seed(seed)
    samples = synthetic_samples(synthetic, seed, mentions=mentions)
    loaded = load_locomo(list(locomo)) if locomo else []
    conversations = [*loaded, *(sample.conversation for sample in samples)]
    return conversations, {sample.conversation.id: sample.statements for sample in samples}


def make_training_env(
    locomo: tuple[str, ...],
    synthetic: int,
    seed: int,
    budget_words: int,
    embedder: str = "hash",
    locomo_budget_words: int | None = None,
    mentions: float = 0.0,
) -> MemoryManagerEnv:
    """Build one training environment (runs inside each rollout actor).

    Synthetic conversations are scored at ``budget_words``, LoCoMo ones at
    ``locomo_budget_words`` (default: ``budget_words``).
    """
    conversations, labels = training_conversations(
        [Path(p) for p in locomo], synthetic, seed, mentions
    )
    budgets = (
        {conv.id: locomo_budget_words for conv in conversations if conv.id not in labels}
        if locomo_budget_words is not None
        else {}
    )
    return MemoryManagerEnv(
        conversations,
        labels=labels,
        embedder=default_embedder(embedder),
        budget_words=budget_words,
        budgets=budgets,
        teacher=HeuristicPolicy(),  # imitated first, then improved on by PPO
    )


def validation_figures(net: Network, *, conversations: int = 5) -> dict[str, float]:
    """Episode figures of the greedy network on held-out synthetic conversations."""
    import numpy as np

    from policies._network import split_observation

    env = MemoryManagerEnv(
        [
            replace(c)
            for c in synthetic_conversations(conversations, VALIDATION_SEED, phrasing="heldout")
        ],
        embedder=HashEmbedder(),
        budget_words=30,
    )
    totals: dict[str, list[float]] = {}
    for index in range(conversations):
        obs, _ = env.reset(seed=0, options={"conversation": index})
        done = False
        info: dict[str, Any] = {}
        reward: float = 0.0
        while not done:
            cand, neigh, mask = split_observation(obs, net.cand_dim, net.neigh_dim, net.k)
            action = int(np.argmax(net.logits(cand, neigh, mask)))
            obs, step_reward, terminated, truncated, info = env.step(action)
            reward = float(step_reward)
            done = bool(terminated or truncated)
        totals.setdefault("reward", []).append(float(reward))
        for key in ("recall", "items", "update_correctness"):
            if key in info:
                totals.setdefault(key, []).append(float(info[key]))
    return {key: round(sum(v) / len(v), 4) for key, v in totals.items()}


def train_policy(
    out: str | Path,
    *,
    seed: int = 1,
    locomo: Sequence[str | Path] = (),
    synthetic: int = 16,
    budget_words: int = 30,
    locomo_budget_words: int | None = None,
    embedder: str = "hash",
    mentions: float = 0.0,
    args: PPOArgs | None = None,
    log: Callable[[str], None] = print,
) -> tuple[Network, list[dict[str, Any]]]:
    """Train with PPO (Ray must be running) and write the checkpoint with its figures."""
    settings = args or PPOArgs(seed=seed)
    data = {
        "locomo": [Path(p).name for p in locomo],
        "synthetic": synthetic,
        "budget_words": budget_words,
        "locomo_budget_words": locomo_budget_words,
        "embedder": embedder,
        "mentions": mentions,
    }
    # The data settings are recorded with the checkpoint, so its command can be read back.
    settings = replace(settings, seed=seed, extra={**settings.extra, "data": data})
    factory = functools.partial(
        make_training_env,
        tuple(str(p) for p in locomo),
        synthetic,
        seed,
        budget_words,
        embedder,
        locomo_budget_words,
        mentions,
    )
    return train_ppo(factory, DIMS, settings, out=out, log=log, evaluate=validation_figures)
