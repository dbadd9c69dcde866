"""Branch evaluation: the Python answer for single event tests agrees with CEL's."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from interpreter.conditions import CompiledBranch, compile_branch, evaluate_branch
from interpreter.events import Event, EventSnapshot
from interpreter.plan import BranchStep, Condition

TYPES = ("email.opened", "email.replied", "email.clicked", "email.bounced", "call.answered")
STEPS = ("intro-email", "a.b:c-d_1")
# Every event a test below may see: each type on each step, and on each step a reply
# the receiver found was not from the contact.
ALL_EVENTS = tuple(Event(t, 5, None, s) for t, s in itertools.product(TYPES, STEPS)) + tuple(
    Event("email.replied", 5, None, s, {"fromContact": False}) for s in STEPS
)

NATIVE = [
    'events.hasOpen("intro-email")',
    "events.hasReply('intro-email')",
    'events.hasAnyReply("a.b:c-d_1")',
    ' events.hasClick(  "a.b:c-d_1" ) ',
    'events.hasBounce("a.b:c-d_1")',
]
CEL_ONLY = [
    '!events.hasOpen("intro-email")',
    'events.hasOpen("intro-email") && true',
    'events.hasEvent("email.opened", "intro-email")',
    'events . hasOpen("intro-email")',
    'events.hasOpen("intro-" + "email")',
]


def _branch(when: str) -> CompiledBranch:
    step = BranchStep(
        id="b", conditions=(Condition(when=when, goto="yes"), Condition(when="default", goto="no"))
    )
    return compile_branch(step)


def _through_cel(branch: CompiledBranch) -> CompiledBranch:
    return replace(branch, conditions=tuple(replace(c, native=None) for c in branch.conditions))


def _goto(branch: CompiledBranch, events: tuple[Event, ...]) -> str:
    _, cond = evaluate_branch(
        branch, snapshot=EventSnapshot(events), contact={}, variables={}, visits={}
    )
    return cond.goto


@pytest.mark.parametrize("when", NATIVE)
def test_a_single_event_test_is_answered_in_python_as_cel_answers_it(when: str) -> None:
    branch = _branch(when)
    assert branch.conditions[0].native is not None
    cel_branch = _through_cel(branch)
    answers = set()
    # Every subset of up to two of the events, and all of them.
    subsets = itertools.chain(
        *(itertools.combinations(ALL_EVENTS, n) for n in range(3)), [ALL_EVENTS]
    )
    for events in subsets:
        expected = _goto(cel_branch, events)
        assert _goto(branch, events) == expected, (when, events)
        answers.add(expected)
    assert answers == {"yes", "no"}  # both arms were really exercised


@pytest.mark.parametrize("when", CEL_ONLY)
def test_any_other_condition_is_left_to_cel(when: str) -> None:
    branch = _branch(when)
    assert branch.conditions[0].native is None
    opened = (Event("email.opened", 5, None, "intro-email"),)
    assert _goto(branch, opened) == ("no" if when.startswith("!") else "yes")


STRANGER = Event("email.replied", 5, "r-1", "intro-email", {"from": "x@y", "fromContact": False})
CONTACT = Event("email.replied", 6, "r-2", "intro-email", {"from": "a@b", "fromContact": True})
UNMARKED = Event("email.replied", 7, "r-3", "intro-email", {"from": "a@b"})  # recorded before


@pytest.mark.parametrize(
    "when",
    [
        'events.hasReply("intro-email")',
        'events.hasEvent("email.replied", "intro-email")',
        '!events.hasOpen("intro-email") && events.hasReply("intro-email")',
    ],
)
def test_a_reply_from_someone_else_is_not_the_contacts_reply(when: str) -> None:
    for branch in (_branch(when), _through_cel(_branch(when))):
        assert _goto(branch, (STRANGER,)) == "no"
        assert _goto(branch, (STRANGER, CONTACT)) == "yes"
        assert _goto(branch, (UNMARKED,)) == "yes"  # an event from before the check counts


def test_has_any_reply_counts_every_sender() -> None:
    when = 'events.hasAnyReply("intro-email")'
    for branch in (_branch(when), _through_cel(_branch(when))):
        assert _goto(branch, (STRANGER,)) == "yes"
        assert _goto(branch, ()) == "no"
        assert _goto(branch, (Event("email.replied", 5, None, "other", {}),)) == "no"


def test_without_the_sender_check_every_reply_counts_as_before() -> None:
    """What a run recorded before the check decided (``MachineConfig.reply_senders``)."""
    for when in (
        'events.hasReply("intro-email")',
        'events.hasEvent("email.replied", "intro-email")',
    ):
        for branch in (_branch(when), _through_cel(_branch(when))):
            _, cond = evaluate_branch(
                branch,
                snapshot=EventSnapshot((STRANGER,), reply_senders=False),
                contact={},
                variables={},
                visits={},
            )
            assert cond.goto == "yes"
