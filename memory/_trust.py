"""Where a memory came from, how far it is trusted, and the guard against memory poisoning.

Every memory records its origin in ``metadata["origin"]``: what a person said (``user``), the
runtime or an operator (``system``), an agent's own conclusion (``agent``), a tool's output
(``tool``) or an external document (``document``). Its ``trust`` is that origin's trust (see
:data:`ORIGIN_TRUST`) unless the writer gives a lower one. Nobody vouches for more than they
are: an agent may write as ``agent``, ``tool`` or ``document``, a user as ``user``, ``tool``
or ``document``, and only an admin as anything.

:class:`TrustGuard` screens what arrives from an origin below its ``trusted`` level. Content
that carries instructions to an AI (prompt injection), or that would replace, delete or
contradict a more trusted memory, is stored in quarantine: kept, with its reason in
``metadata["quarantine"]``, but hidden from searches and from the memory policy until a user
or admin releases it (:meth:`memory.MemoryService.release`). Untrusted memories that pass
rank lower than trusted ones in search (:attr:`memory.RetrievalWeights.trust_weight`).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from memory._access import Principal, PrincipalKind, principal_arg
from memory._checks import short
from memory._english import content_words
from memory.errors import AccessDeniedError, InvalidInputError

__all__ = ["ORIGIN_TRUST", "Origin", "TrustGuard", "instruction_cue", "origin_arg"]

ORIGIN_KEY = "origin"
QUARANTINE_KEY = "quarantine"


class Origin(enum.StrEnum):
    """Where a memory's content came from."""

    USER = "user"
    SYSTEM = "system"
    AGENT = "agent"
    TOOL = "tool"
    DOCUMENT = "document"


ORIGIN_TRUST: Mapping[Origin, float] = MappingProxyType(
    {
        Origin.USER: 1.0,
        Origin.SYSTEM: 1.0,
        Origin.AGENT: 0.6,
        Origin.TOOL: 0.4,
        Origin.DOCUMENT: 0.3,
    }
)

# The origins each kind of principal may claim for what it writes.
_MAY_CLAIM: Mapping[PrincipalKind, frozenset[Origin]] = MappingProxyType(
    {
        PrincipalKind.ADMIN: frozenset(Origin),
        PrincipalKind.USER: frozenset({Origin.USER, Origin.TOOL, Origin.DOCUMENT}),
        PrincipalKind.AGENT: frozenset({Origin.AGENT, Origin.TOOL, Origin.DOCUMENT}),
    }
)
_DEFAULT_ORIGIN: Mapping[PrincipalKind, Origin] = MappingProxyType(
    {
        PrincipalKind.ADMIN: Origin.SYSTEM,
        PrincipalKind.USER: Origin.USER,
        PrincipalKind.AGENT: Origin.AGENT,
    }
)


def origin_arg(value: object, principal: Principal) -> Origin:
    """The origin ``principal`` writes as: ``value``, or its own kind's when ``value`` is None.

    Raises:
        InvalidInputError: ``value`` is not an origin name.
        AccessDeniedError: ``principal`` may not claim that origin (an agent writing as a user).
    """
    kind = principal_arg(principal).kind
    if value is None:
        return _DEFAULT_ORIGIN[kind]
    try:
        origin = Origin(value) if isinstance(value, str) else None
    except ValueError:
        origin = None
    if origin is None:
        names = ", ".join(o.value for o in Origin)
        raise InvalidInputError(f"origin must be one of {names}, got {short(value)}")
    if origin not in _MAY_CLAIM[kind]:
        allowed = ", ".join(sorted(o.value for o in _MAY_CLAIM[kind]))
        raise AccessDeniedError(
            f"{principal.id} may not write as origin {origin.value!r}; it may claim {allowed}"
        )
    return origin


# Instructions aimed at an AI that reads the text. Each cue is one family of prompt injection;
# the text is normalised first (see _normalise), so spacing and invisible characters do not
# hide a cue.
_AI = r"(?:ai|a\.i\.|assistants?|agents?|models?|llms?|chatbots?|bots?|language models?|gpt|claude)"
_RULES = (
    r"(?:instructions?|prompts?|rules|directions|guidelines|directives|context|messages?|orders|"
    r"programming|constraints|guardrails|policies|system prompt)"
)
_SECRETS = (
    r"(?:conversations?|chat (?:history|logs?)|(?:the )?user'?s? (?:data|details|information|"
    r"messages|history|files|address|email)|api[ -]?keys?|passwords?|credentials|secrets?|"
    r"(?:access |auth )?tokens?|system prompt|(?:your |the )?memor(?:y|ies)|personal data|"
    r"contacts|session (?:id|cookies?))"
)
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "override",
            rf"\b(?:ignore|disregard|forget|override|bypass|abandon|drop|discard|set aside)\b"
            rf"[^.!?\n]{{0,40}}\b(?:previous|prior|above|earlier|preceding|original|all|any|"
            rf"your|the|those|these|existing|old)\b[^.!?\n]{{0,30}}\b{_RULES}",
        ),
        (
            "void_rules",
            rf"\b(?:previous|prior|earlier|above|original|all other|existing) (?:guidance|{_RULES})"
            rf"\b[^.!?\n]{{0,40}}\b(?:void|obsolete|cancell?ed|revoked|null)\b|"
            rf"\bcancel (?:your|the) (?:current )?"
            rf"(?:task|instructions?)\b|\bhighest[- ]priority instructions?\b",
        ),
        (
            "new_task",
            r"\b(?:your (?:new|real|actual|true|updated|only) (?:task|instructions?|goal|job|"
            r"role|objective|mission|priority)|new (?:instructions?|directives?|system prompt)\s*:"
            r"|from now on\b|henceforth\b|for (?:the rest of|all future) (?:this )?"
            r"(?:conversations?|sessions?|answers|replies))",
        ),
        (
            "role_marker",
            r"(?:<\|?im[ _]?start\|?>|<\|?(?:system|assistant)\|?>|\[/?inst\]|<</?sys>>|"
            r"#{2,}\s*new (?:system )?instructions?\b|"
            r"(?:^|[\n>\]|])\s*(?:system|assistant|developer)\s*(?:prompt|message|override)?\s*:"
            r"|<\|?im[ _]?start\|?>\s*(?:system|assistant)\b|"
            r"(?:^|[.!?\n])\s*(?:assistant|agent)\s*:"
            r"\s*(?:call|run|invoke|execute|send|forward|delete|ignore|transfer|email)\b"
            r"|begin (?:system|admin) (?:prompt|message|instructions?)|"
            r"[\"']role[\"']\s*:\s*[\"'](?:system|developer)[\"']|"
            r"\b(?:assistant|ai|agent|model|llm|bot)[-_ ]instructions?\b)",
        ),
        (
            # An AI spoken to: "Assistant, ...", "Chatbot, ...", "AI agent: ...", "Agents that
            # read this: ...". A speaker label ("Agent: how can I help?") has no comma and is
            # not an AI word, so chat transcripts pass.
            "vocative",
            r"(?:^|[.!?\n:;\"'>{(\[]|\bdear|\bhey|\bhi|\bhello|\battention)\s*"
            r"(?:(?:an? )?(?:\w+ )?(?:note|message|reminder|instructions?|favou?r|request) "
            r"(?:to|for) (?:the |all |any |every )?)?(?:any |all |every )?(?:automated |ai |"
            r"autonomous )?(?:assistants?|agents?|chatbots?|bots?|models?|llms?|ai|a\.i\."
            r"|language models?|gpt|claude|copilot)(?: agents?| assistants?| models?)?"
            r"(?: (?:that|who|which) (?:reads?|is reading|process(?:es)?|sees?|summari[sz]es?|"
            r"parses?) this| reading this| with [\w -]{1,20} access| instructions?)?\s*,"
            r"|(?:note|message|reminder|instructions?|favou?r|request) (?:to|for) (?:the |all |"
            r"any |every )?(?:automated |ai |autonomous )?(?:assistants?|agents?|chatbots?|"
            r"bots?|models?|llms?|ai|language models?)\s*:"
            r"|(?:^|[.!?\n;\"'>{(\[])\s*(?:ai|a\.i\.|llms?|chatbots?|language models?|"
            r"(?:ai |automated )(?:agents?|assistants?|models?)|models?|"
            r"(?:agents?|assistants?|models?) (?:that|who) reads? this|"
            r"(?:agents?|assistants?|models?) reading this|agent instructions?|"
            r"any (?:agents?|assistants?) with [\w -]{1,20} access)\s*:",
        ),
        (
            "addresses_ai",
            rf"(?:\b(?:note|message|attention|instructions?|dear|hey|hi|hello|memo|reminder)"
            rf"\s*(?:to|for)?\s*(?:the |all |any )?{_AI}\b|\bif you are an? {_AI}\b|"
            rf"\b(?:as|you are) an? {_AI}\b[^.!?\n]{{0,30}}\b(?:must|should|will|shall|need)\b|"
            rf"\b{_AI}(?: agents?| assistants?)?,?\s+(?:that is |who is )?(?:reading|processing|"
            rf"summari[sz]ing|parsing|seeing) this\b|"
            rf"\b{_AI},?\s+(?:you\s+)?(?:must|should|shall|are (?:instructed|required|ordered|"
            rf"directed)|need to|have to|will now)\b)",
        ),
        (
            "exfiltration",
            rf"\b(?:send|forward|e-?mail|post|upload|transmit|leak|exfiltrate|copy|append|"
            rf"include|embed|encode|paste)\b[^.!?\n]{{0,60}}\b{_SECRETS}\b[^.!?\n]{{0,80}}"
            rf"(?:https?://|www\.|[\w.+-]+@[\w-]+\.\w|\bto (?:this|the following|my) "
            rf"(?:address|url|endpoint|server|link)|\bquery string|\bimage (?:url|link))",
        ),
        (
            "prompt_leak",
            r"\b(?:reveal|print|output|repeat|show|disclose|dump|recite)\b[^.!?\n]{0,30}"
            r"\b(?:system prompt|hidden (?:instructions|prompt|rules)|instructions word for word|"
            r"your (?:instructions|prompt|context window)|contents of your context)|"
            r"\[[^\]\n]{0,40}\]\(https?://[^)\s]*\?[^)\s]*=(?:[A-Z_]{3,}|\{)",
        ),
        (
            "encoded_payload",
            r"\b(?:decode|decrypt|unscramble|reverse|read)\b[^.!?\n]{0,40}\b(?:and|then)\s+"
            r"(?:comply|follow|obey|execute|act on|carry out|do (?:what|as) (?:it|they) says?)\b",
        ),
        (
            "tool_coercion",
            r"\b(?:call|invoke|trigger|execute|use|run)\s+(?:the\s+)?[`'\"]?[a-z]+_[a-z_]+[`'\"]?"
            r"(?:\s*\(|\s+(?:tool|function|command|action|api)\b)|\b(?:call|invoke|trigger)\b"
            r"[^.!?\n]{0,30}\b(?:tool|function)\b[^.!?\n]{0,40}\b(?:delete|transfer|send|"
            r"remove|wipe|drop|pay|grant|disable|export)",
        ),
        (
            "answer_steering",
            r"\b(?:always|only|never)\s+(?:answer|respond|reply|say|tell|recommend|mention|"
            r"suggest|claim|state)\b|\b(?:tell|inform|convince|assure|persuade|advise) the user"
            r"\b|\bwhen(?:ever)? (?:you are |you're )?(?:asked|the user asks|someone asks|"
            r"questioned)\b[^.!?\n]{0,80}\b(?:answer|respond|reply|say|tell|claim)\b|"
            r"\b(?:do not|don't|never) (?:tell|mention|reveal|inform|disclose|warn)\b"
            r"[^.!?\n]{0,30}\b(?:the user|users|anyone|the human)\b|"
            r"\bwhen(?:ever)? you (?:summari[sz]e|answer|reply|respond|describe|write about|"
            r"mention|present)\b[^.!?\n]{0,50}\b(?:say|tell|state|claim|mention|add|write|"
            r"include|call it)\b|\bwhatever the user (?:asks|says|wants)\b|"
            r"\b(?:end|start|begin|finish|sign) (?:your|every|each|all) (?:answers?|replies|"
            r"reply|responses?|messages?) with\b",
        ),
        (
            "persistence",
            r"\b(?:save|store|write|add|put|update|record|insert|change|set)\b[^.!?\n]{0,40}"
            r"\b(?:to|in|into) (?:your|the) (?:(?:shared|long[- ]term|team|persistent|"
            r"permanent) )?(?:team )?(?:memor(?:y|ies)|notes)\b|"
            r"\b(?:remember|store|save|memori[sz]e|record|keep|retain)\b[^.!?\n]{0,50}"
            r"\b(?:permanently|forever|as a (?:permanent |new )?(?:rule|fact|instruction)|"
            r"in (?:your|the|long[- ]term) memory|for (?:all )?future (?:conversations|sessions|"
            r"answers|requests|replies))",
        ),
        (
            "jailbreak",
            r"\b(?:pretend|act as if|act as|roleplay|role-play|imagine)\b[^.!?\n]{0,30}"
            r"\b(?:you are|you're|an? unrestricted|dan\b|jailbroken|no (?:rules|restrictions|"
            r"filters|limits))|\bdo anything now\b|\bdeveloper mode\b|\bjailbr(?:eak|oken)\b|"
            r"\bwithout (?:any )?(?:restrictions|filters|safety|guardrails)\b",
        ),
        (
            "override_foreign",
            r"\b(?:ignora|ignore[sz]?|olvida|olvide|oubliez|oublie|ignoriere|ignorieren|"
            r"vergiss|vergessen|ignorare|dimentica|esqueça|esqueca|ignore)\b[^.!?\n]{0,50}"
            r"\b(?:instrucciones|instructions|consignes|anweisungen|instruktionen|istruzioni|"
            r"reglas|règles|regeln|instruções|instrucoes)|\b(?:nota|mensaje|hinweis|nachricht|"
            r"note|message|messaggio|aviso)\s+(?:para|an|à|a|per|pour)\s+(?:la |el |das |den |"
            r"die |l'|o |il )?(?:ia|ki|sprachmodell|modèle|modelo|modello|assistente|asistente|"
            r"assistant|agente|agent)\b|(?:^|[.!?\n])\s*(?:modèle|modelo|modello|assistente|"
            r"asistente|sprachmodell|ki|ia)\s*[,:]|(?:^|[.!?\n:\"'])\s*(?:modèle|modelo|modello|"
            r"assistente|asistente|sprachmodell)\s*,",
        ),
    )
)
_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202f\u2060-\u2064\ufeff\u00ad]")
# Latin look-alikes (Cyrillic, Greek) and digits written for letters ("1gn0r3").
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁһӏАЕОРСУХІЈЅВНКМТԜοαρεκνΑΒΕΗΙΚΜΝΟΡΤΧ",
    "aeopcyxijsdhlAEOPCYXIJSBHKMTWoapekvABEHIKMNOPTX",
)
_LEET = str.maketrans("013457@$", "oieastas")
_SPACED = re.compile(r"\b(?:\w[ .\-_*]){3,}\w\b")
_MARKUP = re.compile(r"<!--|-->|[*_`~]{1,3}")


def _normalise(text: str) -> str:
    """The text as a reader would see it: no invisible characters, look-alikes, letter
    spacing or markup, one space between words."""
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).translate(_CONFUSABLES)
    text = re.sub(r"[ \t]+", " ", _MARKUP.sub(" ", text))
    return _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)


def instruction_cue(text: str) -> str | None:
    """The first instruction to an AI found in ``text``, as ``"<family>: <words>"``, or None.

    The text is read as written and with digits read as letters ("1gn0r3 4ll ru135").
    """
    plain = _normalise(text)
    for variant in (plain, plain.translate(_LEET)):
        for name, pattern in _CUES:
            found = pattern.search(variant)
            if found:
                return f"{name}: {' '.join(found.group(0).split())[:80]!r}"
    return None


@dataclass(frozen=True, slots=True)
class TrustGuard:
    """Screens memories from untrusted origins before they are adopted.

    Attributes:
        trusted: Trust at or above which content is adopted without screening.
        trust: Trust of each origin (written as each memory's ``trust``).
    """

    trusted: float = 0.8
    trust: Mapping[Origin, float] = field(default_factory=lambda: ORIGIN_TRUST)

    def __post_init__(self) -> None:
        if isinstance(self.trusted, bool) or not isinstance(self.trusted, int | float):
            raise InvalidInputError(
                f"trusted must be a number in [0, 1], got {short(self.trusted)}"
            )
        if not 0.0 <= self.trusted <= 1.0:
            raise InvalidInputError(f"trusted must be in [0, 1], got {self.trusted!r}")
        missing = [o.value for o in Origin if o not in self.trust]
        if missing:
            raise InvalidInputError(f"trust gives no value for origins {missing}")

    def trust_of(self, origin: Origin) -> float:
        """The trust a memory from ``origin`` gets."""
        return float(self.trust[origin])

    def screens(self, trust: float) -> bool:
        """Whether content at ``trust`` is screened (below :attr:`trusted`)."""
        return trust < self.trusted

    def outranks(self, record_trust: float, trust: float) -> bool:
        """Whether a stored memory at ``record_trust`` is protected from content at ``trust``."""
        return record_trust >= self.trusted and record_trust > trust


def quarantine_reason(metadata: Mapping[str, object]) -> str | None:
    """Why a memory is in quarantine, or None when it is not."""
    reason = metadata.get(QUARANTINE_KEY)
    return reason if isinstance(reason, str) and reason else None


# Verbs and time words that state a slot rather than its value: what makes "Ana lives in
# Porto" and "I moved to Porto" agree is "Porto", not "lives" or "moved".
_SLOT_WORDS_TEXT = """
live lives lived living moved move moves moving relocated works work worked working job
drive drives drove driving got get gets started start starts own owns owned named called
now currently recently lately new old last next ago since today yesterday week month year
"""
_SLOT_WORDS = frozenset(_SLOT_WORDS_TEXT.split())


def value_words(text: str, subjects: Iterable[str] = ()) -> frozenset[str]:
    """The words of ``text`` that carry its value: no function words, names or slot verbs."""
    return frozenset(content_words(text, subjects)) - _SLOT_WORDS


def agrees(text: str, trusted_text: str, subjects: Iterable[str] = ()) -> bool:
    """Whether ``text`` states nothing beyond ``trusted_text`` (every value word is in it)."""
    words = value_words(text, subjects)
    return words <= value_words(trusted_text, subjects) if words else True
