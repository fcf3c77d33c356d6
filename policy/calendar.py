"""Working days by a city's holiday calendar (法定节假日 and 调休), in China time.

A deadline of n working days runs to the end of the n-th working day after the day something
was filed: the filing day itself never counts. Saturdays and Sundays are off unless the policy
lists them as make-up working days (调休上班); listed holidays are off whatever weekday they
fall on. Only stdlib here: workflow code computes its deadlines with it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from policy.model import ComplaintRules

CHINA = timezone(timedelta(hours=8))
SATURDAY = 5
# A calendar that lists no working day for this long is broken; never loop forever on one.
MAX_DAYS_OFF_IN_A_ROW = 60


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]

    @classmethod
    def of(cls, rules: ComplaintRules) -> "WorkingCalendar":
        return cls(
            frozenset(date.fromisoformat(d) for d in rules.holidays),
            frozenset(date.fromisoformat(d) for d in rules.makeup_workdays),
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() < SATURDAY or day in self.makeup_workdays

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n >= 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        found, off = 0, 0
        while found < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                found, off = found + 1, 0
            else:
                off += 1
                if off > MAX_DAYS_OFF_IN_A_ROW:
                    raise ValueError(f"no working day in {off} days after {day}")
        return day

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end (China midnight) of the `working_days`-th working day after `start`'s day."""
        first_day = start.astimezone(CHINA).date()
        last = self.nth_working_day_after(first_day, working_days)
        return datetime.combine(last + timedelta(days=1), time(), tzinfo=CHINA)


def handling_deadline(rules: ComplaintRules, start: datetime, working_days: int) -> datetime:
    return WorkingCalendar.of(rules).deadline(start, working_days)


def reminder_times(rules: ComplaintRules, start: datetime, working_days: int) -> list[datetime]:
    """When the school is reminded of a deadline of `working_days` from `start`: at the end of
    the working day that leaves the policy's number of working days, earliest first."""
    calendar = WorkingCalendar.of(rules)
    before = {k for k in rules.reminder_working_days_before if 0 < k < working_days}
    return sorted(calendar.deadline(start, working_days - k) for k in before)
