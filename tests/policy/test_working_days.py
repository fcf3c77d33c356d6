"""The working-day calendar complaint deadlines are counted by, against dates checked by hand
on the 2026 calendar of the policy files (国庆 1-7 October, 调休 on 20 September and 10
October; 春节 15-23 February, 调休 on 14 and 28 February)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from policy.calendar import CHINA, WorkingCalendar, handling_deadline, reminder_times
from policy.loader import PolicyError, check_complaint_rules, load_policy
from policy.model import ComplaintRules
from tests.policy.paths import POLICY_DIR

RIZHAO = load_policy(POLICY_DIR / "rizhao.yaml").complaints


def china(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CHINA)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("filed", "days", "deadline"),
    [
        # Wed 30 Sep: 8 Oct (Thu) 1, 9 (Fri) 2, 10 (Sat, 调休) 3, 12 (Mon) 4, 13 (Tue) 5.
        (china(2026, 9, 30, 10), 5, china(2026, 10, 14)),
        # ... then 14, 15, 16, 19, 20, 21, 22, 23, 26, 27 October.
        (china(2026, 9, 30, 10), 15, china(2026, 10, 28)),
        # Fri 18 Sep: Sat 19 off, Sun 20 worked (调休) 1, Mon 21 2, Tue 22 3.
        (china(2026, 9, 18, 16), 3, china(2026, 9, 23)),
        # Fri 13 Feb: Sat 14 worked (调休) 1, 15-23 off, Tue 24 2.
        (china(2026, 2, 13, 9), 1, china(2026, 2, 15)),
        (china(2026, 2, 13, 9), 2, china(2026, 2, 25)),
        # An ordinary week: Mon 2 Nov, 5 working days to Mon 9 Nov.
        (china(2026, 11, 2, 9), 5, china(2026, 11, 10)),
    ],
)
def test_deadline_skips_weekends_and_holidays_and_counts_makeup_days(
    filed: datetime, days: int, deadline: datetime
) -> None:
    assert handling_deadline(RIZHAO, filed, days) == deadline


def test_the_filing_day_is_the_china_day() -> None:
    # 16:30 UTC on Friday 9 October is 00:30 on Saturday 10 October (调休, worked) in China:
    # the next working day is Monday 12 October, not the Saturday itself.
    assert handling_deadline(RIZHAO, datetime(2026, 10, 9, 16, 30, tzinfo=UTC), 1) == china(
        2026, 10, 13
    )


def test_reminders_leave_the_policy_s_working_days() -> None:
    # 5 working days from 30 September end on 13 October: reminders at the end of 9 October
    # (3 working days left: 10, 12, 13) and of 12 October (1 left).
    assert reminder_times(RIZHAO, china(2026, 9, 30, 10), 5) == [
        china(2026, 10, 10),
        china(2026, 10, 13),
    ]
    # 3 working days (8, 9, 10 October): the 3-day reminder is left out, the 1-day one comes
    # at the end of 9 October.
    assert reminder_times(RIZHAO, china(2026, 9, 30, 10), 3) == [china(2026, 10, 10)]


def test_working_days() -> None:
    calendar = WorkingCalendar.of(RIZHAO)
    assert not calendar.is_working_day(date(2026, 10, 5))  # a Monday in 国庆
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday worked
    assert not calendar.is_working_day(date(2026, 10, 11))
    assert calendar.is_working_day(date(2026, 10, 8))


def test_a_calendar_with_no_working_day_is_refused_not_looped_on() -> None:
    rules = ComplaintRules(
        holidays=[(date(2030, 1, 1) + timedelta(d)).isoformat() for d in range(90)]
    )
    with pytest.raises(ValueError, match="no working day"):
        handling_deadline(rules, china(2029, 12, 31, 9), 1)


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        (ComplaintRules(handling_working_days=0), "at least 1"),
        (ComplaintRules(holidays=["2026-02-30"]), "not an ISO date"),
        (ComplaintRules(holidays=["2026-10-10"], makeup_workdays=["2026-10-10"]), "both"),
        (ComplaintRules(consultation_answer_seconds=0), "positive"),
    ],
)
def test_policy_refuses_a_broken_complaints_section(rules: ComplaintRules, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        check_complaint_rules(rules)
