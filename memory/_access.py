"""Principals and namespace access rules, enforced by the MemoryService for every operation.

Default rules (first matching namespace root wins):

=====================  ==============================  ===============================
namespace              read                            write
=====================  ==============================  ===============================
("agent", T, A, ...)   agent A of team T               agent A of team T
("team", T, ...)       agents of team T, users in T    agents of team T, users in T
("user", U, ...)       user U                          user U
("global", ...)        everyone                        admins only (read-only otherwise)
anything else          admins, plus explicit grants    admins, plus explicit grants
=====================  ==============================  ===============================

Admins (the system principal, used by the runtime and the dashboard) may do everything.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from memory._checks import short
from memory._namespace import Namespace, has_prefix, validate_namespace
from memory.errors import AccessDeniedError, InvalidInputError


class Action(enum.StrEnum):
    """What a principal wants to do in a namespace."""

    READ = "read"
    WRITE = "write"


class PrincipalKind(enum.StrEnum):
    """Who is acting."""

    ADMIN = "admin"
    USER = "user"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Principal:
    """An actor on the memory: an agent of a team, a user, or an admin.

    Build with :meth:`agent`, :meth:`user` or :meth:`admin`.
    """

    kind: PrincipalKind
    name: str
    teams: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInputError(f"principal name must be a non-empty string, got {self.name!r}")
        validate_namespace((self.name, *sorted(self.teams)))

    @classmethod
    def agent(cls, team: str, name: str) -> Principal:
        """An agent ``name`` of team ``team``."""
        return cls(PrincipalKind.AGENT, name, frozenset({team}))

    @classmethod
    def user(cls, name: str, teams: Iterable[str] = ()) -> Principal:
        """A human user, member of ``teams``."""
        return cls(PrincipalKind.USER, name, frozenset(teams))

    @classmethod
    def admin(cls, name: str = "system") -> Principal:
        """The runtime, operators and the dashboard."""
        return cls(PrincipalKind.ADMIN, name)

    @property
    def id(self) -> str:
        """A stable string id, stored as the author of writes."""
        if self.kind is PrincipalKind.AGENT:
            return f"agent:{next(iter(self.teams))}/{self.name}"
        return f"{self.kind.value}:{self.name}"

    def private_namespace(self) -> Namespace:
        """The namespace only this principal can read: its own working space."""
        if self.kind is PrincipalKind.AGENT:
            return ("agent", next(iter(self.teams)), self.name)
        return ("user", self.name)


SYSTEM = Principal.admin()


@dataclass(frozen=True, slots=True)
class Grant:
    """An explicit extra permission: ``principal_id`` may ``actions`` under ``prefix``."""

    prefix: Namespace
    principal_id: str
    actions: frozenset[Action] = frozenset({Action.READ})


def principal_arg(principal: object) -> Principal:
    """``principal``, checked to be a :class:`Principal` (every memory operation needs one)."""
    if not isinstance(principal, Principal):
        raise InvalidInputError(
            f"every memory operation needs a Principal, got {short(principal)}; "
            "use Principal.agent(team, name), Principal.user(name) or Principal.admin()"
        )
    return principal


@dataclass(frozen=True, slots=True)
class AccessRules:
    """The namespace rules of one memory store (see the module docstring)."""

    grants: tuple[Grant, ...] = field(default_factory=tuple)

    def allows(self, principal: Principal, action: Action, namespace: Namespace) -> bool:
        """True when ``principal`` may ``action`` in ``namespace``.

        Raises:
            InvalidInputError: ``principal`` is not a :class:`Principal`.
        """
        if principal_arg(principal).kind is PrincipalKind.ADMIN:
            return True
        if any(
            has_prefix(namespace, g.prefix)
            and g.principal_id == principal.id
            and action in g.actions
            for g in self.grants
        ):
            return True
        root = namespace[0] if namespace else ""
        if root == "agent":
            return (
                principal.kind is PrincipalKind.AGENT
                and len(namespace) >= 3
                and namespace[1] in principal.teams
                and namespace[2] == principal.name
            )
        if root == "team":
            return len(namespace) >= 2 and namespace[1] in principal.teams
        if root == "user":
            return (
                principal.kind is PrincipalKind.USER
                and len(namespace) >= 2
                and namespace[1] == principal.name
            )
        if root == "global":
            return action is Action.READ
        return False

    def check(self, principal: Principal, action: Action, namespace: Namespace) -> None:
        """Raise :class:`AccessDeniedError` unless allowed."""
        if not self.allows(principal, action, namespace):
            raise AccessDeniedError(
                f"{principal.id} may not {action.value} namespace {namespace!r}; "
                "see memory._access for the namespace rules, or add a Grant"
            )

    def readable(self, principal: Principal, namespaces: Sequence[Namespace]) -> list[Namespace]:
        """The subset of ``namespaces`` that ``principal`` may read."""
        principal_arg(principal)  # refused even when there is nothing to read
        return [ns for ns in namespaces if self.allows(principal, Action.READ, ns)]
