"""Wait on what a test observes, not on the clock.

A test that needs a run to reach a status, a server to start or a row to appear asks
for that condition with ``until`` (or ``until_true``): a poll bounded by a timeout that
fails naming what it waited for and what it last saw. A bare ``asyncio.sleep`` in a
test is either too short on a loaded machine or too long everywhere else; the one
sleep left is here, between two looks at the condition.

Sleeps that stand for time a component takes (a slow SMTP sink, a provider stand-in's
delay, a send held for seconds) are the behaviour under test and stay where they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import Client

from activities import contracts as c

T = TypeVar("T")

# how much of the last answer a timeout message shows
_SHOWN = 500


async def until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], object] = bool,
    *,
    what: str,
    timeout: float = 30.0,
    every: float = 0.05,
) -> T:
    """Await ``probe()`` until ``done`` holds for its answer, and return that answer.

    Args:
        probe: Looks once (a run's status, a timeline, a history); called again after
            ``every`` seconds while ``done`` does not hold.
        done: Whether an answer is the one waited for (by default: it is truthy).
        what: The condition, in words, for the failure message.
        timeout: Seconds (real time) before the wait fails.
        every: Seconds between two looks.

    Returns:
        The first answer for which ``done`` holds.

    Raises:
        AssertionError: When ``timeout`` passes first; it names ``what`` and the last
            answer seen.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = await probe()
        if done(answer):
            return answer
        if loop.time() >= deadline:
            seen = repr(answer)
            seen = seen if len(seen) <= _SHOWN else seen[:_SHOWN] + "..."
            raise AssertionError(f"{what}: not within {timeout:g} s (last seen: {seen})")
        await asyncio.sleep(every)


async def until_true(
    condition: Callable[[], object], *, what: str, timeout: float = 30.0, every: float = 0.05
) -> None:
    """``until`` for a condition read without awaiting (a flag, a list a thread fills).

    Args:
        condition: Read once per look; the wait ends when it is truthy.
        what: The condition, in words, for the failure message.
        timeout: Seconds (real time) before the wait fails.
        every: Seconds between two looks.

    Raises:
        AssertionError: When ``timeout`` passes first, naming ``what``.
    """

    async def probe() -> object:
        return condition()

    await until(probe, what=what, timeout=timeout, every=every)


async def until_sending(client: Client, run_id: str, *, timeout: float = 10.0) -> None:
    """Return once the run's send is in flight (its ``state`` query says phase "send").

    A send to a held address (the SMTP sink keeps ``slow@`` for seconds) stays in flight
    long after this returns: the moment to act "while the send runs".

    Args:
        client: A client of the run's Temporal server.
        run_id: The run's workflow id.
        timeout: Seconds (real time) before the wait fails.
    """
    handle = client.get_workflow_handle(run_id)
    await until(  # real time: the policy check first, then the send
        lambda: handle.query("state", result_type=c.RunView),
        lambda view: view.phase == "send",
        what=f"the send of {run_id} starting",
        timeout=timeout,
        every=0.01,
    )
