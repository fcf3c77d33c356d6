"""Resident ID numbers (GB 11643-1999): 17 digits, a birth date, and an ISO 7064 MOD 11-2 check."""

from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_error(value: str) -> str | None:
    """Why `value` is not a valid ID number, or None when it is."""
    if len(value) != 18 or not value[:17].isdigit():
        return "ID number must be 17 digits followed by a digit or X"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "ID number has an impossible birth date"
    if value[17].upper() != check_char(value[:17]):
        return "ID number check digit is wrong (GB 11643)"
    return None


def birth_date(value: str) -> date:
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
