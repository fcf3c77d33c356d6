"""Hand-drawn signature uploads: judged by content, size and ink, then normalised."""

import io
import os

import pytest
from PIL import Image, ImageDraw

from core.signature import normalize_signature, signature_error


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **kwargs)
    return out.getvalue()


def drawn(size: tuple[int, int] = (600, 240), mode: str = "RGBA") -> Image.Image:
    """A scribble on a transparent (RGBA) or white (RGB) canvas, like a signature pad's."""
    background = (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255)
    img = Image.new(mode, size, background)
    w, h = size
    points = [
        (int(w * x), int(h * y))
        for x, y in [(0.2, 0.7), (0.3, 0.3), (0.4, 0.65), (0.5, 0.35), (0.6, 0.6), (0.7, 0.4)]
    ]
    ink = (20, 20, 120, 255) if mode == "RGBA" else (20, 20, 120)
    ImageDraw.Draw(img).line(points, fill=ink, width=6)
    return img


def test_good_drawn_png() -> None:
    assert signature_error(encode(drawn(), "PNG")) is None


def test_good_jpeg_on_white() -> None:
    assert signature_error(encode(drawn(mode="RGB"), "JPEG", quality=85)) is None


def test_content_not_extension_decides() -> None:
    assert "PNG 或 JPEG" in (signature_error(b"%PDF-1.4 not an image at all") or "")
    assert signature_error(b"") == "签名图片为空"


def test_gif_refused() -> None:
    gif = encode(drawn(mode="RGB").convert("P"), "GIF")
    assert "PNG 或 JPEG" in (signature_error(gif) or "")


def test_too_many_bytes() -> None:
    noisy = Image.frombytes("RGB", (1000, 400), os.urandom(1000 * 400 * 3))
    data = encode(noisy, "PNG")
    assert len(data) > 512 * 1024
    assert "512 KiB" in (signature_error(data) or "")


@pytest.mark.parametrize("size", [(99, 100), (300, 39), (2001, 500), (800, 1001)])
def test_dimensions(size: tuple[int, int]) -> None:
    assert "像素" in (signature_error(encode(drawn(size, "RGB"), "PNG")) or "")


@pytest.mark.parametrize(
    "img",
    [
        Image.new("RGBA", (400, 160), (0, 0, 0, 0)),  # fully transparent
        Image.new("RGBA", (400, 160), (30, 60, 90, 0)),  # transparent, coloured channels
        Image.new("RGB", (400, 160), (255, 255, 255)),  # white
        Image.new("RGB", (400, 160), (0, 0, 0)),  # single colour, not white
    ],
)
def test_blank_refused(img: Image.Image) -> None:
    assert signature_error(encode(img, "PNG")) == "签名图片上没有笔迹"


def test_truncated_png_refused() -> None:
    data = encode(drawn(), "PNG")
    assert signature_error(data[: len(data) // 2]) is not None


def test_normalize_flattens_and_crops() -> None:
    original = drawn((600, 240))
    out = normalize_signature(encode(original, "PNG"))
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "PNG"
        assert img.mode == "RGB"
        # the scribble spans x 0.2..0.7 and y 0.3..0.7 of the canvas, plus a few px of margin
        assert 300 <= img.width <= 330
        assert 96 <= img.height <= 130
        right, bottom = img.width - 1, img.height - 1
        corners = [img.getpixel(p) for p in [(0, 0), (right, 0), (0, bottom), (right, bottom)]]
        assert all(c == (255, 255, 255) for c in corners)
        assert (20, 20, 120) in {c for _, c in img.getcolors(img.width * img.height) or []}


def test_normalize_refuses_what_validation_refuses() -> None:
    with pytest.raises(ValueError):
        normalize_signature(encode(Image.new("RGB", (400, 160), "white"), "PNG"))
