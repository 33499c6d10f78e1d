"""Wiring for the policy commands: the ``llm`` policy gets its model from the environment.

policies/ never imports agents/; this is where a chat model becomes the ``complete``
function of :class:`policies.LLMPolicy`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from agents import Message, OpenAIChatModel
from agents.errors import ModelConfigError
from policies import LLMPolicy, PolicyFactory

__all__ = ["DEFAULT_POLICY_MODEL", "cli_policies", "complete_from_env"]

DEFAULT_POLICY_MODEL = "gpt-4o-mini"


def complete_from_env(env: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """A prompt -> reply function on the OpenAI-compatible endpoint the environment names.

    ``COLONY_OPENAI_BASE_URL`` (or ``OPENAI_BASE_URL``) is the endpoint (default: OpenAI's),
    ``OPENAI_API_KEY`` the key (set it empty for a local server without auth), and
    ``COLONY_MODEL`` the model (default :data:`DEFAULT_POLICY_MODEL`).

    Raises:
        ModelConfigError: Neither an endpoint nor a key is configured, or the key is unset.
    """
    env = os.environ if env is None else env
    base_url = env.get("COLONY_OPENAI_BASE_URL") or env.get("OPENAI_BASE_URL")
    api_key = env.get("OPENAI_API_KEY")
    if api_key is None:
        raise ModelConfigError(
            f"the llm policy needs a model, but OPENAI_API_KEY is not set (endpoint: "
            f"{base_url or 'not set'}): "
            "set COLONY_OPENAI_BASE_URL (or OPENAI_BASE_URL) to an OpenAI-compatible endpoint, "
            "OPENAI_API_KEY to its key (empty for a local server without auth) and "
            "COLONY_MODEL to the model name"
        )
    model = OpenAIChatModel(
        env.get("COLONY_MODEL") or DEFAULT_POLICY_MODEL, base_url=base_url, api_key=api_key
    )

    def complete(prompt: str) -> str:
        return model.chat([Message("user", prompt)]).message.content

    return complete


def cli_policies(name: str, env: Mapping[str, str] | None = None) -> dict[str, PolicyFactory]:
    """Factories to scope around a command that builds policy ``name`` (see
    :func:`policies.scoped_policies`): for ``llm``, one bound to the configured model."""
    if name != "llm":
        return {}
    complete = complete_from_env(env)
    return {"llm": lambda **options: LLMPolicy(complete, **options)}
