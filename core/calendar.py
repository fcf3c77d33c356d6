"""Calendar arithmetic the platform and its simulators share."""

from datetime import date


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year (a permit
    or a licence issued then runs out the day before 1 March)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
