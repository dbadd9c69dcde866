"""The cost bound counts what the strings extension's ``quote`` and ``format`` really
write (issue 23): a plan could otherwise pass validation with a condition that takes a
worker seconds and gigabytes (nested quotes double their text at every level) and take
every run on that worker down with it."""

from __future__ import annotations

from interpreter.cel_env import compile_condition
from interpreter.cel_limits import CHARS_PER_UNIT, COST
from interpreter.cel_validate import check_condition_google

BACKSLASHES = "'" + "\\\\" * 500 + "'"  # 500 backslashes


def _quoted(levels: int) -> str:
    return "strings.quote(" * levels + BACKSLASHES + ")" * levels


def _refused_for_cost(source: str) -> bool:
    problems = check_condition_google(source, step_ids=frozenset())
    return any("evaluation cost limit" in p.message for p in problems)


def test_nested_quotes_double_the_text_and_are_refused_before_they_run() -> None:
    # Measured: every level doubles the text (a backslash is written as two).
    eight = compile_condition(f"{_quoted(8)}.size()").evaluate()
    assert eight >= 500 * 2**8
    # Twenty levels would write over 500 million characters.
    assert COST.value * CHARS_PER_UNIT < 500 * 2**20
    assert _refused_for_cost(f"{_quoted(20)}.size() > 0")
    assert not check_condition_google(f"{_quoted(2)}.size() > 0", step_ids=frozenset())


def test_a_format_pattern_writes_more_than_its_own_length_and_is_counted() -> None:
    pattern, arguments = "%.999f" * 15, ", ".join(["-1.7976931348623157e308"] * 15)
    formatted = f"'{pattern}'.format([{arguments}])"
    one = len(compile_condition(formatted).evaluate())
    assert one == 15 * 1310  # from a 90-character pattern
    # An empty pattern inserts the replacement between every character.
    product = f"{formatted}.replace('', {formatted}).size() > 0"
    assert one * (one + 1) // CHARS_PER_UNIT > COST.value
    assert _refused_for_cost(product)
    assert not check_condition_google(f"{formatted}.size() > 0", step_ids=frozenset())
