"""Decoding, downscaling and thumbnails with Pillow."""

from __future__ import annotations

import io
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from eventonight_media.rules import MAX_SIDE, THUMBNAIL_SIDE, Unsupported

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
Image.MAX_IMAGE_PIXELS = 60_000_000  # refuse decompression bombs early


def _encode(image: Image.Image, content_type: str) -> bytes:
    out = io.BytesIO()
    fmt = FORMATS[content_type]
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.save(out, format=fmt, quality=88) if fmt != "PNG" else image.save(out, format=fmt, optimize=True)
    return out.getvalue()


def process(file: BinaryIO, content_type: str, *, thumbnail: bool) -> tuple[bytes, bytes | None, tuple[int, int]]:
    """Validate by decoding; return (image bytes, thumbnail bytes or None, size).

    The original bytes are kept when the image is small enough; larger ones are
    downscaled to MAX_SIDE on their longer side.
    """
    try:
        file.seek(0)
        with Image.open(file) as probe:
            probe.verify()  # structure check; the image must be reopened afterwards
        file.seek(0)
        image = Image.open(file)
        if FORMATS[content_type] != image.format:
            raise Unsupported(f"the content is {image.format}, not {content_type}")
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise Unsupported(f"the file is not a decodable image: {exc}") from exc
    size = image.size
    if max(size) > MAX_SIDE:
        scaled = image.copy()
        scaled.thumbnail((MAX_SIDE, MAX_SIDE))
        data, size = _encode(scaled, content_type), scaled.size
    else:
        file.seek(0)
        data = file.read()
    thumb = None
    if thumbnail:
        small = image.copy()
        small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        thumb = _encode(small, content_type)
    return data, thumb, size
