"""PPO for the memory-manager policy, CleanRL style: one readable file, arguments up front.

Rollouts run in Ray actors that hold an environment each and act with the numpy network (the
very code the shipped policy runs), so the same command uses a cluster when given one. The
learner updates the torch mirror of the network and sends numpy weights back out. Everything
is seeded: a seed gives the same checkpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from policies._network import Network, split_observation

__all__ = ["PPOArgs", "RolloutWorker", "train_ppo"]


@dataclass(frozen=True)
class PPOArgs:
    """Training settings (defaults finish in minutes on a 2-core machine)."""

    seed: int = 1
    imitation_iterations: int = 0
    iterations: int = 30
    workers: int = 2
    episodes_per_worker: int = 2
    hidden: int = 32
    learning_rate: float = 3e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    update_epochs: int = 4
    minibatch_size: int = 256
    clip_coef: float = 0.2
    ent_coef: float = 0.01
    teacher_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)


def _sample(logits: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
    z = logits - logits.max()
    p = np.exp(z)
    p /= p.sum()
    action = int(rng.choice(len(p), p=p))
    return action, float(np.log(p[action] + 1e-12))


class RolloutWorker:
    """Holds one environment; plays episodes with given weights and returns the transitions."""

    def __init__(self, make_env: Callable[[], Any], seed: int) -> None:
        self.env = make_env()
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.episodes = 0

    def collect(
        self, net: Network, episodes: int, *, follow_teacher: bool = False
    ) -> dict[str, Any]:
        """Play ``episodes`` episodes; returns stacked arrays and the episodes' final rewards.

        With ``follow_teacher`` the environment's ``info["teacher_action"]`` is played (for
        imitation); the teacher's action is recorded either way when the environment has one.
        """
        obs_l, act_l, logp_l, rew_l, done_l, val_l, teach_l = [], [], [], [], [], [], []
        finals, infos = [], []
        for _ in range(episodes):
            obs, info = self.env.reset(seed=self.seed * 100_003 + self.episodes)
            self.episodes += 1
            done = False
            while not done:
                cand, neigh, mask = split_observation(obs, net.cand_dim, net.neigh_dim, net.k)
                logits, value = net.forward(cand, neigh, mask)
                action, logp = _sample(logits, self.rng)
                teacher = int(info.get("teacher_action", -1))
                if follow_teacher and teacher >= 0:
                    action = teacher
                teach_l.append(teacher)
                next_obs, reward, terminated, truncated, info = self.env.step(action)
                done = bool(terminated or truncated)
                obs_l.append(obs)
                act_l.append(action)
                logp_l.append(logp)
                rew_l.append(float(reward))
                done_l.append(done)
                val_l.append(value)
                obs = next_obs
                if done:
                    finals.append(float(reward))
                    infos.append({k: v for k, v in info.items() if isinstance(v, int | float)})
        return {
            "obs": np.asarray(obs_l, np.float32),
            "actions": np.asarray(act_l, np.int64),
            "logprobs": np.asarray(logp_l, np.float32),
            "rewards": np.asarray(rew_l, np.float32),
            "dones": np.asarray(done_l, np.bool_),
            "values": np.asarray(val_l, np.float32),
            "teacher": np.asarray(teach_l, np.int64),
            "finals": finals,
            "infos": infos,
        }


def _advantages(batch: dict[str, Any], gamma: float, lam: float) -> tuple[Any, Any]:
    rewards, values, dones = batch["rewards"], batch["values"], batch["dones"]
    adv = np.zeros_like(rewards)
    last = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        next_value = 0.0 if dones[t] else values[t + 1]
        delta = rewards[t] + gamma * next_value - values[t]
        last = delta + gamma * lam * (0.0 if dones[t] else last)
        adv[t] = last
    return adv, adv + values


def train_ppo(
    make_env: Callable[[], Any],
    dims: tuple[int, int, int],
    args: PPOArgs,
    *,
    out: str | Path,
    log: Callable[[str], None] = print,
    evaluate: Callable[[Network], dict[str, float]] | None = None,
) -> tuple[Network, list[dict[str, Any]]]:
    """Train with PPO; writes the checkpoint to ``out`` and learning curves beside it.

    Args:
        make_env: Builds one environment (called inside each rollout actor).
        dims: ``(candidate features, neighbour features, K)``.
        args: Settings.
        out: Checkpoint path (``.npz``); ``<out>.curves.json`` gets the learning curves.
        log: Progress lines.
        evaluate: Optional validation run on the final network; its figures go into the
            checkpoint's metadata.
    """
    import ray
    import torch

    from policies._torch_network import TorchNetwork

    if not ray.is_initialized():
        raise RuntimeError(
            "train_ppo needs a running Ray (the caller starts or joins it: "
            "`colony policy train [--address ADDR]` does)"
        )

    # --- seeding -------------------------------------------------------------------------
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)

    net = Network.init(*dims, hidden=args.hidden, seed=args.seed)
    model = TorchNetwork(net)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, eps=1e-5)

    def descend(loss: torch.Tensor) -> float:
        """One clipped gradient step; returns the loss."""
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        optimizer.step()
        return float(loss.detach())

    remote = ray.remote(num_cpus=1)(RolloutWorker)
    workers: list[Any] = [
        remote.remote(make_env, args.seed * 1000 + i) for i in range(args.workers)
    ]
    curves: list[dict[str, Any]] = []
    begin = time.perf_counter()
    # --- imitation: start from the teacher's behaviour (cross-entropy on its actions) -----
    for iteration in range(1, args.imitation_iterations + 1):
        net = model.to_numpy()
        parts = ray.get(
            [w.collect.remote(net, args.episodes_per_worker, follow_teacher=True) for w in workers]
        )
        obs = torch.tensor(np.concatenate([p["obs"] for p in parts]))
        teacher = torch.tensor(np.concatenate([p["teacher"] for p in parts]))
        keep = teacher >= 0
        if not bool(keep.any()):
            raise RuntimeError("imitation needs an environment with a teacher policy")
        obs, teacher = obs[keep], teacher[keep]
        losses = []
        for _ in range(args.update_epochs):
            order = rng.permutation(len(teacher))
            for start in range(0, len(teacher), args.minibatch_size):
                idx = torch.tensor(order[start : start + args.minibatch_size])
                logits, _ = model(obs[idx])
                losses.append(descend(torch.nn.functional.cross_entropy(logits, teacher[idx])))
        with torch.no_grad():
            agree = float((model(obs)[0].argmax(dim=1) == teacher).float().mean())
        finals = [r for p in parts for r in p["finals"]]
        curves.append(
            {
                "phase": "imitation",
                "iteration": iteration,
                "seconds": round(time.perf_counter() - begin, 1),
                "steps": len(teacher),
                "episode_reward": round(float(np.mean(finals)), 4) if finals else None,
                "loss": round(float(np.mean(losses)), 4),
                "teacher_agreement": round(agree, 4),
            }
        )
        log(
            f"imitate {iteration:>3}/{args.imitation_iterations}  teacher reward "
            f"{curves[-1]['episode_reward']}  agreement {agree:.3f}  {curves[-1]['seconds']} s"
        )
    # --- PPO -------------------------------------------------------------------------------
    for iteration in range(1, args.iterations + 1):
        net = model.to_numpy()
        parts = ray.get([w.collect.remote(net, args.episodes_per_worker) for w in workers])
        batch = {
            key: np.concatenate([p[key] for p in parts])
            for key in ("obs", "actions", "logprobs", "rewards", "dones", "values", "teacher")
        }
        finals = [r for p in parts for r in p["finals"]]
        adv, returns = _advantages(batch, args.gamma, args.gae_lambda)
        obs = torch.tensor(batch["obs"])
        actions = torch.tensor(batch["actions"])
        old_logp = torch.tensor(batch["logprobs"])
        adv_t = torch.tensor(adv)
        ret_t = torch.tensor(returns)
        teacher_t = torch.tensor(batch["teacher"])
        n = len(actions)
        losses = []
        for _ in range(args.update_epochs):
            order = rng.permutation(n)
            for start in range(0, n, args.minibatch_size):
                idx = torch.tensor(order[start : start + args.minibatch_size])
                logits, value = model(obs[idx])
                dist = torch.distributions.Categorical(logits=logits)
                logp = dist.log_prob(actions[idx])
                ratio = (logp - old_logp[idx]).exp()
                a = adv_t[idx]
                a = (a - a.mean()) / (a.std() + 1e-8) if len(a) > 1 else a
                pg = torch.max(
                    -a * ratio, -a * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
                ).mean()
                v_loss = 0.5 * ((value - ret_t[idx]) ** 2).mean()
                loss = pg - args.ent_coef * dist.entropy().mean() + args.vf_coef * v_loss
                taught = teacher_t[idx]
                if args.teacher_coef and bool((taught >= 0).any()):
                    # Stay near the teacher where the reward gives no clear reason to leave it.
                    keep = taught >= 0
                    loss = loss + args.teacher_coef * torch.nn.functional.cross_entropy(
                        logits[keep], taught[keep]
                    )
                losses.append(descend(loss))
        ops = np.bincount(batch["actions"].clip(max=3), minlength=4)
        row = {
            "phase": "ppo",
            "iteration": iteration,
            "seconds": round(time.perf_counter() - begin, 1),
            "steps": n,
            "episode_reward": round(float(np.mean(finals)), 4) if finals else None,
            "loss": round(float(np.mean(losses)), 4),
            "add": int(ops[0]),
            "noop": int(ops[1]),
            "update_or_delete": int(n - ops[0] - ops[1]),
        }
        for key in ("recall", "items", "update_correct"):
            values = [i[key] for p in parts for i in p["infos"] if key in i]
            if values:
                row[key] = round(float(np.mean(values)), 4)
        curves.append(row)
        log(
            f"iter {iteration:>3}/{args.iterations}  reward {row['episode_reward']}  "
            f"loss {row['loss']}  {row['seconds']} s"
        )
    net = model.to_numpy()
    figures = evaluate(net) if evaluate is not None else {}
    path = net.save(out, seed=args.seed, args=asdict(args), validation=figures)
    curves_path = Path(str(path) + ".curves.json")
    curves_path.write_text(json.dumps(curves, indent=1))
    log(f"wrote {path} and {curves_path}")
    for worker in workers:
        ray.kill(worker)
    return net, curves
