"""Administrative region codes (GB/T 2260, six digits): a province code covers its cities.

Scope fails closed: a missing or malformed code covers nothing, never everything."""

import re


def is_region_code(code: str | None) -> bool:
    return code is not None and re.fullmatch(r"[1-9][0-9]{5}", code) is not None


def region_prefix(region_code: str) -> str:
    """The prefix every code inside `region_code` starts with.

    370000 (a province) -> "37", 371100 (a city) -> "3711", 371102 (a district) -> "371102".
    """
    if not is_region_code(region_code):
        raise ValueError(f"not a region code: {region_code!r}")
    if region_code.endswith("0000"):
        return region_code[:2]
    if region_code.endswith("00"):
        return region_code[:4]
    return region_code


def region_covers(region_code: str, city_code: str) -> bool:
    return is_region_code(region_code) and city_code.startswith(region_prefix(region_code))
