"""Dates in conversation text: parse date stamps and resolve relative expressions.

Speakers say "yesterday", "last weekend" or "in May"; a memory read weeks later needs the
absolute date. :func:`find_dates` locates such expressions in a sentence and resolves them
against the date the sentence was said; :func:`annotate_dates` writes the absolute date next
to each one so the stored text stays readable and searchable on its own.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from memory.errors import InvalidInputError

__all__ = [
    "DateMention",
    "Period",
    "Tense",
    "annotate_dates",
    "detect_tense",
    "find_dates",
    "format_day",
    "format_month",
    "named_periods",
    "parse_datetime",
]

Tense = Literal["past", "future", "neutral"]
Granularity = Literal["day", "week", "weekend", "month", "season", "year"]

MONTH_NAMES = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS: dict[str, int] = {name.lower(): i for i, name in enumerate(MONTH_NAMES) if name}
_MONTHS.update({name[:3].lower(): i for i, name in enumerate(MONTH_NAMES) if name})
_MONTHS["sept"] = 9
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS: dict[str, int] = {name.lower(): i for i, name in enumerate(WEEKDAY_NAMES)}
_WEEKDAYS.update({"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3})
_WEEKDAYS.update({"fri": 4, "sat": 5, "sun": 6})
_NUMBER_WORDS = re.findall(
    r"\w+",
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty",
)
_NUMBERS: dict[str, int] = {word: i for i, word in enumerate(_NUMBER_WORDS)}
_NUMBERS.update({"a": 1, "an": 1, "thirty": 30, "forty": 40, "fifty": 50})
# Vague quantities resolve to a typical value and mark the date approximate.
_VAGUE = {"few": 3, "couple": 2, "several": 3}
_SEASON_START = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}

# Month names are matched capitalised only: "may" and "march" are also common words.
_MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)
_MONTH_FULL_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)"
)
# Abbreviations are matched capitalised ("Sat", not the verb "sat"), except unambiguous ones.
_WEEKDAY_RE = (
    r"(?:(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday|fri|tues|thurs)|"
    r"Mon|Tues|Tue|Wed|Thurs|Thur|Thu|Fri|Sat|Sun)"
)
_NUM_RE = (
    r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
    r"fifty|a\s+couple\s+of|a\s+couple|couple\s+of|a\s+few|few|several)"
)
_PART_OF_DAY = r"(?:\s+(?i:morning|afternoon|evening|night))?"

_FUTURE = re.compile(
    r"\b(?:will|shall|gonna|going\s+to|plan(?:ning)?\s+to|hope\s+to|hoping\s+to|"
    r"can't\s+wait|cannot\s+wait|looking\s+forward|upcoming|coming\s+up|tomorrow|soon|"
    r"next|about\s+to)\b|'ll\b",
    re.IGNORECASE,
)
_PAST = re.compile(
    r"\b(?:was|were|did|had|went|got|came|made|took|saw|gave|met|found|bought|began|"
    r"started|finished|ago|yesterday|last|used\s+to)\b|"
    r"\b(?:I|we|he|she|they|you)\s+(?:\w+ly\s+)?\w+ed\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date expression found in a text and what it resolves to.

    Attributes:
        text: The expression as written.
        start: Offset of the expression in the searched text.
        end: Offset just past the expression.
        date: First day of the period the expression points at.
        granularity: Size of that period.
        label: Absolute rendering to show after the expression, or ``None`` when the
            expression is already absolute.
        approximate: True for vague expressions ("a few days ago").
    """

    text: str
    start: int
    end: int
    date: date
    granularity: Granularity
    label: str | None
    approximate: bool = False


def format_day(day: date) -> str:
    """Render a day as ``"7 May 2023"``."""
    return f"{day.day} {MONTH_NAMES[day.month]} {day.year}"


def format_month(day: date) -> str:
    """Render the month of a day as ``"May 2023"``."""
    return f"{MONTH_NAMES[day.month]} {day.year}"


# ---------------------------------------------------------------------------------------
# Absolute date stamps ("1:56 pm on 8 May, 2023")
# ---------------------------------------------------------------------------------------

_TIME_12 = re.compile(r"\b(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])\.?\s*m\b\.?", re.I)
_TIME_24 = re.compile(r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?\b")
_DMY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]+)\.?\s+(\d{4})")
_MDY = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\s+(\d{4})")
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_NUMERIC = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_FILLER = re.compile(
    r"\b(?:on|at|the|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|[,]", re.I
)


def parse_datetime(value: str, *, tz: tzinfo | None = None) -> datetime:
    """Parse a date stamp such as ``"1:56 pm on 8 May, 2023"``.

    Accepted: ISO 8601; a day and month name in either order with a year ("8 May 2023",
    "May 8th, 2023", "Monday, 8 May 2023"); ``YYYY/MM/DD``; ``DD/MM/YYYY`` when the day
    is above 12; each optionally with a 12- or 24-hour time before or after the date.

    Args:
        value: The stamp.
        tz: Time zone attached to a stamp that has none.

    Raises:
        InvalidInputError: The value is not a recognisable date.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"expected a date such as '1:56 pm on 8 May, 2023', got {value!r}")
    text = " ".join(value.split())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _parse_free_datetime(text, value)
    if parsed.tzinfo is None and tz is not None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _parse_free_datetime(text: str, original: str) -> datetime:
    hour = minute = second = 0
    if match := _TIME_12.search(text):
        hour, minute = int(match[1]), int(match[2] or 0)
        second = int(match[3] or 0)
        if not 1 <= hour <= 12:
            raise InvalidInputError(f"hour {hour} is not a 12-hour clock hour in {original!r}")
        hour = hour % 12 + (12 if match[4].lower() == "p" else 0)
        text = text[: match.start()] + " " + text[match.end() :]
    elif match := _TIME_24.search(text):
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        text = text[: match.start()] + " " + text[match.end() :]
    rest = " ".join(_FILLER.sub(" ", text.lower()).split())
    day_value = _parse_date_part(rest, original)
    try:
        return datetime(day_value.year, day_value.month, day_value.day, hour, minute, second)
    except ValueError as exc:
        raise InvalidInputError(f"invalid time in {original!r}: {exc}") from exc


def _parse_date_part(rest: str, original: str) -> date:
    year = month = day = 0
    if match := _DMY.fullmatch(rest):
        day, month, year = int(match[1]), _MONTHS.get(match[2], 0), int(match[3])
    elif match := _MDY.fullmatch(rest):
        month, day, year = _MONTHS.get(match[1], 0), int(match[2]), int(match[3])
    elif match := _YMD.fullmatch(rest):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif match := _NUMERIC.fullmatch(rest):
        first, second = int(match[1]), int(match[2])
        if first <= 12 and second <= 12 and first != second:
            raise InvalidInputError(
                f"ambiguous numeric date {original!r}: write the month as a name or use "
                "ISO 8601 (YYYY-MM-DD)"
            )
        day, month = (first, second) if first > 12 else (second, first)
        year = int(match[3])
    if not month:
        raise InvalidInputError(
            f"unrecognised date {original!r}: expected e.g. '1:56 pm on 8 May, 2023', "
            "'May 8, 2023' or '2023-05-08T13:56'"
        )
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidInputError(f"invalid date {original!r}: {exc}") from exc


# ---------------------------------------------------------------------------------------
# Calendar arithmetic
# ---------------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    """Shift by whole months, clamping the day (31 March - 1 month = 28/29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _shift(ref: date, amount: int, unit: str) -> date:
    if unit == "day":
        return ref + timedelta(days=amount)
    if unit == "week":
        return ref + timedelta(weeks=amount)
    if unit == "month":
        return _add_months(ref, amount)
    if unit == "year":
        return _add_months(ref, 12 * amount)
    return _add_months(ref, 120 * amount)  # decade


def _pick(
    options: Sequence[date], ref: date, tense: Tense, *, end_of: Callable[[date], date]
) -> date:
    """Choose among candidate periods (by start day) the one the speaker most likely means."""
    past = [d for d in options if d <= ref]
    future = [d for d in options if end_of(d) >= ref]
    if tense == "past" and past:
        return max(past)
    if tense == "future" and future:
        return min(future)
    return min(options, key=lambda d: min(abs((d - ref).days), abs((end_of(d) - ref).days)))


def _month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _season_end(start: date) -> date:
    return _add_months(start, 3) - timedelta(days=1)


def _season_label(name: str, start: date) -> str:
    if start.month == 12:
        return f"winter {start.year}-{start.year + 1}"
    return f"{name} {start.year}"


def _weekend_before(ref: date) -> date:
    """Saturday of the last weekend that began before the week of ``ref`` (Monday first)."""
    return ref - timedelta(days=ref.weekday() + 2)


def _to_int(word: str) -> tuple[int, bool]:
    """Value of a quantity word and whether it is vague."""
    word = " ".join(word.lower().split())
    if word.isdigit():
        return int(word), False
    for vague, value in _VAGUE.items():
        if vague in word:
            return value, True
    return _NUMBERS.get(word, 1), False


def detect_tense(text: str) -> Tense:
    """Guess whether a sentence talks about the future, the past, or neither."""
    if _FUTURE.search(text):
        return "future"
    if _PAST.search(text):
        return "past"
    return "neutral"


# ---------------------------------------------------------------------------------------
# Relative expressions
# ---------------------------------------------------------------------------------------

_Resolution = tuple[date, Granularity, str | None, bool] | None
_Handler = Callable[[re.Match[str], date, Tense], _Resolution]


def _iso(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    day = _safe_date(int(match[1]), int(match[2]), int(match[3]))
    return None if day is None else (day, "day", format_day(day), False)


def _day_month_year(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    day = _safe_date(int(match["y"]), _MONTHS[match["m"].lower()], int(match["d"]))
    return None if day is None else (day, "day", None, False)


def _month_day_year(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    day = _safe_date(int(match["y"]), _MONTHS[match["m"].lower()], int(match["d"]))
    return None if day is None else (day, "day", format_day(day), False)


def _month_year(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    return date(int(match["y"]), _MONTHS[match["m"].lower()], 1), "month", None, False


def _day_month(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    month, day_number = _MONTHS[match["m"].lower()], int(match["d"])
    options = [
        d for y in (ref.year - 1, ref.year, ref.year + 1) if (d := _safe_date(y, month, day_number))
    ]
    if not options:
        return None
    day = _pick(options, ref, tense, end_of=lambda d: d)
    return day, "day", format_day(day), False


def _named_month(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    modifier = " ".join(match["mod"].lower().split())
    month = _MONTHS[match["m"].lower()]
    current = date(ref.year, ref.month, 1)
    options = [date(y, month, 1) for y in (ref.year - 1, ref.year, ref.year + 1)]
    if modifier == "last":
        start = max(d for d in options if d < current)
    elif modifier == "next":
        start = min(d for d in options if d > current)
    elif modifier == "this":
        start = date(ref.year, month, 1)
    else:
        start = _pick(options, ref, tense, end_of=_month_end)
    return start, "month", format_month(start), False


def _year(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    return date(int(match["y"]), 1, 1), "year", None, False


def _season_year(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    name = match["s"].lower()
    start = date(int(match["y"]), _SEASON_START[name], 1)
    return start, "season", None, False


def _offset_day(days: int) -> _Handler:
    def handler(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
        day = ref + timedelta(days=days)
        return day, "day", f"on {format_day(day)}", False

    return handler


def _weekend(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    modifier = " ".join((match["mod"] or "").lower().split())
    weekday = ref.weekday()
    in_weekend = weekday >= 5
    if modifier in ("last", "past", "this past") or (not modifier and tense != "future"):
        saturday = _weekend_before(ref)
        return saturday, "weekend", f"the weekend before {format_day(ref)}", False
    if modifier == "next" and in_weekend:
        saturday = ref + timedelta(days=12 - weekday)
    elif modifier == "this" and tense == "past" and not in_weekend:
        saturday = _weekend_before(ref)
    elif in_weekend:
        saturday = ref - timedelta(days=weekday - 5)
    else:
        saturday = ref + timedelta(days=5 - weekday)
    return saturday, "weekend", f"the weekend of {format_day(saturday)}", False


def _weekday(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    modifier = " ".join((match["mod"] or "").lower().split())
    target = _WEEKDAYS[match["w"].lower()]
    back = (ref.weekday() - target) % 7 or 7  # strictly before ref
    ahead = (target - ref.weekday()) % 7 or 7  # strictly after ref
    if modifier in ("last", "past", "this past"):
        day = ref - timedelta(days=back)
    elif modifier in ("next", "coming", "this coming"):
        day = ref + timedelta(days=ahead)
    elif modifier == "this":
        same = ref.weekday() == target
        if same:
            day = ref
        elif tense == "past":
            day = ref - timedelta(days=back)
        else:
            day = ref + timedelta(days=ahead)
    elif tense == "future":
        day = ref + timedelta(days=ahead)
    else:
        day = ref - timedelta(days=back)
    # The expression already names the weekday; the label only adds the date.
    return day, "day", format_day(day), False


def _period(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    modifier = " ".join(match["mod"].lower().split())
    unit = match["u"].lower()
    step = {"last": -1, "past": -1, "this past": -1, "the previous": -1, "previous": -1}.get(
        modifier, 1 if modifier in ("next", "coming", "the coming", "the following") else 0
    )
    if unit == "week":
        monday = ref - timedelta(days=ref.weekday()) + timedelta(weeks=step)
        word = {-1: "before", 0: "of", 1: "after"}[step]
        return monday, "week", f"the week {word} {format_day(ref)}", False
    if modifier in ("past", "this past"):
        # "the past year" is the twelve months before, not the previous calendar year
        return _shift(ref, -1, unit), "day", f"the {unit} before {format_day(ref)}", True
    if unit == "month":
        start = _add_months(date(ref.year, ref.month, 1), step)
        return start, "month", format_month(start), False
    start = date(ref.year + step, 1, 1)
    return start, "year", str(start.year), False


def _ago(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    amount, vague = _to_int(match["n"])
    unit = match["u"].lower()
    day = _shift(ref, -amount, unit)
    return _approx_label(day, unit, vague or unit != "day")


def _in_future(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    if tense != "future":  # "lost ten pounds in two weeks" is a duration, not a date
        return None
    amount, vague = _to_int(match["n"])
    unit = match["u"].lower()
    return _approx_label(_shift(ref, amount, unit), unit, vague or unit != "day")


def _approx_label(day: date, unit: str, approximate: bool) -> _Resolution:
    prefix = "around " if approximate else "on "
    if unit in ("day", "week"):
        return day, "day", prefix + format_day(day), approximate
    if unit == "month":
        return date(day.year, day.month, 1), "month", "around " + format_month(day), True
    return date(day.year, 1, 1), "year", f"around {day.year}", True


def _recent_span(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    amount, _ = _to_int(match["n"] or "a")
    unit = match["u"].lower()
    quantity = " ".join(match["n"].lower().split()) + " " if match["n"] else ""
    start = _shift(ref, -amount, unit)
    label = f"the {quantity}{unit}s before {format_day(ref)}"
    return start, "day", label, True


def _other_day(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    return ref - timedelta(days=3), "day", f"a few days before {format_day(ref)}", True


def _season(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    modifier = " ".join(match["mod"].lower().split())
    name = match["s"].lower()
    starts = [date(y, _SEASON_START[name], 1) for y in range(ref.year - 2, ref.year + 3)]
    containing = [s for s in starts if s <= ref <= _season_end(s)]
    if modifier in ("last", "past", "this past"):
        start = max(s for s in starts if _season_end(s) < ref)
    elif modifier == "next":
        # "next summer" said in May is the one after the coming one.
        start = min(s for s in starts if s > ref + timedelta(days=90))
    elif modifier in ("coming", "this coming"):
        start = min(s for s in starts if s > ref)
    elif containing:
        start = containing[0]
    elif tense == "past":
        start = max(s for s in starts if _season_end(s) < ref)
    else:
        start = min(s for s in starts if s > ref)
    return start, "season", _season_label(name, start), False


def _nth(match: re.Match[str], ref: date, tense: Tense) -> _Resolution:
    number = int(match["d"])
    options: list[date] = []
    for offset in (-2, -1, 0, 1, 2):
        month = _add_months(date(ref.year, ref.month, 1), offset)
        if day_option := _safe_date(month.year, month.month, number):
            options.append(day_option)
    if not options:
        return None
    day = _pick(options, ref, "future" if tense == "future" else "past", end_of=lambda d: d)
    return day, "day", f"on {format_day(day)}", False


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_MOD_ANY = r"(?P<mod>(?i:last|this\s+past|past|this\s+coming|the\s+coming|coming|next|this))"
_ORD = r"(?:st|nd|rd|th)?"

_PATTERNS: tuple[tuple[re.Pattern[str], _Handler], ...] = tuple(
    (re.compile(pattern), handler)
    for pattern, handler in (
        (r"\b(\d{4})-(\d{2})-(\d{2})\b", _iso),
        (
            rf"\b(?P<d>\d{{1,2}}){_ORD}(?:\s+of)?\s+(?P<m>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}})\b",
            _day_month_year,
        ),
        (
            rf"\b(?P<m>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}}){_ORD},?\s+(?P<y>\d{{4}})\b",
            _month_day_year,
        ),
        (rf"\b(?P<m>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}})\b", _month_year),
        (rf"\b(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m>{_MONTH_RE})\b", _day_month),
        (rf"\b(?P<m>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}}){_ORD}\b(?![:\d])", _day_month),
        (
            r"\b(?P<mod>(?i:in|this|last|next|since|by|until|till|early|late|mid|during|"
            r"through|throughout|(?:the\s+)?(?:end|beginning|start|middle)\s+of))"
            rf"(?:\s+(?i:early|late|mid))?[\s-]+(?P<m>{_MONTH_FULL_RE})\b",
            _named_month,
        ),
        (
            r"\b(?i:in|since|from|by|until|till|during|circa|early|late|mid)"
            r"\s+(?P<y>19[5-9]\d|20\d\d)\b(?!s\b|\d|%)",
            _year,
        ),
        (
            r"\b(?P<s>(?i:summer|winter|spring|fall|autumn))\s+(?:(?i:of)\s+)?(?P<y>\d{4})\b",
            _season_year,
        ),
        (r"\b(?i:the\s+day\s+before\s+yesterday)\b", _offset_day(-2)),
        (r"\b(?i:the\s+day\s+after\s+tomorrow)\b", _offset_day(2)),
        (r"\b(?i:yesterday)\b" + _PART_OF_DAY, _offset_day(-1)),
        (r"\b(?i:last\s+night)\b", _offset_day(-1)),
        (r"\b(?i:tomorrow)\b" + _PART_OF_DAY, _offset_day(1)),
        (
            r"\b(?i:(?:earlier\s+|later\s+)?today|tonight|this\s+(?:morning|afternoon|evening))\b",
            _offset_day(0),
        ),
        (rf"\b{_MOD_ANY}\s+(?i:weekend)\b", _weekend),
        (r"\b(?P<mod>)(?i:(?:over|on|during)\s+the\s+weekend)\b", _weekend),
        (rf"\b{_MOD_ANY}\s+(?P<w>{_WEEKDAY_RE})\b(?!s\b)" + _PART_OF_DAY, _weekday),
        (
            r"\b(?P<mod>)(?:(?i:on)\s+)?(?P<w>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|"
            r"Sunday)\b(?!s\b)" + _PART_OF_DAY,
            _weekday,
        ),
        (r"\b(?P<mod>)(?i:on)\s+(?P<w>Mon|Tues?|Wed|Thu(?:rs?)?|Fri|Sat|Sun)\b\.?", _weekday),
        (
            r"\b(?P<mod>(?i:last|this\s+past|past|the\s+previous|previous|this|next|"
            r"the\s+coming|coming|the\s+following|earlier\s+this|later\s+this))"
            r"\s+(?P<u>(?i:week|month|year))\b",
            _period,
        ),
        (rf"\b(?P<n>(?i:{_NUM_RE}))\s+(?P<u>(?i:day|week|month|year|decade))s?\s+(?i:ago)\b", _ago),
        (rf"\b(?i:in)\s+(?P<n>(?i:{_NUM_RE}))\s+(?P<u>(?i:day|week|month|year))s?\b", _in_future),
        (
            rf"\b(?i:(?:the\s+)?(?:past|last))\s+(?P<n>(?i:{_NUM_RE}))?\s*"
            r"(?P<u>(?i:day|week|month|year))s\b",
            _recent_span,
        ),
        (r"\b(?i:the\s+other\s+day)\b", _other_day),
        (rf"\b{_MOD_ANY}\s+(?P<s>(?i:summer|winter|spring|fall|autumn))\b", _season),
        (
            rf"\b(?i:on\s+the)\s+(?P<d>\d{{1,2}})(?i:st|nd|rd|th)\b(?!\s+(?:of\s+)?{_MONTH_RE})",
            _nth,
        ),
    )
)


def find_dates(
    text: str, reference: date | datetime, *, tense: Tense | None = None
) -> list[DateMention]:
    """Find date expressions in ``text`` and resolve them against ``reference``.

    Overlapping matches keep the longest ("the day before yesterday" over "yesterday").

    Args:
        text: One sentence or a few; the tense of the whole text breaks ties such as
            whether "in May" is the last or the next May.
        reference: When the text was said.
        tense: Override the detected tense.

    Returns:
        Mentions in text order.
    """
    ref = reference.date() if isinstance(reference, datetime) else reference
    used_tense = tense or detect_tense(text)
    found: list[DateMention] = []
    for pattern, handler in _PATTERNS:
        for match in pattern.finditer(text):
            resolved = handler(match, ref, used_tense)
            if resolved is None:
                continue
            day, granularity, label, approximate = resolved
            found.append(
                DateMention(
                    text=match[0],
                    start=match.start(),
                    end=match.end(),
                    date=day,
                    granularity=granularity,
                    label=label,
                    approximate=approximate,
                )
            )
    kept: list[DateMention] = []
    for mention in sorted(found, key=lambda m: (-(m.end - m.start), m.start)):
        if all(mention.end <= other.start or mention.start >= other.end for other in kept):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.start)


def annotate_dates(text: str, mentions: Sequence[DateMention]) -> str:
    """Insert ``" (label)"`` after each mention that has a label."""
    for mention in sorted(mentions, key=lambda m: m.end, reverse=True):
        if mention.label:
            # "tomorrow's party" -> "tomorrow's (on 20 June 2023) party"
            end = mention.end + (2 if text[mention.end : mention.end + 2] == "'s" else 0)
            text = f"{text[:end]} ({mention.label}){text[end:]}"
    return text


# ---------------------------------------------------------------------------------------
# Calendar constraints in questions
# ---------------------------------------------------------------------------------------

_SEASON_MONTHS = {
    "spring": frozenset({3, 4, 5}),
    "summer": frozenset({6, 7, 8}),
    "fall": frozenset({9, 10, 11}),
    "autumn": frozenset({9, 10, 11}),
    "winter": frozenset({12, 1, 2}),
}
_ORDINAL = r"(?:st|nd|rd|th)?"
_PERIOD_PATTERNS = (
    re.compile(rf"\b(?P<m>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}}){_ORDINAL},?\s+(?P<y>\d{{4}})\b"),
    re.compile(
        rf"\b(?P<d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<m>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}})\b"
    ),
    # "May I ask": the modal, not the month.
    re.compile(
        rf"\b(?P<m>{_MONTH_FULL_RE})(?:,?\s+(?P<y>\d{{4}}))?\b"
        r"(?!\s+(?:I|we|you|he|she|they|it)\b)"
    ),
    # "fall" and "spring" are verbs too: a season needs a preposition or a year with it.
    re.compile(
        r"\b(?:(?i:in|during|for|over|this|last|next|the)\s+)+(?P<s>(?i:spring|summer|fall|"
        r"autumn|winter))(?:\s+(?:of\s+)?(?P<y>\d{4}))?\b"
    ),
    re.compile(r"\b(?P<s>(?i:spring|summer|fall|autumn|winter))\s+(?:of\s+)?(?P<y>\d{4})\b"),
    re.compile(r"\b(?i:in|during|throughout|since)\s+(?P<y>(?:19|20)\d\d)\b"),
)


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar constraint named in a text: "in June", "summer 2023", "on 13 October 2023".

    Attributes:
        year: The year, or ``None`` for any year.
        months: The months (1-12) it covers; empty for the whole year.
        day: The day of the month, or ``None``.
    """

    year: int | None
    months: frozenset[int]
    day: int | None = None

    def contains(self, day: date, *, slack_days: int = 3) -> bool:
        """True when ``day`` falls in the period (a named day allows ``slack_days``)."""
        if self.day is not None and self.year is not None and self.months:
            target = _safe_date(self.year, min(self.months), self.day)
            if target is not None:
                return abs((day - target).days) <= slack_days
        # A winter that starts in December runs into the next year.
        year = day.year - 1 if 12 in self.months and day.month in (1, 2) else day.year
        if self.year is not None and year != self.year:
            return False
        return not self.months or day.month in self.months


def named_periods(text: str) -> list[Period]:
    """Calendar periods a question names, longest expressions first, without overlaps.

    Only absolute expressions count ("in June", "summer 2023", "October 13, 2023"):
    relative ones ("last year") have no reference date in a question.
    """
    found: list[tuple[int, int, Period]] = []
    for pattern in _PERIOD_PATTERNS:
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end, _ in found):
                continue
            groups = match.groupdict()
            year = int(groups["y"]) if groups.get("y") else None
            if groups.get("s"):
                months = _SEASON_MONTHS[groups["s"].lower()]
            elif groups.get("m"):
                months = frozenset({_MONTHS[groups["m"].lower().rstrip(".")]})
            else:
                months = frozenset()
            day = int(groups["d"]) if groups.get("d") else None
            found.append((match.start(), match.end(), Period(year, months, day)))
    return [period for _, _, period in sorted(found, key=lambda item: item[0])]
