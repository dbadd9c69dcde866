"""Frequency rules and email rules at their edges, through ``dee policy explain --json``
on a real SQLite database with ``--history`` files: Reg F's 7th and 8th call about one
debt, a conversation 6 and 7 days ago; Florida's and Oklahoma's 3rd and 4th call in 24
hours on one subject across two caller ids; the general voice cap; the tenant's email
window at its weekday and hour edges; the CAN-SPAM and bulk-sender opt-out clocks.

The sends name the registered plan ``collect`` (debt: the contact's ``account``,
subject ``Loan L-7``); ``--preset`` replaces its presets. The general cap's rows name no
plan (none is configured: the cap alone applies, ``--preset`` cannot name "none"). A
rolling window holds the attempts after ``at - span``: one exactly ``span`` old has left
it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.compliance.explain_cli import (
    ExplainCli,
    Row,
    check_row,
    check_shape,
    explain_cli,
    lines,
)

NY = {"id": "c-ny", "phone": "+12125550123", "timezone": "America/New_York", "account": "L-7"}
MIAMI = {"id": "c-fl", "phone": "+13055550123", "timezone": "America/New_York", "account": "L-7"}
OKC = {"id": "c-ok", "phone": "+14055550123", "timezone": "America/Chicago", "account": "L-7"}
MAIL = {"id": "c-mail", "email": "mail@example.com", "timezone": "America/New_York"}
NOWHERE = {"id": "c-nowhere", "email": "nowhere@example.com"}
OUT = {"id": "c-out", "email": "out@example.com", "timezone": "America/New_York"}
PLAN = ("--plan", "collect")
# Monday 2026-01-05, 10:00 and 11:00 in New York.
TEN, ELEVEN = "2026-01-05T15:00:00Z", "2026-01-05T16:00:00Z"
OPTED_OUT = "2026-01-05T15:00:00Z"


def calls(*ats: str, debt: str | None = "L-7", outcome: str | None = "no_answer",
          subject: str | None = "Loan L-7", callers: tuple[str, ...] = ("+15550000001",),
          ) -> list[Mapping[str, Any]]:  # fmt: skip
    """Voice attempts at ``ats``, their caller ids taken in turn from ``callers``."""
    return [
        {"channel": "voice", "at": at, "outcome": outcome, "debtRef": debt,
         "subject": subject, "callerId": callers[i % len(callers)]}
        for i, at in enumerate(ats)
    ]  # fmt: skip


# Seven calls in the week before TEN, the oldest 23 hours inside the window.
WEEK = (
    "2025-12-29T16:00:00Z", "2025-12-30T15:00:00Z", "2025-12-31T15:00:00Z",
    "2026-01-01T15:00:00Z", "2026-01-02T15:00:00Z", "2026-01-03T15:00:00Z",
    "2026-01-04T15:00:00Z",
)  # fmt: skip
# The same week with its oldest call exactly seven days before TEN.
WEEK_EDGE = ("2025-12-29T15:00:00Z", *WEEK[1:])
TWO_CALLERS = ("+15550000001", "+15550000002")
# Three calls on the subject in the 24 hours before ELEVEN, from two caller ids.
DAY = ("2026-01-04T17:00:00Z", "2026-01-05T14:00:00Z", "2026-01-05T15:00:00Z")
DAY_EDGE = ("2026-01-04T16:00:00Z", *DAY[1:])

FREQUENCY_ROWS = [
    Row("regf-7th", NY, TEN, ["regf"], "allow", None, "regf.attempts_7_in_7",
        history=calls(*WEEK[1:]), args=PLAN, line_has=("6 of 7 calls about the debt",)),
    Row("regf-8th", NY, TEN, ["regf"], "defer", "2026-01-05T16:00:00+00:00",
        "regf.attempts_7_in_7", history=calls(*WEEK), args=PLAN),
    # The oldest call leaves the window at 22:00 in New York, when the calling window is
    # closed: the next permitted instant is 08:00 the next morning.
    Row("regf-8th-until-past-the-window", NY, TEN, ["regf"], "defer",
        "2026-01-06T13:00:00+00:00", "regf.attempts_7_in_7",
        history=calls("2025-12-30T03:00:00Z", *WEEK[1:]), args=PLAN,
        line_has=("the next is permitted at 2026-01-06T03:00:00+00:00",)),
    Row("regf-8th-oldest-7-days-old", NY, TEN, ["regf"], "allow", None,
        "regf.attempts_7_in_7", history=calls(*WEEK_EDGE), args=PLAN),
    # Seven calls about another debt: Reg F allows, the general voice cap does not.
    Row("regf-other-debt", NY, TEN, ["regf"], "defer", "2026-01-05T16:00:00+00:00",
        "general.channel_cap", history=calls(*WEEK, debt="L-8"), args=PLAN),
    # No debt named (no plan): every call counts as about the one debt (fail-closed).
    Row("regf-no-debt-named", NY, TEN, ["regf"], "defer", "2026-01-05T16:00:00+00:00",
        "regf.attempts_7_in_7", history=calls(*WEEK, debt="L-8"),
        line_has=("fail-closed",)),
    Row("general-cap-8th", NY, TEN, [], "defer", "2026-01-05T16:00:00+00:00",
        "general.channel_cap", history=calls(*WEEK, debt=None)),
    Row("general-cap-7th", NY, TEN, [], "allow", None, "general.channel_cap",
        history=calls(*WEEK[1:], debt=None)),
    Row("regf-conversation-6-days-ago", NY, TEN, ["regf"], "defer",
        "2026-01-06T15:00:00+00:00", "regf.after_conversation",
        history=calls("2025-12-30T15:00:00Z", outcome="answered"), args=PLAN),
    Row("regf-conversation-7-days-ago", NY, TEN, ["regf"], "allow", None,
        "regf.after_conversation",
        history=calls("2025-12-29T15:00:00Z", outcome="answered"), args=PLAN),
    Row("regf-unanswered-6-days-ago", NY, TEN, ["regf"], "allow", None,
        "regf.after_conversation", history=calls("2025-12-30T15:00:00Z"), args=PLAN),
    Row("regf-conversation-other-debt", NY, TEN, ["regf"], "allow", None,
        "regf.after_conversation",
        history=calls("2025-12-30T15:00:00Z", outcome="answered", debt="L-8"), args=PLAN),
    *(
        row
        for preset, contact in (("florida", MIAMI), ("oklahoma", OKC))
        for rule in [f"{preset}.calls_per_subject_24h"]
        for row in (
            Row(f"{preset}-3rd", contact, ELEVEN, [preset], "allow", None, rule,
                history=calls(*DAY[1:], callers=TWO_CALLERS), args=PLAN,
                line_has=("2 of 3 calls on subject Loan L-7",)),
            Row(f"{preset}-4th", contact, ELEVEN, [preset], "defer",
                "2026-01-05T17:00:00+00:00", rule,
                history=calls(*DAY, callers=TWO_CALLERS), args=PLAN),
            Row(f"{preset}-4th-oldest-24h-old", contact, ELEVEN, [preset], "allow", None, rule,
                history=calls(*DAY_EDGE, callers=TWO_CALLERS), args=PLAN),
            # A call on record without a subject counts against every subject.
            Row(f"{preset}-4th-no-subject-on-record", contact, ELEVEN, [preset], "defer",
                "2026-01-05T17:00:00+00:00", rule, args=PLAN,
                history=[*calls(DAY[0], subject=None), *calls(*DAY[1:], callers=TWO_CALLERS)]),
            Row(f"{preset}-4th-other-subject", contact, ELEVEN, [preset], "allow", None, rule,
                history=[*calls(DAY[0], subject="Loan L-8"),
                         *calls(*DAY[1:], callers=TWO_CALLERS)], args=PLAN),
        )
    ),
]  # fmt: skip

EMAIL_ROWS = [
    # Monday to Friday 09:00-17:00 in New York (14:00Z-22:00Z in January).
    Row("email-fri-16:59", MAIL, "2026-01-09T21:59:00Z", [], "allow", None,
        "tenant.email_window", channel="email"),
    Row("email-fri-17:00", MAIL, "2026-01-09T22:00:00Z", [], "defer",
        "2026-01-12T14:00:00+00:00", "tenant.email_window", channel="email"),
    Row("email-sat-noon", MAIL, "2026-01-10T17:00:00Z", [], "defer",
        "2026-01-12T14:00:00+00:00", "tenant.email_window", channel="email"),
    Row("email-mon-08:59", MAIL, "2026-01-12T13:59:00Z", [], "defer",
        "2026-01-12T14:00:00+00:00", "tenant.email_window", channel="email"),
    Row("email-mon-09:00", MAIL, "2026-01-12T14:00:00Z", [], "allow", None,
        "tenant.email_window", channel="email"),
    Row("email-no-zone", NOWHERE, "2026-01-12T15:00:00Z", [], "deny", None,
        "tenant.email_window", channel="email", line_has=("no time zone for the contact",)),
    Row("can-spam-no-opt-out", MAIL, "2026-01-12T14:00:00Z", ["can-spam", "gmail-bulk"],
        "allow", None, "can-spam.opt_out", channel="email",
        line_has=("no opt-out on record",)),
    # An opt-out by reply: the consent stage stops the send, and the clocks' lines say
    # the law's deadline and that it was honoured at once.
    Row("can-spam-after-opt-out", OUT, ELEVEN, ["can-spam", "gmail-bulk"], "deny", None,
        "can-spam.opt_out", policy="consent", channel="email",
        line_has=("10 business days (until 2026-01-19T15:00:00+00:00)", "at once")),
    Row("gmail-bulk-after-opt-out", OUT, ELEVEN, ["can-spam", "gmail-bulk"], "deny", None,
        "gmail-bulk.opt_out", policy="consent", channel="email",
        line_has=("48 hours (until 2026-01-07T15:00:00+00:00)", "at once")),
    Row("can-spam-at-the-opt-out", OUT, OPTED_OUT, ["can-spam"], "deny", None,
        "can-spam.opt_out", policy="consent", channel="email"),
]  # fmt: skip


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExplainCli]:
    with explain_cli(tmp_path_factory.mktemp("explain-frequency")) as found:
        for contact in (NY, MIAMI, OKC):
            found.grant(str(contact["id"]))
        found.ok(
            "consent", "revoke", "c-out", "--channel", "email", "--source", "reply-stop",
            "--tenant", "default", "--at", OPTED_OUT,
        )  # fmt: skip
        yield found


@pytest.mark.parametrize("row", FREQUENCY_ROWS, ids=lambda r: r.id)
def test_frequency_rules_at_their_edges(cli: ExplainCli, row: Row) -> None:
    check_row(cli, row)


@pytest.mark.parametrize("row", EMAIL_ROWS, ids=lambda r: r.id)
def test_email_rules_at_their_edges(cli: ExplainCli, row: Row) -> None:
    check_row(cli, row)


def test_the_json_document_has_exactly_the_documented_keys_in_order(cli: ExplainCli) -> None:
    history = calls(*WEEK)
    answer = cli.explain(NY, TEN, ["regf", "tcpa"], history=history, args=PLAN)
    check_shape(answer)
    assert list(answer) == ["decision", "until", "policy", "reason", "rules", "rulesVersion"]
    assert [line["rule"] for line in answer["rules"]] == [
        "suppression", "consent", "hours",
        "regf.calling_window", "regf.attempts_7_in_7", "regf.after_conversation",
        "tcpa.calling_window", "tcpa.revocation",
        "general.channel_cap", "contact_cap", "daily_limit", "budget",
    ]  # fmt: skip
    assert lines(answer)["regf.attempts_7_in_7"][0] == "defer"
    assert lines(answer)["general.channel_cap"][0] == "defer"
    # The rules version names the rules evaluated: another preset set, another version.
    other = cli.explain(NY, TEN, ["regf"], history=history, args=PLAN)
    assert other["rulesVersion"] != answer["rulesVersion"]
    assert cli.explain(NY, TEN, ["regf"], history=history, args=PLAN) == other
