"""How ID numbers and phones are shown to anyone not entitled to them whole: the one rule for
the documents, the pages and every port's answers.

An ID number keeps its first six digits (the region it was issued in) and its last four; a
mobile number its first three and last four. Whole values are shown only where the caller is
entitled to them (api/journeys.py says who).
"""


def mask_id_number(id_number: str) -> str:
    """The ID number with its middle hidden: 110105199001010020 -> 110105********0020."""
    n = len(id_number)
    if n >= 15:
        return id_number[:6] + "*" * (n - 10) + id_number[-4:]
    if n > 4:
        return "*" * (n - 4) + id_number[-4:]
    return "*" * n


def mask_phone(phone: str) -> str:
    """The phone number with its middle hidden: 13812345678 -> 138****5678."""
    n = len(phone)
    if n >= 11:
        return phone[:3] + "*" * (n - 7) + phone[-4:]
    if n > 4:
        return "*" * (n - 4) + phone[-4:]
    return "*" * n
