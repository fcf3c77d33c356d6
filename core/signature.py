"""The learner's hand-drawn signature: validate the upload, then normalise it for the contract.

An upload is judged by its content (Pillow), never by its file name: PNG or JPEG, at most
512 KiB, between 100x40 and 2000x1000 pixels, and with some ink on it. "Ink" is any pixel that
differs clearly from the background, the most common colour along the image's border after
transparency is flattened onto white; a blank, fully transparent or single-colour image has
none.
"""

import io

from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError

MAX_BYTES = 512 * 1024
MIN_SIZE = (100, 40)
MAX_SIZE = (2000, 1000)
ALLOWED_FORMATS = frozenset({"PNG", "JPEG"})
INK_THRESHOLD = 48  # a channel differing from the background by more than this is ink
MIN_INK_PIXELS = 20  # fewer than this is a stray speck, not a signature
MARGIN_PX = 8


def signature_error(data: bytes) -> str | None:
    """Why `data` is not an acceptable signature image, or None when it is."""
    if not data:
        return "签名图片为空"
    if len(data) > MAX_BYTES:
        return f"签名图片不能超过 {MAX_BYTES // 1024} KiB"
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ALLOWED_FORMATS:
                return f"签名须为 PNG 或 JPEG 图片，不能是 {img.format}"
            width, height = img.size
            if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
                return f"签名图片过小（{width}x{height}，至少 100x40 像素）"
            if width > MAX_SIZE[0] or height > MAX_SIZE[1]:
                return f"签名图片过大（{width}x{height}，至多 2000x1000 像素）"
            img.load()
            rgb = _flatten(img)
    except UnidentifiedImageError:
        return "签名须为 PNG 或 JPEG 图片"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return "签名图片已损坏"
    if _ink_count(_ink_mask(rgb)) < MIN_INK_PIXELS:
        return "签名图片上没有笔迹"
    return None


def normalize_signature(data: bytes) -> bytes:
    """A PNG of the signature on white, cropped to the ink with a small margin.

    Raises ValueError when `data` is not an acceptable signature (see `signature_error`).
    """
    error = signature_error(data)
    if error:
        raise ValueError(error)
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        rgb = _flatten(ImageOps.exif_transpose(img))
    bbox = _ink_mask(rgb).getbbox()
    if bbox is not None:
        left, top, right, bottom = bbox
        rgb = rgb.crop(
            (
                max(0, left - MARGIN_PX),
                max(0, top - MARGIN_PX),
                min(rgb.width, right + MARGIN_PX),
                min(rgb.height, bottom + MARGIN_PX),
            )
        )
    out = io.BytesIO()
    rgb.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _flatten(img: Image.Image) -> Image.Image:
    """RGB with any transparency composited onto white."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _background(rgb: Image.Image) -> tuple[int, int, int]:
    """The most common colour along the border."""
    w, h = rgb.size
    strips = [
        rgb.crop((0, 0, w, 1)),
        rgb.crop((0, h - 1, w, h)),
        rgb.crop((0, 0, 1, h)),
        rgb.crop((w - 1, 0, w, h)),
    ]
    counts: dict[tuple[int, int, int], int] = {}
    for strip in strips:
        for count, colour in strip.getcolors(strip.width * strip.height) or []:
            counts[colour] = counts.get(colour, 0) + count
    return max(counts.items(), key=lambda kv: kv[1])[0]


def _ink_mask(rgb: Image.Image) -> Image.Image:
    """An "L" mask: 255 where a pixel differs from the background in any channel."""
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, _background(rgb)))
    r, g, b = diff.split()
    strongest = ImageChops.lighter(ImageChops.lighter(r, g), b)
    return strongest.point(lambda v: 255 if v > INK_THRESHOLD else 0)


def _ink_count(mask: Image.Image) -> int:
    return mask.histogram()[255]
