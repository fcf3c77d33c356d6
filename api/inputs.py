"""Types the API's request models and parameters share, so every date and number it takes is
bounded and every name and ID number is checked the same way wherever it arrives."""

import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, Field, Strict, StringConstraints
from pydantic_core import PydanticCustomError

from core.idcard import id_number_problem, normalize_id_number
from models.training import CHINA

# Dates outside these years are typing errors; inside them, date arithmetic cannot overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2099
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
WINDOW = f"须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间"


def _moment_in_window(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise PydanticCustomError("datetime_out_of_range", WINDOW)
    return value


def _day_in_window(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError("date_out_of_range", WINDOW)
    return value


Moment = Annotated[
    AwareDatetime,
    AfterValidator(_moment_in_window),
    Field(description=f"带时区的日期时间，{WINDOW}"),
]
Day = Annotated[date, AfterValidator(_day_in_window), Field(description=f"日期，{WINDOW}")]

# On Earth. In a JSON body also strictly a number: `true` or "35.4" is refused.
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
StrictLatitude = Annotated[Latitude, Strict()]
StrictLongitude = Annotated[Longitude, Strict()]

# Besides letters and combining marks (any script) a name may hold a space, the 间隔号 of
# minority and foreign names in its common forms, and the marks of Latin names.
NAME_PUNCTUATION = frozenset(" ·•‧・.-'")


def _person_name(value: str) -> str:
    name = unicodedata.normalize("NFC", value)
    allowed = all(
        c in NAME_PUNCTUATION or unicodedata.category(c)[0] in "LM" for c in name
    ) and any(c.isalpha() for c in name)
    if not allowed:
        raise PydanticCustomError("name_invalid", "姓名只能由文字组成，可含空格和间隔号“·”")
    return name


PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=30),
    AfterValidator(_person_name),
    Field(description="姓名：文字，可含空格和间隔号“·”"),
]


def _id_number(value: str) -> str:
    number = normalize_id_number(value)
    if problem := id_number_problem(number, datetime.now(CHINA).date()):
        raise PydanticCustomError(problem.code, problem.message)
    return number


IdNumber = Annotated[
    str,
    StringConstraints(min_length=18, max_length=40),
    AfterValidator(_id_number),
    Field(description="18 位居民身份证号；全角或其他数字、小写 x 按标准形式保存"),
]
Phone = Annotated[str, Field(pattern=r"^1[3-9][0-9]{9}$")]

# Ids of schools, coaches, vehicles, slots, bookings: ASCII, as the platform makes them.
ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN)]
# In a path: also a journey id, or a booking id made from one (`<journey id>:booking-3`).
PathId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]
VehicleClass = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]$")]
CityCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]

# Free text, trimmed. `\S` tells the schema what trimming and a minimum length check here:
# a text of spaces only is refused.
NOT_BLANK = r"\S"
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)
]
Answer = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NOT_BLANK)
]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
# A question, complaint or answer in a person's own words.
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NOT_BLANK)
]
# A review's text may be longer than a comment; stars are whole, one to five.
ReviewText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Stars = Annotated[int, Field(ge=1, le=5)]
