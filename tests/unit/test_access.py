"""The namespace access matrix: every principal kind x namespace kind x action."""

from __future__ import annotations

import pytest

from memory import AccessRules, Action, Grant, Principal
from memory.errors import AccessDeniedError, InvalidInputError

writer = Principal.agent("newsroom", "writer")
editor = Principal.agent("newsroom", "editor")
outsider = Principal.agent("lab", "writer")  # same name, other team
alice = Principal.user("alice", teams=["newsroom"])
bob = Principal.user("bob")
admin = Principal.admin()

NAMESPACES = {
    "writer-private": ("agent", "newsroom", "writer"),
    "writer-private-sub": ("agent", "newsroom", "writer", "scratch"),
    "team": ("team", "newsroom"),
    "other-team": ("team", "lab"),
    "alice": ("user", "alice"),
    "global": ("global", "docs"),
    "unknown-root": ("misc", "x"),
}

# (principal, namespace key) -> (may read, may write)
EXPECTED = {
    (writer, "writer-private"): (True, True),
    (writer, "writer-private-sub"): (True, True),
    (writer, "team"): (True, True),
    (writer, "other-team"): (False, False),
    (writer, "alice"): (False, False),
    (writer, "global"): (True, False),
    (writer, "unknown-root"): (False, False),
    (editor, "writer-private"): (False, False),
    (editor, "writer-private-sub"): (False, False),
    (editor, "team"): (True, True),
    (outsider, "writer-private"): (False, False),
    (outsider, "team"): (False, False),
    (outsider, "other-team"): (True, True),
    (alice, "writer-private"): (False, False),
    (alice, "team"): (True, True),
    (alice, "alice"): (True, True),
    (alice, "global"): (True, False),
    (bob, "alice"): (False, False),
    (bob, "team"): (False, False),
    (bob, "global"): (True, False),
    (admin, "writer-private"): (True, True),
    (admin, "global"): (True, True),
    (admin, "unknown-root"): (True, True),
}


@pytest.mark.parametrize(("principal", "ns_key"), list(EXPECTED), ids=lambda v: str(v))
@pytest.mark.parametrize("action", [Action.READ, Action.WRITE])
def test_access_matrix(principal: Principal, ns_key: str, action: Action) -> None:
    rules = AccessRules()
    namespace = NAMESPACES[ns_key]
    allowed = EXPECTED[(principal, ns_key)][0 if action is Action.READ else 1]
    assert rules.allows(principal, action, namespace) is allowed
    if allowed:
        rules.check(principal, action, namespace)
    else:
        with pytest.raises(AccessDeniedError, match=str(namespace[0])):
            rules.check(principal, action, namespace)


def test_grants_extend_the_defaults() -> None:
    rules = AccessRules(grants=(Grant(("misc",), writer.id, frozenset({Action.READ})),))
    assert rules.allows(writer, Action.READ, ("misc", "x"))
    assert not rules.allows(writer, Action.WRITE, ("misc", "x"))
    assert not rules.allows(editor, Action.READ, ("misc", "x"))


def test_check_rejects_a_missing_principal() -> None:
    with pytest.raises(InvalidInputError, match="Principal"):
        AccessRules().check("writer", Action.READ, ("team", "newsroom"))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "a/b", "has space"])
def test_principal_names_are_validated(name: str) -> None:
    with pytest.raises(InvalidInputError):
        Principal.agent("newsroom", name)


def test_private_namespaces() -> None:
    assert writer.private_namespace() == ("agent", "newsroom", "writer")
    assert alice.private_namespace() == ("user", "alice")
    assert writer.id == "agent:newsroom/writer"
