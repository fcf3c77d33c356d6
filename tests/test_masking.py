"""The one masking rule for ID numbers and phones (core/masking.py)."""

import pytest

from core.masking import mask_id_number, mask_phone


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("11010519900307002X", "110105********002X"),
        ("371102200001011234", "371102********1234"),
        ("110105900307002", "110105*****7002"),  # the old 15-digit numbers
        ("A1234567", "****4567"),
        ("123", "***"),
    ],
)
def test_mask_id_number(id_number: str, masked: str) -> None:
    assert mask_id_number(id_number) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("8613812345678", "861******5678"),
        ("12345", "*2345"),
        ("12", "**"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
