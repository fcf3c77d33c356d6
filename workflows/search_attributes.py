"""The journey's custom search attributes (never personal data: they are not encrypted)."""

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("XjStage")
STATUS = SearchAttributeKey.for_keyword("XjStatus")
SCHOOL = SearchAttributeKey.for_keyword("XjSchool")
CITY = SearchAttributeKey.for_keyword("XjCity")
VEHICLE_CLASS = SearchAttributeKey.for_keyword("XjVehicleClass")
WAITING_ON = SearchAttributeKey.for_keyword("XjWaitingOn")
STAGE_ENTERED_AT = SearchAttributeKey.for_datetime("XjStageEnteredAt")

ALL = [STAGE, STATUS, SCHOOL, CITY, VEHICLE_CLASS, WAITING_ON, STAGE_ENTERED_AT]


def server_flags() -> list[str]:
    """`temporal server start-dev` flags that register every attribute."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags
