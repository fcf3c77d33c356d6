"""Money is an integer number of fen (分), everywhere: never floats, never yuan in storage."""

from typing import NewType

Fen = NewType("Fen", int)


def yuan(fen: int) -> str:
    """Human display, e.g. 123456 -> '1234.56'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
