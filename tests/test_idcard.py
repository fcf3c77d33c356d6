"""ID numbers are normalised, then checked: one person has one number however it is typed, and
every refusal says in Chinese what is wrong."""

from datetime import date

import pytest

from core.idcard import (
    NO_SUCH_BIRTH_DATE,
    WRONG_CHECK,
    WRONG_SHAPE,
    age_on,
    check_char,
    id_number_problem,
    normalize_id_number,
)
from tests.factories import VALID_ID

TODAY = date(2026, 11, 23)


def to_fullwidth(number: str) -> str:
    return number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})


def to_arabic_indic(number: str) -> str:
    return number.translate({ord(c): ord(c) - ord("0") + 0x0660 for c in "0123456789"})


FULLWIDTH = to_fullwidth(VALID_ID)
ARABIC_INDIC = to_arabic_indic(VALID_ID)


def make_id(born: date, region: str = "110105", serial: str = "002") -> str:
    first17 = f"{region}{born:%Y%m%d}{serial}"
    return first17 + check_char(first17)


@pytest.mark.parametrize(
    "typed",
    [FULLWIDTH, ARABIC_INDIC, VALID_ID.lower(), f"  {VALID_ID}\u3000", FULLWIDTH.lower()],
)
def test_every_form_of_a_number_normalises_to_one(typed: str) -> None:
    assert typed != VALID_ID
    assert normalize_id_number(typed) == VALID_ID
    assert id_number_problem(normalize_id_number(typed), TODAY) is None


def test_a_fullwidth_number_with_a_wrong_check_digit_is_told_so() -> None:
    wrong = FULLWIDTH[:17] + "１"
    assert id_number_problem(normalize_id_number(wrong), TODAY) == WRONG_CHECK


@pytest.mark.parametrize(
    "typed",
    [
        "110105194912310፩2X",  # an Ethiopic digit: a "digit" to str.isdigit(), not a decimal
        "11010519491231002",  # 17 characters
        "1101051949123100２XX",
        "11010519491231002Y",
    ],
)
def test_what_is_not_17_ascii_digits_and_a_check_is_the_wrong_shape(typed: str) -> None:
    assert id_number_problem(normalize_id_number(typed), TODAY) == WRONG_SHAPE


@pytest.mark.parametrize(
    "born",
    [date(1899, 12, 31), date(1800, 1, 1), date(2026, 11, 24), date(2099, 1, 1)],
    ids=["1899", "1800", "tomorrow", "2099"],
)
def test_a_birth_date_before_1900_or_in_the_future_does_not_exist(born: date) -> None:
    assert id_number_problem(make_id(born), TODAY) == NO_SUCH_BIRTH_DATE


def test_an_impossible_calendar_date_does_not_exist() -> None:
    first17 = "11010519490230002"  # 30 February
    assert id_number_problem(first17 + check_char(first17), TODAY) == NO_SUCH_BIRTH_DATE


def test_every_problem_is_told_in_chinese() -> None:
    for problem in (WRONG_SHAPE, NO_SUCH_BIRTH_DATE, WRONG_CHECK):
        assert any("\u4e00" <= c <= "\u9fff" for c in problem.message)


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2008, 11, 23), date(2026, 11, 23), 18),  # the 18th birthday itself
        (date(2008, 11, 24), date(2026, 11, 23), 17),
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # a leap-day birthday counts from 1 March
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
)
def test_age_is_counted_in_whole_years(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age
