"""Placement hints: where on a Ray cluster an agent (or the memory actor) should run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import TeamDefinitionError

__all__ = ["Placement"]


def _non_negative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise TeamDefinitionError(f"Placement.{name} must be a number >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Placement:
    """Resources and node labels an actor needs; honoured by the ``ray`` runtime only.

    Agents are I/O-bound (they wait on models), so by default they reserve no CPU. Give
    ``num_cpus`` to an agent that computes, ``resources`` to pin it to nodes that advertise a
    custom resource, or ``labels`` to pick nodes by their Ray node labels.

    Attributes:
        num_cpus: CPUs reserved by the actor.
        num_gpus: GPUs reserved by the actor.
        resources: Custom resources reserved, e.g. ``{"node:worker-1": 0.01}``.
        labels: Node labels the actor's node must have (Ray ``label_selector``).
    """

    num_cpus: float = 0.0
    num_gpus: float = 0.0
    resources: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_cpus", _non_negative("num_cpus", self.num_cpus))
        object.__setattr__(self, "num_gpus", _non_negative("num_gpus", self.num_gpus))
        if not isinstance(self.resources, Mapping):
            raise TeamDefinitionError(
                f"Placement.resources must be a mapping, got {self.resources!r}"
            )
        resources = {}
        for key, value in self.resources.items():
            if not isinstance(key, str) or not key:
                raise TeamDefinitionError(f"Placement.resources has a bad name {key!r}")
            resources[key] = _non_negative(f"resources[{key!r}]", value)
        if not isinstance(self.labels, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.labels.items()
        ):
            raise TeamDefinitionError(f"Placement.labels must map str to str, got {self.labels!r}")
        object.__setattr__(self, "resources", resources)
        object.__setattr__(self, "labels", dict(self.labels))

    def ray_options(self) -> dict[str, Any]:
        """The matching ``ActorClass.options(...)`` keyword arguments."""
        options: dict[str, Any] = {"num_cpus": self.num_cpus}
        if self.num_gpus:
            options["num_gpus"] = self.num_gpus
        if self.resources:
            options["resources"] = dict(self.resources)
        if self.labels:
            options["label_selector"] = dict(self.labels)
        return options
