"""Colony agents: model clients, tools and private working memory.

The chat model is injected: :class:`ScriptedModel` for tests and offline runs,
:class:`OpenAIChatModel` for any OpenAI-compatible endpoint, :class:`LangChainChatModel` for
a LangChain chat model. An :class:`Agent` takes LangChain models and tools as-is. It is run by
an :class:`AgentHost`, which owns its working memory and its tool loop. Errors live in
:mod:`agents.errors`.
"""

from agents._agent import Agent
from agents._host import AgentHost, AgentResult
from agents._langchain import LangChainChatModel, tool_from_langchain
from agents._memory_view import AgentMemory
from agents._messages import ChatResponse, Message, Role, ToolCall, Usage
from agents._models import ChatModel, ChatRequest, FunctionModel, ScriptedModel, ScriptStep
from agents._openai import OpenAIChatModel
from agents._tools import ToolSpec, tool
from agents._worker import (
    AgentRequest,
    AgentStep,
    AgentWorker,
    ToolUse,
    record_step,
    step_from_result,
)
from agents._working_memory import WorkingItem, WorkingMemory, count_words

__all__ = [
    "Agent",
    "AgentHost",
    "AgentMemory",
    "AgentRequest",
    "AgentResult",
    "AgentStep",
    "AgentWorker",
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "FunctionModel",
    "LangChainChatModel",
    "Message",
    "OpenAIChatModel",
    "Role",
    "ScriptStep",
    "ScriptedModel",
    "ToolCall",
    "ToolSpec",
    "ToolUse",
    "Usage",
    "WorkingItem",
    "WorkingMemory",
    "count_words",
    "record_step",
    "step_from_result",
    "tool",
    "tool_from_langchain",
]
