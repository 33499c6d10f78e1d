"""Synthetic knowledge-update conversations in the LoCoMo layout, for training and evaluation.

People chat over dated sessions. Each has stable facts (home town, a sibling, a favourite
dish) and changing slots (city, employer, car, pet, partner, hobby) whose value changes one to
three times. Filler, facts about other people ("My sister moved to Oslo"), hypotheticals
("If I ever moved to Rome...") and denials ("I never worked at Acme") are mixed in; they never
change anyone's true facts. Nor do mentions (with ``mentions`` > 0), where a value that holds
comes up again ("Took my corgi to the vet"): in real chat most statements about a job or a
pet are of that kind, and training counts ADD as the right decision for one (the event is
new, the value is not), not UPDATE. Questions come in six categories:
``current``, ``previous``, ``when``, ``stable``, ``distractor`` (the true current value
despite a distractor, which is given as ``adversarial_answer``) and ``mention`` (what a
mention said, answered by its value).

Phrasing: every statement, chat question and evaluation question kind has templates in each
of four disjoint sets, ``"train"``, ``"heldout"``, ``"heldout2"`` and ``"heldout3"`` (at least
three per kind in each); ``"train-wide"`` is ``train`` with more wordings of each state
statement, for the slot tagger (:data:`TRAINING_PHRASINGS`). A policy trained on ``train``
conversations is evaluated on held-out ones from another seed, so it never sees the
evaluation wordings. ``heldout2`` was written after ``heldout``'s misses had been studied;
its seed's misses were later read too (``benchmarks/README.md``). The fresh seeds
(:data:`FRESH_SEEDS`) are only ever scored, but those of the first two families share the
wordings whose misses were read; ``heldout3`` was written after that, and its seeds are the
unbiased measure. Value pools (cities, employers, names...) are shared: the held-out sets
test wording, not vocabulary. Everything is drawn from ``random.Random(seed)``.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from memory._conversation import Conversation, Question, Session, Turn
from memory._extraction import RuleExtractor
from memory._locomo import write_locomo
from memory._temporal import MONTH_NAMES
from memory.errors import InvalidInputError

__all__ = [
    "FRESH_SEEDS",
    "HELDOUT2_SEED",
    "HELDOUT_SEEDS",
    "PHRASINGS",
    "RESERVED_SEEDS",
    "SLOT_HELDOUT_SEEDS",
    "SLOT_VALIDATION_SEED",
    "TRAINING_EXTRACTOR",
    "TRAINING_PHRASINGS",
    "VALIDATION_SEED",
    "SyntheticSample",
    "SyntheticStatement",
    "check_training_seed",
    "synthetic_conversation",
    "synthetic_conversations",
    "synthetic_sample",
    "synthetic_samples",
    "templates",
    "write_synthetic",
]

TRAINING_EXTRACTOR = RuleExtractor(drop_reactions=True)
"""How the training recipes (``colony policy train``, ``colony policy slots``) extract their
conversations: as the shipped models were trained, with LoCoMo's reactions dropped. The
memory keeps reactions since 2026-12-06; retrained on them, the slot tagger came out no
better and the policy worse (``benchmarks/README.md``), so the recipes and the shipped
models stay as they were. Synthetic conversations hold no reactions either way."""

Phrasing = Literal["train", "train-wide", "heldout", "heldout2", "heldout3"]
PHRASINGS: tuple[str, ...] = ("train", "train-wide", "heldout", "heldout2", "heldout3")
TRAINING_PHRASINGS = frozenset(("train", "train-wide"))
"""The phrasings training may read; the held-out ones share no template with either."""
StatementKind = Literal[
    "initial",
    "change",
    "mention",
    "stable",
    "hypothetical",
    "denial",
    "other",
    "prompt",
    "filler",
]
DISTRACTOR_KINDS = frozenset({"hypothetical", "denial", "other"})

# Seeds of the held-out sets, one per held-out phrasing: the slot tagger's validation and the
# policies'. Training refuses all of them (:func:`check_training_seed`): a seed draws the same
# people and facts in every phrasing, so training on one would leak its held-out set's facts.
SLOT_HELDOUT_SEEDS = {"heldout": 80_001, "heldout2": 80_002, "heldout3": 80_003}
HELDOUT_SEEDS = {"heldout": 90_001, "heldout2": 90_002, "heldout3": 90_005}
# Seeds of fresh held-out sets (90003 in `heldout`, 90004 in `heldout2`, 90006 in `heldout3`),
# drawn on 2026-12-06 after 90001's and 90002's misses had both been read: only scored, never
# read for misses. 90007-90010 (`heldout3`) were drawn on 2026-12-07 to score the never-read
# family on more conversations; 90007's previous-value misses have since been read.
FRESH_SEEDS = frozenset({90_003, 90_004, 90_006, 90_007, 90_008, 90_009, 90_010})
SLOT_VALIDATION_SEED = SLOT_HELDOUT_SEEDS["heldout"]
VALIDATION_SEED = HELDOUT_SEEDS["heldout"]
HELDOUT2_SEED = HELDOUT_SEEDS["heldout2"]
RESERVED_SEEDS = frozenset((*SLOT_HELDOUT_SEEDS.values(), *HELDOUT_SEEDS.values(), *FRESH_SEEDS))

SLOTS = ("residence", "job", "car", "pet", "partner", "hobby")
STABLE = ("hometown", "sibling", "food")
_NOUNS = {
    "residence": "city of residence",
    "job": "employer",
    "car": "car",
    "pet": "pet",
    "partner": "partner",
    "hobby": "hobby",
}
_TOPICS = {
    "residence": "home",
    "job": "work",
    "car": "car",
    "pet": "pets",
    "partner": "love life",
    "hobby": "free time",
}
# (base, past, participle) of the act that would set a slot, for distractors.
_ACTS = {
    "residence": ("move to {v}", "moved to {v}", "moved to {v}"),
    "job": ("take a job at {v}", "took a job at {v}", "taken a job at {v}"),
    "car": ("buy {v}", "bought {v}", "bought {v}"),
    "pet": ("adopt {v}", "adopted {v}", "adopted {v}"),
    "partner": ("go out with {v}", "went out with {v}", "gone out with {v}"),
    "hobby": ("take up {v}", "took up {v}", "taken up {v}"),
}


def _pool(text: str, sep: str = " ") -> tuple[str, ...]:
    """Items of a literal list: ``sep``-separated, line breaks count as spaces."""
    return tuple(
        " ".join(item.split()) for item in text.replace("\n", " ").split(sep) if item.strip()
    )


_CITIES = _pool("""Lisbon Porto Oslo Bergen Madrid Valencia Seville Lyon Marseille Nantes Bordeaux
Munich Hamburg Leipzig Vienna Graz Zurich Geneva Prague Brno Krakow Gdansk Tallinn Riga Vilnius
Helsinki Tampere Dublin Cork Glasgow Leeds Bristol Toronto Montreal Denver Austin Seattle Boston
Chicago Portland Melbourne Adelaide Auckland Wellington Nairobi Accra Osaka Sapporo Busan
Taipei Hanoi Lima Quito Bogota""")
_EMPLOYERS = [
    f"{a} {b}"
    for a in _pool("Acme Northwind Bluefin Redwood Silverline Brightpath Ironbark Tidewater")
    for b in _pool("Robotics Logistics Bank Studios Labs Insurance Analytics Foods")
]
_CARS = _pool(
    """a Subaru Outback|a Toyota Corolla|a Honda Civic|a Volvo XC40|a Tesla Model 3|a Ford
Focus|a Mazda CX-5|a Kia Niro|a Skoda Octavia|a Renault Clio|a Fiat Panda|a Volkswagen Golf|a
Hyundai Ioniq|a Nissan Leaf|a Peugeot 208|a Jeep Wrangler|a Mini Cooper|an Audi A4|a BMW
X3|a Seat Leon""",
    "|",
)
_PETS = _pool(
    """a beagle|a tabby cat|a parrot|a rabbit|a golden retriever|a hamster|a Siamese
cat|a border collie|a tortoise|a dachshund|a ferret|a pair of budgies|a greyhound|a Persian
cat|a corgi|a guinea pig|a husky|a cockatiel""",
    "|",
)
_HOBBIES = _pool(
    """pottery|rock climbing|chess|salsa dancing|birdwatching|woodworking|the
cello|trail running|photography|knitting|sourdough baking|kayaking|painting|archery|gardening|
fencing|origami|surfing|calligraphy|board games""",
    "|",
)
_FOODS = _pool(
    """ramen|paella|pad thai|lasagne|sushi|tacos|moussaka|pierogi|pho|risotto|
falafel|goulash|dumplings|biryani|ceviche|shakshuka|gnocchi|bibimbap""",
    "|",
)
_FEMALE = _pool("""Ana Chloe Elena Greta Ines Kira Maya Olga Rosa Tara Vera Xenia Zoe Bianca
Dana Fiona Hana Jade Lena Nadia Priya Sofia Uma Wanda Yara Aiko Cleo Esme Gia Isla""")
_MALE = _pool("""Ben Dario Farid Hiro Jonas Luca Nils Pablo Quinn Sami Umar Wes Yusuf Amir
Carlos Emil Goran Ivan Kofi Marco Oscar Rafael Tomas Viktor Zane Bruno Dev Felix Hugo Jamal""")
_NAMES = _FEMALE + _MALE
_RELATIVES = ("sister", "brother", "cousin", "neighbour", "colleague", "best friend", "aunt")
_SIBLINGS = ("sister", "brother")

# Templates: {v} the value, {old} the value it replaces, {p} a person, {noun} a slot's noun,
# {new} the value after a change, {dv} a distractor's value, {rel} a relative, {act}/{did}/
# {done} the slot's act (base, past, participle), {topic} the slot's topic.
_TRAIN: dict[str, tuple[str, ...]] = {
    "residence.initial": (
        "I live in {v} these days.",
        "I've been living in {v} for a couple of years.",
        "My apartment is in {v}, close to the station.",
    ),
    "residence.change": (
        "Big news, I moved to {v}!",
        "We relocated to {v} last month.",
        "I left {old} and moved to {v}.",
    ),
    "job.initial": (
        "I work at {v}.",
        "My job at {v} keeps me busy.",
        "I've been working for {v} since I graduated.",
    ),
    "job.change": (
        "I started at {v} this week.",
        "I left {old} and joined {v}.",
        "Got hired by {v}, my first day was Monday.",
    ),
    "car.initial": (
        "I drive {v}.",
        "My car is {v}, old but reliable.",
        "I get around in {v} most days.",
    ),
    "car.change": (
        "Got a new car, {v}.",
        "I sold {old} and bought {v}.",
        "I traded in my car for {v}.",
    ),
    "pet.initial": (
        "I have {v} at home.",
        "My pet is {v}, the sweetest thing.",
        "We keep {v} and the kids adore the little one.",
    ),
    "pet.change": (
        "We adopted {v} last week.",
        "I brought home {v} from the shelter.",
        "We got {v}, and {old} went to live with my parents.",
    ),
    "partner.initial": (
        "I'm dating {v}.",
        "My partner {v} says hi.",
        "{v} and I have been together for a while now.",
    ),
    "partner.change": (
        "{old} and I broke up; I'm seeing {v} now.",
        "I have a new partner, {v}.",
        "I started dating {v} a few weeks ago.",
    ),
    "hobby.initial": (
        "I spend my weekends on {v}.",
        "My hobby is {v}.",
        "I'm really into {v} lately.",
    ),
    "hobby.change": (
        "I took up {v} recently.",
        "I gave up {old} and started {v}.",
        "Now I'm hooked on {v}.",
    ),
    "hometown": ("I grew up in {v}.", "I'm originally from {v}.", "I was born in {v}."),
    "sibling": (
        "My {rel} is called {v}.",
        "I have a {rel} named {v}.",
        "{v} is my older {rel}.",
    ),
    "food": (
        "My favourite food is {v}.",
        "I could eat {v} every single day.",
        "Nothing beats {v} for dinner.",
    ),
    "hypothetical": (
        "If I ever decided to {act}, I would have to rethink a lot.",
        "I might {act} at some point, not sure yet.",
        "I'm thinking about whether to {act}, still undecided.",
    ),
    "denial": (
        "No, I did not {act}, that was my {rel}.",
        "I never {did}, people keep mixing that up.",
        "Just to be clear, I haven't {done}.",
    ),
    "other": (
        "My {rel} just {did}.",
        "Guess what, my {rel} {did} last week.",
        "My {rel} finally {did}.",
    ),
    "prompt": (
        "Anything new with your {topic}?",
        "How is the {topic} situation?",
        "Any changes on the {topic} front?",
    ),
    "filler": (
        "The weather has been awful all week.",
        "I binge-watched a documentary about octopuses yesterday.",
        "Work has been hectic, but I'm hanging in there.",
        "I finally fixed the leaking tap in the kitchen.",
        "The farmers market was packed on Saturday.",
        "I read a great mystery novel on the train.",
        "My knee still hurts from that hike.",
        "We had friends over for a barbecue on Sunday.",
        "I spent the whole evening sorting old photos.",
        "The new season of that cooking show is out.",
    ),
    "q.current": (
        "What is {p}'s current {noun}?",
        "What is {p}'s {noun} these days?",
        "As of now, what is {p}'s {noun}?",
    ),
    "q.previous": (
        "What was {p}'s {noun} before {new}?",
        "Before switching to {new}, what was {p}'s {noun}?",
        "Which {noun} did {p} have prior to {new}?",
    ),
    "q.when": (
        "When did {p}'s {noun} change to {new}?",
        "On what date did {p} say the {noun} was now {new}?",
        "When did {new} become {p}'s {noun}?",
    ),
    "q.distractor": (
        "{p} talked about {dv}, but what is {p}'s actual {noun}?",
        "Is {dv} really {p}'s {noun}? If not, what is?",
        "Setting {dv} aside, what {noun} does {p} have?",
    ),
    "q.hometown": (
        "Where did {p} grow up?",
        "Which city is {p} originally from?",
        "Where was {p} born?",
    ),
    "q.sibling": (
        "What is the name of {p}'s {rel}?",
        "What is {p}'s {rel} called?",
        "Who is {p}'s {rel}?",
    ),
    "q.food": (
        "What is {p}'s favourite food?",
        "What dish does {p} love most?",
        "Which food could {p} eat every day?",
    ),
}

# More wordings of each state statement, written on 2026-12-06 without reading the held-out
# sets' templates; the twenty that came out at or near a held-out one were rewritten (a test
# keeps each under half its words shared with any). The ``train-wide`` phrasing, which the
# slot tagger trains on: three wordings a statement left it blind to one held-out statement
# in ten ("seeing someone called Oscar" read as nothing), and the learned policy then misses
# the change. The policy's episodes stay on ``train``, so its checkpoint keeps its recipe.
_WIDER: dict[str, tuple[str, ...]] = {
    "residence.initial": (
        "Our place in {v} finally feels like home.",
        "These days my address is in {v}.",
        "I rent a small flat in {v}.",
        "{v} is where I'm based.",
    ),
    "residence.change": (
        "The boxes are unpacked and {v} is my base from now on.",
        "After years in {old}, I now call {v} home.",
        "Our family traded {old} for a flat in {v}.",
        "I finally made the move to {v}.",
    ),
    "job.initial": (
        "I earn my living at {v}.",
        "Every weekday I head to the office at {v}.",
        "Monday to Friday you'll find me at {v}.",
        "I draw my salary from {v}.",
    ),
    "job.change": (
        "I signed a contract with {v} last week.",
        "Said goodbye to my colleagues at {old}; {v} has hired me.",
        "{v} offered me a position and I said yes.",
        "{v} took me on, I begin there next week.",
    ),
    "car.initial": (
        "The car I take to work is {v}.",
        "There is {v} parked outside my place.",
        "In my garage sits {v}.",
        "Whenever I go somewhere, I take {v}.",
    ),
    "car.change": (
        "Drove {v} home from the showroom this morning.",
        "Goodbye {old}, hello {v}!",
        "I've been driving {v} since last week.",
        "My old car is gone; I bought {v}.",
    ),
    "pet.initial": (
        "Feeding {v} is the first thing I do every morning.",
        "Taking care of {v} is part of my routine.",
        "I come home to {v} every evening.",
        "Our vet knows {v} well by now.",
    ),
    "pet.change": (
        "There's a new pet in my life: {v}.",
        "I rescued {v} this weekend.",
        "On Saturday {v} joined our household.",
        "I now have {v} instead of {old}.",
    ),
    "partner.initial": (
        "{v} and I celebrated our anniversary recently.",
        "I live with my partner {v}.",
        "I've been going out with {v}.",
        "I have shared my life with {v} for years.",
    ),
    "partner.change": (
        "I'm in love with {v}, we got together last month.",
        "My relationship with {old} ended, and now I'm with {v}.",
        "I met someone new: {v}.",
        "These days I'm happily with {v}.",
    ),
    "hobby.initial": (
        "In my spare time I do {v}.",
        "Nothing relaxes me like {v}.",
        "I love {v}, I do it every week.",
        "Whenever I have a free hour, it goes to {v}.",
    ),
    "hobby.change": (
        "I've started learning {v}.",
        "I picked up {v} this year.",
        "I dropped {old} and now I do {v}.",
        "I signed up for {v} classes.",
    ),
}

_HELDOUT: dict[str, tuple[str, ...]] = {
    "residence.initial": (
        "Home for me is {v} right now.",
        "I'm based in {v} at the moment.",
        "We rent a flat in {v}, near the old market.",
    ),
    "residence.change": (
        "We packed everything up and settled in {v}.",
        "Our new address is in {v}, the boxes are still everywhere.",
        "I said goodbye to {old}; I'm a {v} resident now.",
    ),
    "job.initial": (
        "I'm employed by {v}.",
        "I spend my weekdays at the {v} office.",
        "My employer is {v}, I've been there a while.",
    ),
    "job.change": (
        "New employer: {v}. I handed in my notice at {old}.",
        "These days I report to a manager at {v}.",
        "I switched companies, I'm with {v} now.",
    ),
    "car.initial": (
        "My daily ride is {v}.",
        "I commute in {v} every morning.",
        "There's {v} in my driveway, that's my ride.",
    ),
    "car.change": (
        "My ride now is {v}, {old} is gone.",
        "I picked up {v} from the dealer on Friday.",
        "I upgraded my wheels to {v}.",
    ),
    "pet.initial": (
        "I share my flat with {v}.",
        "There's {v} waiting for me every evening.",
        "I look after {v}, my furry roommate.",
    ),
    "pet.change": (
        "Meet the newest family member: {v}.",
        "{old} moved in with my aunt and I took in {v}.",
        "I took in {v} from a neighbour who was leaving town.",
    ),
    "partner.initial": (
        "I'm seeing someone called {v}.",
        "My other half, {v}, is doing well.",
        "{v} and I share an apartment these days.",
    ),
    "partner.change": (
        "Things ended with {old}. I met {v} and we are happy.",
        "These days I go out with {v}.",
        "I'm in a relationship with {v} now.",
    ),
    "hobby.initial": (
        "Most evenings I do {v}.",
        "My free time goes to {v}.",
        "I unwind with {v} after work.",
    ),
    "hobby.change": (
        "My new passion is {v}.",
        "I swapped {old} for {v} this spring.",
        "Lately it's all about {v} for me.",
    ),
    "hometown": (
        "My roots are in {v}.",
        "My childhood was spent in {v}.",
        "I'm a {v} native.",
    ),
    "sibling": (
        "My only {rel}, {v}, phoned me yesterday.",
        "I grew up with a {rel}, {v}.",
        "{v}, my younger {rel}, came over for lunch.",
    ),
    "food": (
        "My go-to dish is {v}.",
        "I never get tired of {v}.",
        "For comfort food, it is {v} every time.",
    ),
    "hypothetical": (
        "Suppose I {did}: would that be crazy?",
        "Part of me wants to {act} someday, but it's only a daydream.",
        "Maybe one day I'll {act}, who knows.",
    ),
    "denial": (
        "That's a rumour, I didn't {act}.",
        "Whoever told you I {did} got it wrong.",
        "Nope, I have not {done}; my {rel} did.",
    ),
    "other": (
        "Big news from my {rel}: they {did}.",
        "That {rel} of mine has {done}, can you believe it?",
        "You know my {rel}? They {did}.",
    ),
    "prompt": (
        "What's the latest with your {topic}?",
        "Tell me, is your {topic} still the same?",
        "Did anything happen with your {topic}?",
    ),
    "filler": (
        "It rained the whole weekend here.",
        "I tried a new coffee place near the park.",
        "My neighbour's renovation noise is driving me mad.",
        "I watched the football final with some friends.",
        "I've been sleeping badly since the heatwave started.",
        "We played cards until midnight on Friday.",
        "My phone screen cracked again this morning.",
        "The bakery on the corner finally reopened.",
        "I've been trying to drink less coffee, without much luck.",
        "There was a huge traffic jam on the ring road today.",
    ),
    "q.current": (
        "Right now, what would you say {p}'s {noun} is?",
        "Going by the latest news, what is {p}'s {noun}?",
        "What {noun} does {p} have at present?",
    ),
    "q.previous": (
        "{p} had another {noun} until {new} came along; which one?",
        "What {noun} preceded {new} for {p}?",
        "Earlier, before {new}, what was {p}'s {noun}?",
    ),
    "q.when": (
        "Since when has {p}'s {noun} been {new}?",
        "What was the date {p} switched the {noun} to {new}?",
        "At what point did {p} end up with {new} as the {noun}?",
    ),
    "q.distractor": (
        "Despite the mention of {dv}, what is {p}'s {noun} in fact?",
        "{dv} came up with {p}; what is the true {noun}?",
        "Which {noun} does {p} truly have, {dv} or another?",
    ),
    "q.hometown": (
        "What is {p}'s home town?",
        "In which city did {p} spend childhood?",
        "Where are {p}'s roots?",
    ),
    "q.sibling": (
        "How is {p}'s {rel} named?",
        "Name {p}'s {rel}.",
        "Which person is {p}'s {rel}?",
    ),
    "q.food": (
        "What is {p}'s go-to dish?",
        "Which meal does {p} never tire of?",
        "What food comforts {p} the most?",
    ),
}
# A second held-out family, written on 2026-12-06 before the training phrasings were widened,
# because the first family's misses were studied. Its seed's misses were then read too (a
# listing of seven current-value misses before the tagger's wider wordings; which questions
# the memory's slot ranking changed): the fresh seeds (FRESH_SEEDS) are the sets never read.
_HELDOUT2: dict[str, tuple[str, ...]] = {
    "residence.initial": (
        "I call {v} home these days.",
        "Our place is on a quiet street in {v}.",
        "I've got a little house in {v}.",
    ),
    "residence.change": (
        "The removal van dropped our stuff in {v} on Tuesday.",
        "{old} is behind me, I'm in {v} for good now.",
        "We found a place in {v} and signed the lease.",
    ),
    "job.initial": (
        "I'm on the payroll at {v}.",
        "{v} pays my bills, I'm an engineer there.",
        "I've got a desk at {v}.",
    ),
    "job.change": (
        "Today was my last day at {old}; {v} starts Monday.",
        "I accepted an offer from {v}.",
        "My new badge says {v}.",
    ),
    "car.initial": (
        "My wheels are {v}.",
        "I own {v}, nothing fancy.",
        "Every road trip I take is in {v}.",
    ),
    "car.change": (
        "I finally replaced {old} with {v}.",
        "The keys to {v} are mine now.",
        "I'm behind the wheel of {v} since last week.",
    ),
    "pet.initial": (
        "{v} sleeps at the foot of my bed.",
        "I'm the proud owner of {v}.",
        "At home it's just me and {v}.",
    ),
    "pet.change": (
        "Our family grew: we welcomed {v}.",
        "{old} went to a farm; now I have {v}.",
        "I came back from the breeder with {v}.",
    ),
    "partner.initial": (
        "My significant other is {v}.",
        "{v} is the love of my life.",
        "I've been with {v} since spring.",
    ),
    "partner.change": (
        "I split up with {old}, and now {v} is my partner.",
        "{v} asked me out and we are a couple now.",
        "Say hi to {v}, the new person in my life.",
    ),
    "hobby.initial": (
        "On Sundays you'll find me busy with {v}.",
        "{v} is how I relax.",
        "I'm part of a club for {v}.",
    ),
    "hobby.change": (
        "I dropped {old}; {v} is my thing now.",
        "I joined a group for {v} and I love it.",
        "I can't get enough of {v} these weeks.",
    ),
    "hometown": (
        "I was raised in {v}.",
        "{v} is where I spent my early years.",
        "My parents brought me up in {v}.",
    ),
    "sibling": (
        "{v} is the name of my {rel}.",
        "I'm close to my {rel}, {v}.",
        "My {rel} {v} visited last weekend.",
    ),
    "food": (
        "If I could pick one meal, it'd be {v}.",
        "I'm crazy about {v}.",
        "{v} is my absolute favourite meal.",
    ),
    "hypothetical": (
        "Imagine if I {did}, ha.",
        "I've toyed with the idea to {act}, nothing concrete.",
        "In another life I would {act}.",
    ),
    "denial": (
        "I'd like to correct something: I never {did}.",
        "No way did I {act}; it was my {rel}.",
        "Somebody said I had {done}, which is false.",
    ),
    "other": (
        "So my {rel} has {done}.",
        "Quick update about my {rel}, who {did}.",
        "My {rel} is excited because they {did}.",
    ),
    "prompt": (
        "How are things with your {topic}?",
        "Any news regarding your {topic}?",
        "Has your {topic} changed at all?",
    ),
    "filler": (
        "The dishwasher broke down again.",
        "I went to a jazz concert in the park.",
        "My inbox is a disaster after the holidays.",
        "We finally booked flights for the summer.",
        "The kids next door practise drums every night.",
        "I burned the toast this morning, classic me.",
        "Our internet was down for two days.",
        "I've started reading before bed instead of scrolling.",
        "The queue at the post office was ridiculous.",
        "I repainted the hallway a pale green.",
    ),
    "q.current": (
        "What is {p}'s {noun} at the moment?",
        "Currently, which {noun} does {p} have?",
        "What's the most recent {noun} {p} mentioned?",
    ),
    "q.previous": (
        "Which {noun} did {p} have just before {new}?",
        "Prior to {new}, {p}'s {noun} was what?",
        "What was {p}'s former {noun}, the one replaced by {new}?",
    ),
    "q.when": (
        "When did {p} first mention {new} as the {noun}?",
        "On which day did {new} become the {noun} of {p}?",
        "What date did {p} report the change of {noun} to {new}?",
    ),
    "q.distractor": (
        "Was {dv} ever really {p}'s {noun}, or what is it actually?",
        "Ignoring {dv}, what is {p}'s real {noun}?",
        "{p} brought up {dv}; what {noun} does {p} actually have?",
    ),
    "q.hometown": (
        "What city raised {p}?",
        "Where is {p} from originally?",
        "In what place did {p} spend the early years?",
    ),
    "q.sibling": (
        "Who is the {rel} of {p}?",
        "Tell me the name of {p}'s {rel}.",
        "What do they call {p}'s {rel}?",
    ),
    "q.food": (
        "Which dish is {p}'s favourite?",
        "What meal would {p} pick above all?",
        "What food is {p} crazy about?",
    ),
}

# A third held-out family, written on 2026-12-06 (evening) after both earlier families' misses
# had been read, and before anything was measured on it: its seeds 90005, 90006 and
# 90008-90010 are only ever scored (90007's misses were read on 2026-12-07). The first two
# families' fresh seeds share the wordings whose misses were read.
_HELDOUT3: dict[str, tuple[str, ...]] = {
    "residence.initial": (
        "My flat in {v} has a tiny balcony.",
        "Living in {v} suits me fine.",
        "I wake up every day in {v}.",
    ),
    "residence.change": (
        "The movers carried the last box into our new flat in {v} yesterday.",
        "So long, {old}: my new neighbourhood is in {v}.",
        "Since the move last month, I'm living in {v}.",
    ),
    "job.initial": (
        "I'm an analyst at {v}.",
        "{v} is where I clock in every morning.",
        "I've been on the team at {v} for three years.",
    ),
    "job.change": (
        "I resigned from {old} and {v} hired me.",
        "My first week at {v} went well.",
        "After five years at {old}, I joined the staff of {v}.",
    ),
    "car.initial": (
        "I get to work in {v}.",
        "{v} is the car I've had for ages.",
        "I park {v} on the street outside.",
    ),
    "car.change": (
        "My new car, {v}, arrived on Thursday.",
        "I said farewell to {old}; now I drive {v}.",
        "The dealer handed me the keys of {v} today.",
    ),
    "pet.initial": (
        "I walk {v} twice a day.",
        "{v} keeps me company while I work from home.",
        "Nobody greets me at the door like {v} does.",
    ),
    "pet.change": (
        "I adopted {v} from a rescue centre.",
        "After {old} passed away, {v} joined the family.",
        "There's a new furry face at home: {v}.",
    ),
    "partner.initial": (
        "I'm married to {v}.",
        "{v}, my partner, is away this week.",
        "I'm engaged to {v}.",
    ),
    "partner.change": (
        "{old} and I went our separate ways; {v} and I are together now.",
        "I fell for {v} and we're official now.",
        "{v} is my new partner.",
    ),
    "hobby.initial": (
        "I've done {v} since I was a teenager.",
        "{v} fills my evenings.",
        "My weekends revolve around {v}.",
    ),
    "hobby.change": (
        "I've switched from {old} to {v}.",
        "These days I'm into {v} instead.",
        "I just discovered {v} and I'm obsessed.",
    ),
    "hometown": (
        "{v} is the town where I was born.",
        "I went to school in {v} as a kid.",
        "Born and raised in {v}, that's me.",
    ),
    "sibling": (
        "My {rel} {v} lives nearby.",
        "I talked to my {rel}, {v}, for hours.",
        "{v}, my twin {rel}, is visiting soon.",
    ),
    "food": (
        "Give me {v} any day.",
        "I'd walk miles for good {v}.",
        "Whenever I eat out, I order {v}.",
    ),
    "hypothetical": (
        "Sometimes I picture what it'd be like to {act}.",
        "It would be fun to {act} one day, but no.",
        "What if I {did}? Just a thought.",
    ),
    "denial": (
        "People think I {did}, but that's not so.",
        "I've never {done}, honestly.",
        "It wasn't me who {did}; it was my {rel}.",
    ),
    "other": (
        "My {rel} told me they {did}.",
        "Apparently my {rel} has {done}.",
        "My {rel} called to say they {did}.",
    ),
    "prompt": (
        "How's your {topic} these days?",
        "Has anything changed with your {topic} lately?",
        "Catch me up on your {topic}.",
    ),
    "filler": (
        "I finally cleaned out the garage.",
        "The power went out during dinner last night.",
        "There's a wasp nest under our roof.",
        "I lost my umbrella on the bus again.",
        "The new pizza place downtown is overrated.",
        "I spent an hour on hold with the bank.",
        "Our building's lift is broken, so stairs it is.",
        "I overslept and missed my morning meeting.",
        "The streetlights on our road were replaced.",
        "I've been fighting a cold all week.",
    ),
    "q.current": (
        "Today, what is {p}'s {noun}?",
        "Which {noun} is {p}'s now?",
        "Tell me {p}'s {noun} as things stand.",
    ),
    "q.previous": (
        "What {noun} did {p} give up for {new}?",
        "Name the {noun} {p} had right before {new}.",
        "Which {noun} of {p}'s came just ahead of {new}?",
    ),
    "q.when": (
        "On what day did {p} announce {new} as the new {noun}?",
        "When was {new} first {p}'s {noun}?",
        "Which date marks {p}'s change of {noun} to {new}?",
    ),
    "q.distractor": (
        "Forget {dv}; what {noun} does {p} really have?",
        "{p} mentioned {dv}, but which {noun} is real?",
        "Not counting {dv}, what is {p}'s {noun}?",
    ),
    "q.hometown": (
        "Where was {p} a kid?",
        "What town does {p} come from?",
        "{p} was raised where?",
    ),
    "q.sibling": (
        "Who is {p}'s {rel} by name?",
        "What name does {p}'s {rel} go by?",
        "Which name belongs to {p}'s {rel}?",
    ),
    "q.food": (
        "What does {p} like to eat best?",
        "Which dish would {p} order when eating out?",
        "What food would {p} walk miles for?",
    ),
}
# Mentions: a slot's current value comes up again without changing ("Took my corgi to the
# vet"), each with the question it answers. {v} is the value without its article ("corgi").
_MENTIONS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "train": {
        "residence": (
            (
                "The farmers market in {v} is my favourite place on Sundays.",
                "Where does {p} enjoy the farmers market on Sundays?",
            ),
            (
                "Traffic in {v} was terrible this morning.",
                "In which city did {p} sit in terrible traffic?",
            ),
            (
                "I showed my parents around {v} at the weekend.",
                "Which city did {p} show the parents around?",
            ),
        ),
        "job": (
            (
                "We had a long planning meeting at {v} today.",
                "Where did {p} have a long planning meeting?",
            ),
            (
                "{v} threw a party for the whole team.",
                "Which company threw a party for {p}'s team?",
            ),
            ("My manager at {v} praised my report.", "At which company was {p}'s report praised?"),
        ),
        "car": (
            ("I washed my {v} this morning, it shines.", "What did {p} wash this morning?"),
            ("My {v} needed fresh tyres last week.", "Which car of {p}'s needed fresh tyres?"),
            (
                "Took my {v} for a long drive along the coast.",
                "What did {p} drive along the coast?",
            ),
        ),
        "pet": (
            ("Took my {v} to the vet for a checkup.", "Which animal did {p} take to the vet?"),
            ("My {v} chewed my favourite slippers.", "What chewed {p}'s slippers?"),
            ("I bought a fancy bed for my {v}.", "For which animal did {p} buy a fancy bed?"),
        ),
        "partner": (
            ("{v} cooked me dinner tonight.", "Who cooked dinner for {p}?"),
            ("{v} and I went hiking on Saturday.", "Who went hiking with {p} on Saturday?"),
            (
                "I bought concert tickets for {v}'s birthday.",
                "Whose birthday got concert tickets from {p}?",
            ),
        ),
        "hobby": (
            ("Spent the whole Saturday on {v}.", "What did {p} spend the whole Saturday on?"),
            ("I bought fresh gear for {v}.", "For what did {p} buy fresh gear?"),
            (
                "The group I do {v} with meets on Thursdays.",
                "What does {p} do with a group on Thursdays?",
            ),
        ),
    },
    "heldout": {
        "residence": (
            (
                "The trams in {v} run late on Fridays, which is handy.",
                "Which city's trams run late on Fridays for {p}?",
            ),
            (
                "Summer in {v} is hotter than I expected.",
                "Where did {p} find summer hotter than expected?",
            ),
            (
                "A street festival took over {v} on Saturday.",
                "Which city did a street festival take over, as {p} told it?",
            ),
        ),
        "job": (
            (
                "Deadlines at {v} are brutal this quarter.",
                "Where are {p}'s deadlines brutal this quarter?",
            ),
            (
                "The canteen at {v} serves great soup.",
                "Which company's canteen serves great soup, says {p}?",
            ),
            (
                "I ran the onboarding for interns at {v}.",
                "Where did {p} run the intern onboarding?",
            ),
        ),
        "car": (
            (
                "My {v} passed its inspection without trouble.",
                "Which vehicle of {p}'s passed the inspection?",
            ),
            ("I filled up the {v} on the way home.", "What did {p} fill up on the way home?"),
            (
                "Somebody dented my {v} in the car park.",
                "What got dented in the car park, {p} said?",
            ),
        ),
        "pet": (
            ("My {v} woke me up at five this morning.", "What woke {p} at five in the morning?"),
            ("I ordered toys online for my {v}.", "For which pet did {p} order toys online?"),
            (
                "My {v} loves sleeping in the sun by the window.",
                "What loves sleeping in the sun at {p}'s window?",
            ),
        ),
        "partner": (
            ("{v} surprised me with flowers.", "Who surprised {p} with flowers?"),
            ("Movie night with {v} was lovely.", "With whom did {p} have a lovely movie night?"),
            ("{v} is teaching me to bake bread.", "Who is teaching {p} to bake bread?"),
        ),
        "hobby": (
            ("I entered a local contest for {v}.", "In what did {p} enter a local contest?"),
            (
                "Two hours of {v} before breakfast today.",
                "What did {p} do for two hours before breakfast?",
            ),
            ("A friend joined me for {v} at the weekend.", "What did a friend join {p} for?"),
        ),
    },
    "heldout2": {
        "residence": (
            (
                "Our neighbourhood in {v} got a lovely bakery.",
                "In which city did {p}'s neighbourhood get a lovely bakery?",
            ),
            ("Cycling around {v} is the best way to get to work.", "Where does {p} cycle to work?"),
            ("It snowed in {v} all night.", "Where did it snow all night, per {p}?"),
        ),
        "job": (
            ("{v} sent me to a conference abroad.", "Which employer sent {p} to a conference?"),
            (
                "The office of {v} moved to a bigger floor.",
                "Whose office moved to a bigger floor, per {p}?",
            ),
            ("I got a bonus from {v} this month.", "Who paid {p} a bonus this month?"),
        ),
        "car": (
            ("My {v} is at the garage for a service.", "Which car of {p}'s is being serviced?"),
            ("I fitted a roof rack to my {v}.", "What did {p} fit a roof rack to?"),
            ("My {v} handled the snow well.", "Which car handled the snow well for {p}?"),
        ),
        "pet": (
            ("My {v} had a bath today and hated it.", "Which pet of {p}'s hated its bath?"),
            ("Our walk with my {v} lasted two hours.", "With what did {p} walk for two hours?"),
            ("My {v} got a clean bill of health.", "What got a clean bill of health, per {p}?"),
        ),
        "partner": (
            ("{v} picked me up from the airport.", "Who picked {p} up at the airport?"),
            ("{v} and I painted the bedroom blue.", "Who painted the bedroom with {p}?"),
            ("I booked a picnic spot for {v}.", "For whom did {p} book a picnic spot?"),
        ),
        "hobby": (
            (
                "I watched videos about {v} all evening.",
                "What were the videos {p} watched all evening about?",
            ),
            (
                "My teacher for {v} says I am improving.",
                "At what does {p}'s teacher say {p} is improving?",
            ),
            ("Got up early for {v} this morning.", "What did {p} get up early for?"),
        ),
    },
    "heldout3": {
        "residence": (
            (
                "The museums in {v} are free on Sundays.",
                "Where are museums free on Sundays, says {p}?",
            ),
            (
                "A new bridge opened in {v} this week.",
                "In which city did a new bridge open, per {p}?",
            ),
            (
                "I got lost in the old town of {v} yesterday.",
                "In which city's old town did {p} get lost?",
            ),
        ),
        "job": (
            ("My team at {v} shipped a big release.", "Where did {p}'s team ship a big release?"),
            ("{v} gave everyone Friday off.", "Which company gave everyone Friday off, per {p}?"),
            ("I presented to the board of {v} on Monday.", "To whose board did {p} present?"),
        ),
        "car": (
            ("My {v} got a parking ticket downtown.", "Which car of {p}'s got a parking ticket?"),
            (
                "I had the {v} detailed inside and out.",
                "What did {p} have detailed inside and out?",
            ),
            ("The battery of my {v} died this morning.", "Which car's battery died on {p}?"),
        ),
        "pet": (
            ("My {v} learned a new trick.", "Which pet of {p}'s learned a new trick?"),
            ("I took my {v} to the beach.", "What did {p} take to the beach?"),
            ("My {v} stole a sausage off the table.", "What stole a sausage off {p}'s table?"),
        ),
        "partner": (
            ("{v} planned a weekend away for us.", "Who planned a weekend away with {p}?"),
            ("{v} and I tried a new restaurant.", "With whom did {p} try a new restaurant?"),
            ("I made breakfast in bed for {v}.", "For whom did {p} make breakfast in bed?"),
        ),
        "hobby": (
            (
                "I spent my bonus on equipment for {v}.",
                "On equipment for what did {p} spend the bonus?",
            ),
            ("I practised {v} for three hours yesterday.", "What did {p} practise for hours?"),
            ("A magazine about {v} arrived in the post.", "What is {p}'s new magazine about?"),
        ),
    },
}


def _with_mentions(
    family: dict[str, tuple[str, ...]], mentions: dict[str, tuple[tuple[str, str], ...]]
) -> dict[str, tuple[str, ...]]:
    """``family`` plus ``<slot>.mention`` statements and their ``q.mention.<slot>`` questions,
    in the same order (a mention's question is the one at its index)."""
    out = dict(family)
    for slot, pairs in mentions.items():
        out[f"{slot}.mention"] = tuple(said for said, _ in pairs)
        out[f"q.mention.{slot}"] = tuple(asked for _, asked in pairs)
    return out


_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "train": _with_mentions(_TRAIN, _MENTIONS["train"]),
    "train-wide": _with_mentions(
        {key: group + _WIDER.get(key, ()) for key, group in _TRAIN.items()}, _MENTIONS["train"]
    ),
    "heldout": _with_mentions(_HELDOUT, _MENTIONS["heldout"]),
    "heldout2": _with_mentions(_HELDOUT2, _MENTIONS["heldout2"]),
    "heldout3": _with_mentions(_HELDOUT3, _MENTIONS["heldout3"]),
}


def templates(phrasing: str) -> frozenset[str]:
    """Every template string of one phrasing set (one of :data:`PHRASINGS`)."""
    return frozenset(t for group in _phrases(phrasing).values() for t in group)


@dataclass(frozen=True, slots=True)
class SyntheticStatement:
    """What a generated turn says, for tests and labels.

    Attributes:
        dia_id: The turn.
        person: Who said it; every fact stated is about the speaker, except in an
            ``other`` distractor (about a relative) and a ``prompt`` (asks the other speaker).
        kind: ``initial``/``change`` set a slot, ``mention`` brings up its current value
            again without changing it, ``stable`` states a stable fact;
            ``hypothetical``, ``denial`` and ``other`` are distractors that set nothing;
            ``prompt`` is a chat question, ``filler`` chit-chat.
        slot: The slot or stable fact concerned, if any.
        value: The value said, if any.
    """

    dia_id: str
    person: str
    kind: StatementKind
    slot: str | None = None
    value: str | None = None

    @property
    def sets_slot(self) -> bool:
        """True when the statement changes the person's true value of ``slot``."""
        return self.kind in ("initial", "change")


@dataclass(frozen=True, slots=True)
class SyntheticSample:
    """A generated conversation and what each of its turns says."""

    conversation: Conversation
    statements: tuple[SyntheticStatement, ...]


@dataclass
class _Planned:
    """A statement waiting for its session and turn id."""

    person: str
    kind: StatementKind
    slot: str | None
    value: str | None
    text: str


def synthetic_sample(
    seed: int,
    *,
    people: int = 2,
    sessions: int = 8,
    phrasing: str = "train",
    index: int = 0,
    mentions: float = 0.0,
) -> SyntheticSample:
    """Generate one conversation with the labels of its turns.

    Args:
        seed: Seed of the generator; the same arguments give the same conversation.
        people: Number of speakers (two or more).
        sessions: Number of dated sessions (at least four, so values can change).
        phrasing: The template set, one of :data:`PHRASINGS`.
        index: Position in a series; only names the conversation ``synth-<seed>-<index>``.
        mentions: Chance, for each of a person's changing slots, that a later session brings
            a value up again while it holds (a ``mention``, asked about in its own question).
            0 by default, so the held-out sets and the shipped models' recorded figures stay
            those of the conversations without them.

    Raises:
        InvalidInputError: An argument is out of range.
    """
    templates_ = _phrases(phrasing)
    if people < 2:
        raise InvalidInputError(f"people must be at least 2, got {people!r}")
    if sessions < 4:
        raise InvalidInputError(f"sessions must be at least 4, got {sessions!r}")
    _check_mentions(mentions)
    rng = random.Random(seed)
    pick = _Picker(rng)
    names = rng.sample(_NAMES, people)
    pick.used.update(names)
    plan: dict[int, list[_Planned]] = {s: [] for s in range(sessions)}
    history: dict[tuple[str, str], list[tuple[int, str]]] = {}  # (person, slot) -> values
    stable: dict[tuple[str, str], tuple[str, str]] = {}  # -> (value, relation)
    asked: dict[str, str] = {}  # a mention's text -> the question it answers

    def say(
        session: int, person: str, kind: StatementKind, slot: str, value: str, **fields: str
    ) -> None:
        text = rng.choice(templates_[_key(kind, slot)]).format(v=value, **fields)
        plan[session].append(_Planned(person, kind, slot, value, text[0].upper() + text[1:]))

    for person in names:
        for fact in STABLE:
            rel = rng.choice(_SIBLINGS)
            value = pick.value(rel if fact == "sibling" else fact)
            stable[person, fact] = (value, rel)
            say(rng.randrange(sessions), person, "stable", fact, value, rel=rel)
        for slot in rng.sample(SLOTS, 4):
            changes = rng.randint(1, 3)
            when = sorted(rng.sample(range(sessions), changes + 1))
            values = [pick.value(slot) for _ in when]
            history[person, slot] = list(zip(when, values, strict=True))
            for i, (session, value) in enumerate(history[person, slot]):
                kind: StatementKind = "initial" if i == 0 else "change"
                say(session, person, kind, slot, value, old=values[i - 1] if i else "")
            # A later session may bring the value up again while it holds.
            spans = [
                (start, end, value)
                for (start, value), end in zip(
                    history[person, slot], [*when[1:], sessions], strict=True
                )
                if end - start > 1
            ]
            if mentions and spans and rng.random() < mentions:
                start, end, value = rng.choice(spans)
                choice = rng.randrange(len(templates_[f"{slot}.mention"]))
                bare = _bare(value)
                session = rng.randrange(start + 1, end)
                text = templates_[f"{slot}.mention"][choice].format(v=bare)
                text = text[0].upper() + text[1:]
                plan[session].append(_Planned(person, "mention", slot, bare, text))
                asked[text] = templates_[f"q.mention.{slot}"][choice].format(p=person)
        owned = [slot for (p, slot) in history if p == person]
        for _ in range(3):
            kind = rng.choice(("hypothetical", "denial", "other"))
            slot = rng.choice(owned)
            value = pick.value(slot)
            act, did, done = (a.format(v=value) for a in _ACTS[slot])
            rel = rng.choice(_RELATIVES)
            say(
                rng.randrange(sessions),
                person,
                kind,
                slot,
                value,
                act=act,
                did=did,
                done=done,
                rel=rel,
            )

    conversation, statements = _assemble(
        rng, templates_, names, plan, sessions, f"synth-{seed}-{index}"
    )
    questions = _questions(rng, templates_, conversation, history, stable, statements, asked)
    return SyntheticSample(
        conversation=Conversation(
            id=conversation.id,
            speakers=conversation.speakers,
            sessions=conversation.sessions,
            questions=tuple(questions),
        ),
        statements=tuple(statements),
    )


def synthetic_conversation(
    seed: int,
    *,
    people: int = 2,
    sessions: int = 8,
    phrasing: str = "train",
    index: int = 0,
    mentions: float = 0.0,
) -> Conversation:
    """One generated knowledge-update conversation (see :func:`synthetic_sample`)."""
    return synthetic_sample(
        seed, people=people, sessions=sessions, phrasing=phrasing, index=index, mentions=mentions
    ).conversation


def synthetic_samples(
    n: int,
    seed: int,
    *,
    people: int = 2,
    sessions: int = 8,
    phrasing: str = "train",
    mentions: float = 0.0,
) -> list[SyntheticSample]:
    """``n`` labelled conversations ``synth-<seed>-0`` ... each from a seed drawn from ``seed``."""
    if n < 0:
        raise InvalidInputError(f"n must not be negative, got {n!r}")
    rng = random.Random(seed)
    seeds = [rng.randrange(2**32) for _ in range(n)]
    _check_mentions(mentions)
    samples = [
        synthetic_sample(s, people=people, sessions=sessions, phrasing=phrasing, mentions=mentions)
        for s in seeds
    ]
    return [
        SyntheticSample(_renamed(sample.conversation, f"synth-{seed}-{i}"), sample.statements)
        for i, sample in enumerate(samples)
    ]


def synthetic_conversations(
    n: int,
    seed: int,
    *,
    people: int = 2,
    sessions: int = 8,
    phrasing: str = "train",
    mentions: float = 0.0,
) -> list[Conversation]:
    """``n`` conversations ``synth-<seed>-0`` ... each from a seed drawn from ``seed``."""
    return [
        sample.conversation
        for sample in synthetic_samples(
            n, seed, people=people, sessions=sessions, phrasing=phrasing, mentions=mentions
        )
    ]


def write_synthetic(
    path: str | Path, n: int, seed: int, phrasing: str = "train", mentions: float = 0.0
) -> Path:
    """Write ``synthetic_samples(n, seed, phrasing=phrasing, mentions=mentions)`` as one
    LoCoMo JSON file.

    Conversation ids carry ``seed``, so files from different seeds can be loaded together.
    Each sample also keeps its turns' labels under ``"statements"`` (``dia_id``, ``person``,
    ``kind``, ``slot``, ``value``), which LoCoMo readers ignore and ``colony policy eval``
    uses to count the updates caused by distractors.
    """
    samples = synthetic_samples(n, seed, phrasing=phrasing, mentions=mentions)
    target = write_locomo([sample.conversation for sample in samples], path)
    data = json.loads(target.read_text(encoding="utf-8"))
    for item, sample in zip(data, samples, strict=True):
        item["statements"] = [asdict(st) for st in sample.statements]
    target.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def check_training_seed(seed: int) -> None:
    """Raise :class:`InvalidInputError` if ``seed`` is one of :data:`RESERVED_SEEDS`."""
    if seed in RESERVED_SEEDS:
        reserved = ", ".join(map(str, sorted(RESERVED_SEEDS)))
        raise InvalidInputError(
            f"seed {seed} is reserved for validation ({reserved}); train with another seed"
        )


def _check_mentions(mentions: float) -> None:
    if not isinstance(mentions, int | float) or not 0.0 <= mentions <= 1.0:
        raise InvalidInputError(f"mentions must be a chance between 0 and 1, got {mentions!r}")


def _renamed(conversation: Conversation, new_id: str) -> Conversation:
    return Conversation(
        id=new_id,
        speakers=conversation.speakers,
        sessions=conversation.sessions,
        questions=conversation.questions,
    )


def _phrases(phrasing: str) -> dict[str, tuple[str, ...]]:
    try:
        return _TEMPLATES[phrasing]
    except KeyError:
        raise InvalidInputError(
            f"phrasing must be one of {', '.join(PHRASINGS)}, got {phrasing!r}"
        ) from None


def _bare(value: str) -> str:
    """A value without its article, to follow "my": "a corgi" -> "corgi"."""
    for article in ("a ", "an "):
        if value.startswith(article):
            return value[len(article) :]
    return value


def _key(kind: str, slot: str) -> str:
    if kind in ("initial", "change", "mention"):
        return f"{slot}.{kind}"
    return slot if kind == "stable" else kind


class _Picker:
    """Draws values so no value is used twice in one conversation (answers stay unambiguous)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def value(self, slot: str) -> str:
        pools = {
            "residence": _CITIES,
            "hometown": _CITIES,
            "job": _EMPLOYERS,
            "car": _CARS,
            "pet": _PETS,
            "partner": _NAMES,
            "sister": _FEMALE,
            "brother": _MALE,
            "hobby": _HOBBIES,
            "food": _FOODS,
        }
        choice = self.rng.choice([v for v in pools[slot] if v not in self.used])
        self.used.add(choice)
        return choice


def _assemble(
    rng: random.Random,
    templates_: dict[str, tuple[str, ...]],
    names: list[str],
    plan: dict[int, list[_Planned]],
    sessions: int,
    conv_id: str,
) -> tuple[Conversation, list[SyntheticStatement]]:
    """Order each session's statements with filler and prompts, and date the sessions."""
    when = datetime(rng.randint(2021, 2024), rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC)
    when = when.replace(hour=rng.randint(8, 21), minute=rng.randrange(0, 60, 5))
    built: list[Session] = []
    statements: list[SyntheticStatement] = []
    for index in range(sessions):
        items = list(plan[index])
        for chat in rng.sample(templates_["filler"], rng.randint(2, 4)):
            items.append(_Planned(rng.choice(names), "filler", None, None, chat))
        rng.shuffle(items)
        lines: list[_Planned] = []
        for item in items:
            if item.kind in ("initial", "change") and item.slot and rng.random() < 0.4:
                asker = rng.choice([n for n in names if n != item.person])
                text = rng.choice(templates_["prompt"]).format(topic=_TOPICS[item.slot])
                lines.append(_Planned(asker, "prompt", item.slot, None, text))
            lines.append(item)
        number = index + 1
        turns = []
        for n, line in enumerate(lines, start=1):
            dia_id = f"D{number}:{n}"
            turns.append(
                Turn(speaker=line.person, text=line.text, dia_id=dia_id, session=number, time=when)
            )
            statements.append(
                SyntheticStatement(dia_id, line.person, line.kind, line.slot, line.value)
            )
        built.append(Session(index=number, time=when, turns=tuple(turns)))
        when += timedelta(days=rng.randint(3, 45), hours=rng.randint(-3, 3))
    return Conversation(id=conv_id, speakers=tuple(names), sessions=tuple(built)), statements


def _questions(
    rng: random.Random,
    templates_: dict[str, tuple[str, ...]],
    conversation: Conversation,
    history: dict[tuple[str, str], list[tuple[int, str]]],
    stable: dict[tuple[str, str], tuple[str, str]],
    statements: list[SyntheticStatement],
    asked: dict[str, str],
) -> list[Question]:
    turn_of = {
        (s.person, s.slot, s.value): s for s in statements if s.sets_slot or s.kind == "stable"
    }
    out: list[Question] = []

    def ask(kind: str, category: str, answer: str, evidence: str, **fields: str) -> None:
        text = rng.choice(templates_[f"q.{kind}"]).format(**fields)
        out.append(
            Question(
                question=text[0].upper() + text[1:],
                answer=answer,
                evidence=(evidence,),
                category=category,
                adversarial_answer=fields.get("dv"),
            )
        )

    for person in conversation.speakers:
        for fact in STABLE:
            value, rel = stable[person, fact]
            ask(fact, "stable", value, turn_of[person, fact, value].dia_id, p=person, rel=rel)
        for (who, slot), values in history.items():
            if who != person:
                continue
            noun = _NOUNS[slot]
            latest = turn_of[person, slot, values[-1][1]]
            before = turn_of[person, slot, values[-2][1]]
            new = values[-1][1]
            ask("current", "current", new, latest.dia_id, p=person, noun=noun)
            ask("previous", "previous", values[-2][1], before.dia_id, p=person, noun=noun, new=new)
            day = format_day(conversation.turn(latest.dia_id).time)
            ask("when", "when", day, latest.dia_id, p=person, noun=noun, new=new)
        for s in statements:
            if s.person == person and s.kind in DISTRACTOR_KINDS and s.slot and s.value:
                final = turn_of[person, s.slot, history[person, s.slot][-1][1]]
                ask(
                    "distractor",
                    "distractor",
                    history[person, s.slot][-1][1],
                    final.dia_id,
                    p=person,
                    noun=_NOUNS[s.slot],
                    dv=s.value,
                )
            if s.person == person and s.kind == "mention" and s.value:
                text = conversation.turn(s.dia_id).text
                out.append(
                    Question(
                        question=asked[text],
                        answer=s.value,
                        evidence=(s.dia_id,),
                        category="mention",
                    )
                )
    return out


def format_day(when: datetime) -> str:
    """The answer to a "when" question: the day the change was told, ``"8 May 2023"``."""
    return f"{when.day} {MONTH_NAMES[when.month]} {when.year}"
