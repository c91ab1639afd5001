"""Hypothesis strategies for what reaches the bot from outside: Slack payloads and files.

Slack-shaped payloads keep the envelope Slack always sends (the ``type``, a
``user`` object with a string id, ``view.type``, ``actions`` as a list of
objects, ``event`` as an object) and vary everything inside it: ids that exist
or not, other people's ids, unicode, control characters, mrkdwn, oversized
strings, numbers out of range, missing keys and wrong JSON types. Envelopes
Slack never sends are tested separately (``test_fuzz_payloads``: the xfails).

:func:`fuzz` runs one property over a strategy with the suite's settings and
counts the cases it ran (``tests.fuzzcount``). ``FUZZ_SCALE`` multiplies the
number of examples (e.g. ``FUZZ_SCALE=10`` for a long local run);
``FUZZ_RANDOM=1`` draws fresh random examples instead of the fixed,
reproducible ones CI runs.
"""

from __future__ import annotations

import functools
import os
import string
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzzcount import record_case

T = TypeVar("T")

SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") != ""


def fuzz(strategy: st.SearchStrategy[T], check: Callable[[T], None], *, examples: int) -> None:
    """Run ``check`` on ``examples`` (times ``FUZZ_SCALE``) values drawn from ``strategy``.

    Derandomized unless ``FUZZ_RANDOM`` is set: the same cases on every run. No
    example database (nothing is written to .hypothesis/). A failing case is
    shrunk to a minimal one, which hypothesis prints.
    """

    @settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        print_blob=RANDOM,
    )
    @given(strategy)
    def run(value: T) -> None:
        record_case()
        check(value)

    run()


# -- text ----------------------------------------------------------------------------

# Characters that have broken parsers, databases or Slack rendering somewhere.
NASTY_CHARS = (
    "\x00",  # PostgreSQL text cannot hold it
    "\ud800",  # a lone surrogate: valid in JSON ("\ud800"), not encodable as UTF-8
    "\udfff",
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\ufeff",  # byte order mark
    "\u2028",  # line separator (str.splitlines splits on it)
    "\x85",  # next line, likewise
    "\x1b",
    "\x7f",
    "\t",
    "\r\n",
    "\u00a0",  # no-break space (str.split splits on it)
    "\u3000",
    "🧪",
    "é",
    "e\u0301",
    "²",  # str.isdigit() is true, int() refuses it
    "\u0661",  # an Arabic-Indic digit: int() accepts it
    "\uff11",  # a fullwidth digit
)
MRKDWN = (
    "<!channel>",
    "<!here>",
    "<@U0AAA>",
    "<#C0HIRING>",
    "<https://example.invalid|click>",
    "*bold*",
    "_it_",
    "~strike~",
    "`code`",
    "```block```",
    "&lt;&amp;&gt;",
    "<>&",
    "> quote",
    "{}",
    "{0}",
    "%s",
    "\\",
    '"',
    "'",
    "../../etc/passwd",
    "'; DROP TABLE interviews; --",
)

_alphabet = st.characters(codec=None, exclude_categories=())  # surrogates too


@functools.cache
def huge_text(min_chars: int = 3_001, max_chars: int = 40_000) -> st.SearchStrategy[str]:
    """A long string, cheaply: a short piece repeated."""
    return st.builds(
        lambda piece, length: (piece * (length // len(piece) + 1))[:length],
        st.text(_alphabet, min_size=1, max_size=6),
        st.integers(min_chars, max_chars),
    )


@functools.cache
def nasty_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any string: short unicode, control and mrkdwn characters, or oversized."""
    return st.one_of(
        st.text(_alphabet, max_size=max_size),
        st.lists(st.sampled_from(NASTY_CHARS + tuple(string.printable)), max_size=max_size).map(
            "".join
        ),
        st.sampled_from(MRKDWN + NASTY_CHARS + ("", " ", "\n")),
        huge_text(),
    )


def text_near(valid: Sequence[str]) -> st.SearchStrategy[str]:
    """Mostly the valid strings given, else their near misses, else anything."""
    return _text_near(tuple(valid))


@functools.cache  # building strategies is slow: build each one once
def _text_near(valid: tuple[str, ...]) -> st.SearchStrategy[str]:
    valid_st = st.sampled_from(valid)
    return st.one_of(
        valid_st,
        valid_st.map(str.upper),
        valid_st.map(lambda s: f" {s} "),
        st.tuples(valid_st, st.sampled_from(NASTY_CHARS + MRKDWN)).map("".join),
        valid_st.map(lambda s: s * 40),
        nasty_text(),
    )


@functools.cache
def numbers() -> st.SearchStrategy[int | float]:
    """Numbers as JSON carries them: negative, zero, huge, fractional, not finite."""
    return st.one_of(
        st.integers(-(2**70), 2**70),
        st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**30]),
        st.floats(allow_nan=True, allow_infinity=True),
    )


@functools.cache
def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value (what a wrong type can be)."""
    leaves: st.SearchStrategy[Any] = st.one_of(
        st.none(), st.booleans(), numbers(), nasty_text(max_size=10)
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.text(max_size=5), children, max_size=3),
        ),
        max_leaves=max_leaves,
    )


@functools.cache
def maybe(strategy: st.SearchStrategy[T], *, wrong: bool = True) -> st.SearchStrategy[Any]:
    """``strategy``'s values, sometimes a wrong JSON type, sometimes the key missing.

    The missing key is :data:`MISSING`; :func:`put` drops it.
    """
    options: list[st.SearchStrategy[Any]] = [strategy, strategy, st.just(MISSING), st.none()]
    if wrong:
        options.append(json_values())
    return st.one_of(*options)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def put(target: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``target[key] = value`` unless ``value`` is :data:`MISSING`; returns ``target``."""
    if value is not MISSING:
        target[key] = value
    return target


def slack_ids(known: Sequence[str], prefix: str = "U") -> st.SearchStrategy[str]:
    """Known ids, well-formed unknown ones, and near misses."""
    return _slack_ids(tuple(known), prefix)


@functools.cache
def _slack_ids(known: tuple[str, ...], prefix: str) -> st.SearchStrategy[str]:
    well_formed = st.text(
        st.sampled_from(string.ascii_uppercase + string.digits), min_size=2, max_size=12
    ).map(lambda s: prefix + s)
    return st.one_of(
        st.sampled_from(list(known)),
        st.sampled_from(list(known)),
        well_formed,
        st.sampled_from(list(known)).map(str.lower),
        st.sampled_from([prefix, "", " ", prefix * 300]),
    )


# -- Slack option and input values -------------------------------------------------------


def option(value: Any) -> dict[str, Any]:
    text = value if isinstance(value, str) else "x"
    return {"text": {"type": "plain_text", "text": text[:75], "emoji": True}, "value": value}


def selected_option(values: Sequence[str]) -> st.SearchStrategy[Any]:
    """A select's ``selected_option``: one of ``values``, an unknown one, null, junk."""
    return _selected_option(tuple(values))


@functools.cache
def _selected_option(values: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(list(values)).map(option),
        st.sampled_from(list(values)).map(option),
        text_near(values).map(option),
        st.none(),
        json_values().map(option),
        json_values(),
        st.fixed_dictionaries({}, optional={"value": json_values(), "text": json_values()}),
    )


@functools.cache
def text_input(typical: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """A plain_text_input's ``value``: typical text, nasty text, null, a wrong type."""
    return st.one_of(typical, typical, nasty_text(), huge_text(), st.none(), json_values())
