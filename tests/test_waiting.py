"""``tests/integration/waiting.py``: a wait ends on its condition, or fails saying so."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.waiting import until, until_true


async def test_until_returns_the_first_answer_the_condition_accepts() -> None:
    answers = iter([1, 2, 3, 4])

    async def probe() -> int:
        return next(answers)

    assert await until(probe, lambda n: n >= 3, what="three", every=0) == 3
    assert next(answers) == 4  # no look after the one that ended the wait


async def test_until_fails_naming_the_condition_and_the_last_answer() -> None:
    async def probe() -> str:
        return "WAITING"

    with pytest.raises(AssertionError, match=r"^run r-1 completing: not within 0\.05 s") as e:
        await until(probe, lambda s: s == "COMPLETED", what="run r-1 completing", timeout=0.05)
    assert str(e.value).endswith("(last seen: 'WAITING')")


async def test_until_true_ends_when_another_task_sets_the_flag() -> None:
    flag = asyncio.Event()
    asyncio.get_running_loop().call_later(0.02, flag.set)
    await until_true(flag.is_set, what="the flag", timeout=5, every=0.01)
    assert flag.is_set()
    with pytest.raises(AssertionError, match=r"^never: not within 0 s"):
        await until_true(lambda: False, what="never", timeout=0)
