"""Resident ID numbers (GB 11643-1999): 17 digits, a birth date, and an ISO 7064 MOD 11-2 check.

A number is normalised before it is checked, and stored only in its normal form, so one
person has one number however it was typed: fullwidth or Arabic-Indic digits become ASCII,
a lower-case x the check character X.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")  # ASCII only: str.isdigit() also takes "１" and "²"
EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class IdNumberProblem:
    code: str
    message: str


WRONG_SHAPE = IdNumberProblem("id_number_format", "身份证号须为 17 位数字加 1 位数字或 X")
NO_SUCH_BIRTH_DATE = IdNumberProblem("id_number_birth_date", "身份证号中的出生日期不存在")
WRONG_CHECK = IdNumberProblem("id_number_checksum", "身份证号校验位不正确，请核对")


def normalize_id_number(value: str) -> str:
    """NFKC (fullwidth to ASCII), every other decimal digit to ASCII, upper case, trimmed."""
    text = unicodedata.normalize("NFKC", value).strip()
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text).upper()


def check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str, today: date | None = None) -> IdNumberProblem | None:
    """What is wrong with the normalised number `value`, or None when it is valid: its birth
    date must exist, lie no later than `today` and no earlier than 1900."""
    if not _SHAPE.fullmatch(value):
        return WRONG_SHAPE
    try:
        born = birth_date(value)
    except ValueError:
        return NO_SUCH_BIRTH_DATE
    if not EARLIEST_BIRTH <= born <= (today or date.today()):
        return NO_SUCH_BIRTH_DATE
    if value[17] != check_char(value[:17]):
        return WRONG_CHECK
    return None


def id_number_error(value: str) -> str | None:
    """Why `value` is not a valid ID number, or None when it is."""
    problem = id_number_problem(value)
    return problem.message if problem else None


def birth_date(value: str) -> date:
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def age_on(born: date, day: date) -> int:
    """Age in whole years (周岁) on `day`; a 29 February birthday counts from 1 March."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
