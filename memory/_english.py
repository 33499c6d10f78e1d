"""Light English text handling for rule-based extraction, with no model and no word lists
taken from any dataset: sentence splitting, small-talk detection, rewriting first and second
person into names, and spotting entities.

Everything here is a heuristic tuned for recall: when unsure, text is kept as it was.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache

__all__ = [
    "HYPOTHETICAL_PATTERN",
    "HYPOTHETICAL_WORDS",
    "RELATIVE_PATTERN",
    "RELATIVE_WORDS",
    "content_words",
    "hypothetical",
    "is_reaction",
    "is_small_talk",
    "keyword_entities",
    "proper_nouns",
    "relative_news",
    "rewrite_person",
    "split_sentences",
    "state_slots",
    "strip_interjections",
    "strip_vocatives",
    "word_set",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z']+", text))


# Modality: what is wished, planned or supposed states no fact. Generic English, never tuned
# to a data set; "'d" is "would" contracted ("I'd move there", "it'd be fun").
HYPOTHETICAL_PATTERN = (
    r"\b(if|would|['’]d|could|might|maybe|perhaps|thinking (?:about|of)|considering|"
    r"dream(?:s|ing)? of|wish(?:es)?|hope to|plan(?:s|ning)? to|someday|what if|imagine|"
    r"suppos(?:e|ing)|tempted to|wonder(?:ing)? (?:if|whether))\b"
)
HYPOTHETICAL_WORDS = (
    "if would d could might maybe perhaps thinking considering dream dreams dreaming wish "
    "wishes hope plan plans planning someday imagine suppose supposing tempted wonder wondering"
)
"""Words (as ``\\w+`` reads them) one of which every match of :data:`HYPOTHETICAL_PATTERN`
contains: a text with none of them is not searched."""
_HYPOTHETICAL = re.compile(HYPOTHETICAL_PATTERN, re.IGNORECASE)
_HYPOTHETICAL_TRIGGERS = frozenset(HYPOTHETICAL_WORDS.split())


@lru_cache(maxsize=1 << 14)
def word_set(text: str) -> frozenset[str]:
    """The lower-cased ``\\w+`` words of ``text``: what the cues look for before their
    patterns, and what the learned policy's word overlap counts. Memoised: a statement is
    read for every cue, and read again as a neighbour of later candidates."""
    return frozenset(_WORD.findall(text.lower()))


_WORD = re.compile(r"\w+")


def hypothetical(said: str, words: frozenset[str] | None = None) -> bool:
    """True when ``said`` wishes, plans or supposes ("if", "would", "I'd", "plan to"...).

    ``words``: the lower-cased ``\\w+`` words of ``said``, when the caller has them already
    (the policies do).
    """
    if words is None:
        words = word_set(said)
    if _HYPOTHETICAL_TRIGGERS.isdisjoint(words):
        return False
    return _HYPOTHETICAL.search(said) is not None


# "My sister moved to Oslo", "big news from my neighbour: they bought a Golf": a relative's
# news, when nothing else is said in the first person ("my sister and I moved" is not).
RELATIVE_PATTERN = (
    r"\bmy (?:sister|brother|cousin|neighbou?r|colleague|co-?worker|friends?|best friend|aunt|"
    r"uncle|mom|mum|mother|dad|father|parents|son|daughter|kids?)\b"
)
RELATIVE_WORDS = (
    "sister brother cousin neighbour neighbor colleague coworker co worker friend friends best "
    "aunt uncle mom mum mother dad father parents son daughter kid kids"
)
"""Words one of which every match of :data:`RELATIVE_PATTERN` contains."""
_RELATIVE = re.compile(RELATIVE_PATTERN, re.IGNORECASE)
_RELATIVE_TRIGGERS = frozenset(RELATIVE_WORDS.split())
_SELF = frozenset(("i", "me", "mine", "we", "us", "our"))


def relative_news(said: str, words: frozenset[str] | None = None) -> bool:
    """True when ``said`` (as spoken, in the first person) is a relative's or a friend's news
    and says nothing else in the first person: it sets none of the speaker's facts.

    ``words``: the lower-cased ``\\w+`` words of ``said``, when the caller has them already
    (the learned policy's features do); "I'm" counts as "i".
    """
    if words is None:
        words = word_set(said)
    if _RELATIVE_TRIGGERS.isdisjoint(words) or not _SELF.isdisjoint(words):
        return False
    return _RELATIVE.search(said) is not None


# Function words. Apostrophe pieces ("s", "m", "t", "ll") appear because text is split on
# apostrophes before lookup.
FUNCTION_WORDS = _words(
    """a an the and or but nor so yet if then than as at by for from in into of off on onto
    out over to up down with without about above after again against all any both each few
    more most other some such no not only own same too very just also even still here there
    when where why how what which who whom whose this that these those i me my mine myself we
    us our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves am is are was were be been being
    have has had having do does did doing done will would shall should can could may might
    must ought s m t d ll re ve don didn doesn isn aren wasn weren hasn haven hadn won wouldn
    shan shouldn cannot couldn mustn let lets gonna wanna gotta kinda sorta really quite
    pretty much many lot lots bit thing things stuff something anything everything nothing
    one ones way ever never always often now then already once yeah yes yep yup nope ok okay
    oh ah um uh hmm well like sure though although because cause while since until till""".replace(
        "\n", " "
    )
)
# Verbs too general to be a fact on their own, though a sentence with them is not small talk.
GENERIC_VERBS = _words(
    """get got getting go going gone went come came say said tell told know knew think
    thought feel felt see saw seen look looking make made take took give gave want need""".replace(
        "\n", " "
    )
)
STOPWORDS = FUNCTION_WORDS | GENERIC_VERBS

# Words that carry no fact on their own: greetings, thanks, laughter, reactions, goodbyes.
SMALL_TALK = _words(
    """hi hey hello hiya heya yo howdy greetings morning evening afternoon night thanks thank
    thx ty appreciate appreciated appreciating grateful welcome haha hahaha hahahaha lol lmao
    rofl hehe heh wow whoa woah omg gosh aw aww awww ooh oooh yay yayy woo woohoo hooray cool
    awesome great nice good glad sorry fine fantastic amazing wonderful incredible super
    terrific brilliant excellent neat totally absolutely definitely indeed right true agree
    agreed exactly same bye goodbye cya later care catch chat talk soon meantime hear heard
    sounds sound congrats congratulations cheers luck best wishes wish miss missed happy hope
    hoping doing been lately up new news whats long time see seeing again guys man dude
    buddy pal fun fave know think feel mean guess bet""".replace("\n", " ")
)
_SMALL_TALK_PHRASES = re.compile(
    r"\b(?:thanks\s+a\s+(?:bunch|lot|million|ton)|take\s+care|see\s+you(?:\s+(?:soon|later|around))?|talk\s+(?:to\s+you\s+)?"
    r"(?:soon|later)|catch\s+you\s+later|(?:good|nice|great)\s+to\s+(?:see|hear\s+from|"
    r"meet|talk\s+to)\s+you|how(?:'s|\s+is)\s+it\s+going|what's\s+up|how\s+are\s+you|"
    r"how\s+have\s+you\s+been|long\s+time\s+no\s+see|thank\s+you(?:\s+so\s+much)?|"
    r"have\s+a\s+(?:good|great|nice)\s+(?:one|day|night|time|weekend))\b",
    re.I,
)

# A sentence that starts with one of these leans on the one before it.
_DEPENDENT_STARTS = _words(
    """it it's its this that that's these those they they're them he she his her so and but
    also plus which there here too though especially because cause 'cause even as""".replace(
        "\n", " "
    )
)

_ABBREVIATIONS = frozenset(
    re.findall(r"\S+", "mr mrs ms dr st jr sr vs etc e.g i.e a.m p.m u.s no approx prof mt ft")
)

_ADVERBS = _words(
    """really also just always never still actually totally usually often sometimes
    definitely absolutely kinda sorta truly honestly only even already mostly generally
    personally seriously literally finally recently probably now all both ever def so too
    first then sometimes currently""".replace("\n", " ")
)

# Base forms that take an -s after a third-person subject. A verb missing from the list is
# left as written, which reads slightly off but never invents a word.
BASE_VERBS = _words(
    """accept achieve act add admire adopt adore appear apply arrange attempt avoid bet
    borrow care cherish combine consider continue cover crave dare deal describe dig
    donate earn edit enter expect explain feed fill finish fit fly gain gather happen
    hang head hunt identify ignore improve include involve jog knit laugh lend lift
    mix notice pass perform pet photograph pour print produce protect provide publish
    reflect remind repair research rest return review sew sketch smile solve sort spread
    stretch suggest suppose taste test thrive tour trust turn vote wander wash wrap yell
    act add admire adore agree aim allow appreciate ask attend bake believe belong
    blog bring build buy call care carry celebrate change chat check choose clean climb
    coach collect come compete cook count craft create dance decide deserve design develop
    die dislike do draw dream drink drive eat embrace encourage enjoy explore face fear feel
    fight find fish fix focus follow forget garden get give go grow guess hate have hear
    help hike hold hope host imagine inspire intend join keep kick know lead learn leave
    like listen live look love make manage matter mean meet mentor mind miss move need
    offer open organize organise own paint perform pick plan play practice practise pray
    prefer prepare promise pursue raise reach realize realise recommend relax remember rent
    ride rock run sail save say see seem sell send serve share shop show sing skate ski
    sleep speak spend stand start stay stop struggle study support surf swim take talk
    teach tend thank think train travel treasure try understand use value visit volunteer
    wait wake walk want watch wear win wish wonder work worry write""".replace("\n", " ")
)
# Past forms that must not take an -s ("I went" -> "Jon went", never "Jon wents").
_IRREGULAR_PAST = _words(
    """ate became began bent bet bit bled blew broke brought built burnt bought caught
    chose clung came cost crept cut dealt did dug drew dreamt drank drove fed felt fought
    found fled flew forbade forgot forgave froze got gave went ground grew hung had heard
    hid hit held hurt kept knelt knew laid led leant learnt left lent let lay lit lost made
    meant met paid put quit read rode rang rose ran said saw sought sold sent set shook
    shone shot showed shut sang sank sat slept slid spoke sped spent spun spread stood stole
    stuck stung struck swore swept swam swung took taught tore told thought threw
    understood woke wore won wound wrote""".replace("\n", " ")
)
_PARTICIPLES = _words(
    """been gone done seen had made taken given known grown begun become come run written
    driven ridden eaten fallen forgotten gotten got heard kept left lost met paid put read
    said sent spent told thought bought brought caught taught found felt won""".replace("\n", " ")
)
# Subject-verb agreement after "I"/"you" becomes "Name": "I am" -> "Name is".
_AGREE = {
    "am": "is",
    "are": "is",
    "were": "was",
    "have": "has",
    "do": "does",
    "don't": "doesn't",
    "haven't": "hasn't",
    "aren't": "isn't",
    "weren't": "wasn't",
    "wanna": "wants to",
}
# Question order: "are you" -> "is Name".
_INVERT = {k: v for k, v in _AGREE.items() if k != "wanna"}
# After these the pronoun is not the subject of a finite verb: leave the next verb alone.
# Auxiliaries, prepositions and verbs that take an object followed by a bare verb
# ("lets you move", "see you dance").
_NO_AGREE_BEFORE = _words(
    """did didn't does doesn't can can't could couldn't will won't would wouldn't should
    shouldn't shall may might must was wasn't is isn't had hadn't to let lets letting make
    makes making made help helps helping helped see sees seeing saw watch watches watching
    watched hear hears heard want wants need needs tell tells told ask asks asked remind
    reminds reminded give gives gave show shows showed thank thanks get gets got like love
    than for with about at from of by on in into and or nor""".replace("\n", " ")
)
_FAMILY = re.compile(
    r"\b(?:kids?|children|child|son|sons|daughters?|husband|wife|family|mom|mum|dad|"
    r"parents?|partner|brother|sister|siblings?|grandkids?|hubby)\b",
    re.I,
)
_JOINT = re.compile(
    r"\b(?:let's|lets|we\s+(?:should|could)|shall\s+we|"
    r"you\s+and\s+(?:i|me)|(?:i|me)\s+and\s+you|the\s+two\s+of\s+us)\b",
    re.I,
)
_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|[^A-Za-z]+")
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s|$)|\n+")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences at ``. ! ? …`` and line breaks, sparing abbreviations."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].split()
        last = before[-1].lower().rstrip(".") if before else ""
        if match[0].startswith(".") and (
            last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())
        ):
            continue
        piece = text[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@lru_cache(maxsize=256)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Case-sensitive pattern for the names and their short forms ("Mel" for "Melanie")."""
    variants: set[str] = set()
    for name in names:
        variants.add(name)
        for token in name.split():
            variants.add(token)
            # Nicknames are usually a prefix of the name; three letters at least.
            variants.update(token[:n] for n in range(3, len(token)))
    variants.discard("")
    if not variants:
        return None
    alternation = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})\b")


def _without_names(text: str, names: Iterable[str]) -> str:
    pattern = _names_pattern(tuple(names))
    return pattern.sub(" ", text) if pattern else text


def content_words(text: str, names: Iterable[str] = ()) -> list[str]:
    """Lower-case words of ``text`` that are neither function words, small talk nor names."""
    return [
        w
        for w in _tokens(_without_names(text, names))
        if w not in STOPWORDS and w not in SMALL_TALK
    ]


def is_small_talk(sentence: str, names: Iterable[str] = ()) -> bool:
    """True when every word is a greeting, thanks, reaction, function word or a name.

    Generic verbs count as content here: "I went there!" is kept, "Good to see you!" is not.
    """
    rest = _SMALL_TALK_PHRASES.sub(" ", _without_names(sentence, names))
    return all(w in FUNCTION_WORDS or w in SMALL_TALK for w in _tokens(rest))


# Generic praise that says how something seems, not what happened.
_EVALUATIVE = _words(
    """gorgeous stunning beautiful lovely cute sweet adorable inspiring inspirational
    breathtaking impressive incredible touching moving powerful rewarding special cool
    fun lively real serious huge big blast vibe vibes beauty beautifully proud awesome
    great amazing nice wonderful fantastic perfect epic rad sick dope stoked thrilled
    excited exciting impressed kind bright brave strong talented love loving loved
    like""".replace("\n", " ")
)
# How a reaction to the other speaker's news or photo usually opens.
_REACTION_OPENERS = re.compile(
    r"^(?:that|that's|thats|this|this's|it|it's|its|those|these|what\s+an?|such\s+an?|"
    r"looks?|sounds?|seems?|must(?:'ve)?|love|loving|loved|glad|so\s+glad|so\s+proud|"
    r"proud|keep\s+it\s+up|good\s+for|lucky|congrats|congratulations|wishing|enjoy|"
    r"have\s+(?:a|fun)|hope\s+you|can't\s+wait|cannot\s+wait)\b",
    re.I,
)
_FIRST_PERSON_WORDS = frozenset(
    {
        "i",
        "i'm",
        "i've",
        "i'll",
        "i'd",
        "me",
        "my",
        "mine",
        "myself",
        "we",
        "we're",
        "we've",
        "we'll",
        "we'd",
        "us",
        "our",
        "ours",
    }
)


def is_reaction(sentence: str, names: Iterable[str] = ()) -> bool:
    """True for a reaction to someone else's news: "That bowl is awesome!", "Looks fun!".

    It opens like a reaction, says nothing about the speaker (no "I", "we"), names no one
    and nothing dated or counted, and has at most two content words besides praise.
    """
    text = strip_interjections(sentence.strip())
    if text.endswith("?") or not _REACTION_OPENERS.match(text):
        return False  # "Love the necklace, any special meaning to it?" asks for a fact
    words = re.findall(r"[a-z']+", text.lower())
    if any(w in _FIRST_PERSON_WORDS for w in words) or any(c.isdigit() for c in text):
        return False
    # A capitalised word after the first is a name or a title: keep the sentence.
    rest = _without_names(text, names)
    if re.search(r"(?<!^)\b[A-Z][a-z]", rest.strip()):
        return False
    if not any(w in _EVALUATIVE or w in SMALL_TALK for w in words):
        return False  # "These are for running." answers, it does not react
    content = [w for w in content_words(text, names) if w not in _EVALUATIVE]
    return len(content) <= 2


# Facts that a newer statement replaces: where someone lives, works, studies, what they drive,
# their pet and partner, their favourites. Each slot is a verb or noun that must follow its
# subject closely ("I moved to", "my new job", "Ana works at"), so "nice job!" or "put in the
# work" are not facts about anyone's job.
_SLOT_TERMS: dict[str, str] = {
    "residence": r"(?:(?:live[sd]?|living)\s+(?:in|at|near|with|on|by)|"
    r"mov(?:e[sd]?|ing)\s+(?:to|from|into|in|back|away|out|here|there|abroad|house)|"
    r"relocat\w*|(?:home|house|apartment|flat)\s+(?:is\s+)?in)\b",
    "job": r"(?:works?|working|worked)\s+(?:as|at|for|in)\b|(?:job|career|employer|boss)\b|"
    r"(?:got\s+)?(?:hired|promoted|fired|laid\s+off)",
    # "drives me mad" is a mood, not a car.
    "car": r"(?:car|truck|motorbike|(?:drives?|driving)(?!\s+\w+\s+(?:mad|crazy|nuts|insane)))\b",
    "pet": r"(?:pet|dog|cat|puppy|kitten|hamster|parrot)s?\b",
    "partner": r"(?:partner|boyfriend|girlfriend|husband|wife|fianc[ée]e?)\b|"
    r"(?:married|dating|engaged|divorced)\b",
    "study": r"(?:stud(?:y|ies|ying)|major(?:ing)?\s+in|enrolled)\b|"
    r"(?:school|college|university|degree)\b",
    "favourite": r"favou?rite\b",
}
# Up to five words between subject and slot: "I have recently moved", "Ana no longer has
# the red car".
_GAP = r"(?:\s+[\w'-]+){0,5}?\s+"


@lru_cache(maxsize=256)
def _slot_patterns(subjects: tuple[str, ...]) -> dict[str, re.Pattern[str]]:
    names = [re.escape(s) for s in subjects if s]
    subject = "|".join([r"I", r"I'm", r"I've", r"we", r"we're", r"we've", r"my", r"our", *names])
    return {
        slot: re.compile(rf"\b(?:{subject})(?:'s)?{_GAP}(?:{terms})", re.I)
        for slot, terms in _SLOT_TERMS.items()
    }


def state_slots(text: str, subjects: Iterable[str] = ()) -> frozenset[str]:
    """Slots ("residence", "job", ...) that ``text`` states for its subject.

    The subject is "I"/"we"/"my"/"our" or one of ``subjects`` (names), so the same test
    works before and after first person is rewritten into names.
    """
    patterns = _slot_patterns(tuple(sorted(set(subjects))))
    return frozenset(slot for slot, pattern in patterns.items() if pattern.search(text))


def is_dependent(sentence: str) -> bool:
    """True when a sentence leans on the previous one ("It was great.", "So fun!")."""
    words = re.findall(r"[a-z']+", sentence.lower())
    return bool(words) and words[0] in _DEPENDENT_STARTS


_INTERJECTION = (
    r"(?:oh\s+)?(?:wo+w|whoa|woah|yeah|yes|yep|yup|oh|ah|aw+|ha(?:ha)+|lol|omg|hey|hi|hello|ok|okay|"
    r"well|um+|uh+|hmm+|ooh+|yay|sure|cool|great|awesome|nice|thanks|thank\s+you|totally|"
    r"absolutely|definitely|right|true|gosh|man|dude|honestly|haha|hehe)"
)


def strip_interjections(sentence: str, names: Sequence[str] = ()) -> str:
    """Remove leading "Wow, ", "Hey Jon! ", "Yeah, " and the like; keep the rest verbatim."""
    names_re = _names_pattern(tuple(names))
    name_part = rf"(?:\s+{names_re.pattern})?" if names_re else ""
    pattern = re.compile(rf"^(?:(?i:{_INTERJECTION}){name_part}\s*[,!.…\-]+\s*)+")
    stripped = pattern.sub("", sentence).strip()
    if not stripped:
        return sentence
    return stripped[0].upper() + stripped[1:]


def strip_vocatives(sentence: str, addressees: Sequence[str]) -> str:
    """Remove a name used to address someone: "That's cool, Jon!" -> "That's cool!"."""
    names_re = _names_pattern(tuple(addressees))
    if names_re is None:
        return sentence
    sentence = re.sub(rf",\s*{names_re.pattern}\s*,\s*", " ", sentence)
    sentence = re.sub(rf",\s*{names_re.pattern}(?=\s*[!?.;]|\s*$)", "", sentence)
    return re.sub(rf"^{names_re.pattern},\s*(\w)", lambda m: m[1].upper(), sentence)


_NOT_BEFORE_INVERSION = _words(
    """to will would can could should might must may shall i you we they he she it not
    never also just""".replace("\n", " ")
)
_OBJECT_PRONOUNS = _words("me you him her us them my your his our their")
_PLURAL_YOU = frozenset({"all", "both", "guys", "two", "folks"})


def _looks_like_base_verb(word: str) -> bool:
    # After "I" the next word is a verb; only its past forms must stay as they are.
    return (
        len(word) > 1
        and word.isalpha()
        and word not in FUNCTION_WORDS
        and word not in _IRREGULAR_PAST
        and word not in _PARTICIPLES
        and not word.endswith(("ed", "ing"))
    )


def _third_person(verb: str) -> str:
    lower = verb.lower()
    if lower in ("have", "do", "go", "be"):
        return {"have": "has", "do": "does", "go": "goes", "be": "is"}[lower]
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(lower) > 2 and lower.endswith("y") and lower[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _match_case(original: str, replacement: str) -> str:
    if original[:1].isupper() and replacement[:1].islower():
        return replacement[0].upper() + replacement[1:]
    return replacement


def rewrite_person(
    text: str, speaker: str, addressee: str | None = None, *, group: str | None = None
) -> str:
    """Rewrite first person as ``speaker`` and second person as ``addressee``.

    "I'm starting my own business" said by Jon -> "Jon is starting Jon's own business".
    Verbs after a rewritten subject agree with it where the verb is a known one.

    Args:
        text: The sentence as said.
        speaker: Who said it.
        addressee: Who "you" is; ``None`` leaves second person untouched.
        group: What "we" becomes; by default "<speaker> and <addressee>" when the sentence
            is about both of them ("let's", "together"), "<speaker> and family" when it
            mentions relatives, otherwise "<speaker> and others".
    """
    if group is None:
        if addressee and _JOINT.search(text):
            group = f"{speaker} and {addressee}"
        elif _FAMILY.search(text):
            group = f"{speaker} and family"
        else:
            group = f"{speaker} and others"
    joint_owner = f"{speaker} and {addressee}" if group == f"{speaker} and {addressee}" else speaker
    tokens = _TOKEN.findall(text)
    word_at = [i for i, token in enumerate(tokens) if token[0].isalpha()]
    words = [tokens[i] for i in word_at]
    out = list(words)

    def person(j: int, name: str, *, certain_subject: bool) -> None:
        # "am I" / "are you": the verb before is the subject's.
        before = words[j - 1].lower() if j else ""
        earlier = words[j - 2].lower() if j > 1 else ""
        # "to have you" is not a question; "have you" after a modal or subject is not either.
        if before in _INVERT and earlier not in _NOT_BEFORE_INVERSION:
            out[j - 1] = _match_case(words[j - 1], _INVERT[before])
            out[j] = name
            return
        out[j] = name
        if before in ("and", "or", "nor"):
            # "Gina and I love" is a plural subject; ", and I want" starts a new clause.
            owner = words[j - 3].lower() if j > 2 else ""
            if j > 1 and (
                words[j - 2][0].isupper()
                or earlier in _OBJECT_PRONOUNS
                or owner in _OBJECT_PRONOUNS
            ):
                return
        elif before in _NO_AGREE_BEFORE:
            return
        k = j + 1
        while k < len(words) and (words[k].lower() in _ADVERBS or words[k].lower().endswith("ly")):
            k += 1
        if k < len(words):
            verb = words[k].lower()
            if verb in _AGREE:
                out[k] = _AGREE[verb]
            elif words[k].islower() and (
                verb in BASE_VERBS or (certain_subject and _looks_like_base_verb(verb))
            ):
                out[k] = _third_person(words[k])

    def would_or_had(j: int) -> str:
        following = words[j + 1].lower() if j + 1 < len(words) else ""
        return "had" if following in _PARTICIPLES or following.endswith("ed") else "would"

    for j, word in enumerate(words):
        lower = word.lower()
        if lower == "i":
            person(j, speaker, certain_subject=True)
        elif lower in ("me", "myself"):
            out[j] = speaker
        elif lower in ("my", "mine"):
            out[j] = f"{speaker}'s"
        elif lower in ("i'm", "i've", "i'll", "i'd"):
            verb = {"m": "is", "ve": "has", "ll": "will"}.get(lower[2:]) or would_or_had(j)
            out[j] = f"{speaker} {verb}"
        elif lower in ("we", "us", "ourselves"):
            out[j] = group
        elif lower in ("our", "ours"):
            out[j] = f"{joint_owner}'s"
        elif lower in ("we're", "we've", "we'll", "we'd"):
            verb = {"re": "are", "ve": "have", "ll": "will"}.get(lower[3:]) or would_or_had(j)
            out[j] = f"{group} {verb}"
        elif lower in ("let's", "lets") and (j == 0 or lower == "let's"):
            out[j] = f"{group} should"
        elif addressee is None:
            continue
        elif lower == "you" and j + 1 < len(words) and words[j + 1].lower() in _PLURAL_YOU:
            out[j] = f"{addressee} and others"
        elif lower == "you":
            person(j, addressee, certain_subject=False)
        elif lower == "yourself":
            out[j] = addressee
        elif lower in ("your", "yours"):
            out[j] = f"{addressee}'s"
        elif lower in ("you're", "you've", "you'll", "you'd"):
            verb = {"re": "is", "ve": "has", "ll": "will"}.get(lower[4:]) or would_or_had(j)
            out[j] = f"{addressee} {verb}"
    for position, replacement in zip(word_at, out, strict=True):
        tokens[position] = replacement
    rewritten = "".join(tokens)
    return rewritten[0].upper() + rewritten[1:] if rewritten else rewritten


# ---------------------------------------------------------------------------------------
# Entities
# ---------------------------------------------------------------------------------------

# Capitalised words, joined by the lower-case particles that occur inside names.
_CAPITALISED = re.compile(
    r"\b(?:(?:Mr|Mrs|Ms|Dr|St|Mt|Prof)\.\s+)?"
    r"[A-Z](?:[A-Za-z0-9'&\-]|\.(?=[A-Za-z]))*(?:(?:\s+(?:of|the|de|du|da|la|le|van|von|&))*"
    r"\s+[A-Z](?:[A-Za-z0-9'&\-]|\.(?=[A-Za-z]))*)*"
)
# Words that come before a name without being part of it ("Hey Gina", "Thanks Jon").
_BEFORE_NAMES = _words(
    """hey hi hello hiya thanks thank wow yeah yes oh congrats congratulations dear sorry
    bye welcome ok okay well cool awesome great nice lol haha omg""".replace("\n", " ")
)
_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'll", "i'd"})
_CALENDAR = _words(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday mon tue tues wed thu thur thurs fri sat sun""".replace("\n", " ")
)
_OWN_ADJECTIVES = _words(
    """own new old first last favorite favourite fave best little big whole dear sweet
    beloved current next other""".replace("\n", " ")
)
_TIME_WORDS = _words(
    """last next this today tonight yesterday tomorrow week weekend month year morning night
    evening afternoon ago before after""".replace("\n", " ")
)
_POSSESSIVE = re.compile(r"\b(?:my|your|our|his|her|their)\s+", re.I)
_LOWER_WORD = re.compile(r"[a-z][a-z\-]*")


def _clean_entity(text: str) -> str:
    text = re.sub(r"'s$|'$", "", text.strip(" .,'&-"))
    return text.strip(" .,'&-")


def _sentence_starts(text: str) -> set[int]:
    starts = {0}
    for match in re.finditer(r"[.!?…:;\"(]\s*|\n", text):
        starts.add(match.end())
    first = re.match(r"\s*", text)
    if first:
        starts.add(first.end())
    return starts


def _common(word: str) -> bool:
    lower = _clean_entity(word).lower()
    return lower in STOPWORDS or lower in SMALL_TALK or lower in _FIRST_PERSON


def proper_nouns(text: str, known_proper: Collection[str] = ()) -> list[str]:
    """Capitalised names in ``text``: people, places, organisations, titles.

    A single capitalised word at the start of a sentence is kept only when it is in
    ``known_proper`` (words seen capitalised mid-sentence elsewhere), because "Dance is fun"
    and "Paris is fun" look the same.
    """
    starts = _sentence_starts(text)
    known = {w.lower() for w in known_proper}
    found: list[str] = []
    for match in _CAPITALISED.finditer(text):
        parts = [(match.start() + m.start(), m[0]) for m in re.finditer(r"\S+", match[0])]
        # Peel sentence-initial common words ("Hey Gina" -> "Gina") and a trailing "I".
        while len(parts) > 1 and (
            _clean_entity(parts[0][1]).lower() in FUNCTION_WORDS | _BEFORE_NAMES | _FIRST_PERSON
            or parts[0][1][0].islower()
        ):
            parts = parts[1:]
        while parts and _clean_entity(parts[-1][1]).lower() in _FIRST_PERSON:
            parts = parts[:-1]
        if not parts:
            continue
        offset = parts[0][0]
        entity = _clean_entity(" ".join(word for _, word in parts))
        lower = entity.lower()
        if not entity or any(w in _CALENDAR for w in lower.split()):
            continue
        single = len(parts) == 1
        if single and _common(entity):
            continue
        if single and offset in starts and lower not in known:
            continue
        found.append(entity)
    return found


def mid_sentence_capitalised(texts: Iterable[str]) -> set[str]:
    """Lower-cased words that appear capitalised away from a sentence start."""
    seen: set[str] = set()
    for text in texts:
        starts = _sentence_starts(text)
        for match in re.finditer(r"\b[A-Z][a-zA-Z\-]+", text):
            if match.start() not in starts:
                seen.add(match[0].lower())
    return seen - STOPWORDS - _CALENDAR


def _verb_like(word: str) -> bool:
    # A second word that may be the verb of the clause ("my store looks") ends the phrase.
    stem = word[:-2] if word.endswith("es") else word[:-1] if word.endswith("s") else word
    return (
        word in BASE_VERBS
        or word in _IRREGULAR_PAST
        or stem in BASE_VERBS
        or word.endswith(("ed", "ing"))
        or (word.endswith("s") and not word.endswith("ss"))
    )


def keyword_entities(text: str) -> list[str]:
    """Lower-case noun phrases after a possessive: "my kids" -> "kids".

    Up to two plain words are kept ("my clothing store" -> "clothing store"), stopping at
    function words and dates; without a tagger a following verb sometimes slips in.
    """
    found: list[str] = []
    for match in _POSSESSIVE.finditer(text):
        phrase: list[str] = []
        for token in text[match.end() : match.end() + 60].split()[:3]:
            word = token.strip(".,!?;:\"()'-")
            if not _LOWER_WORD.fullmatch(word):
                break
            lower = word.lower()
            if not phrase and lower in _OWN_ADJECTIVES:
                continue
            if lower in STOPWORDS or lower in _CALENDAR or lower in _TIME_WORDS or len(word) < 3:
                break
            if phrase and _verb_like(lower):
                break
            phrase.append(word.strip("-"))
            if len(phrase) == 2 or word != token:  # punctuation ends the phrase
                break
        if phrase:
            found.append(" ".join(phrase))
    return found
