"""Decoding, downscaling and thumbnails with Pillow."""

from __future__ import annotations

import io
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from eventonight_media.rules import MAX_PIXELS, MAX_SIDE, THUMBNAIL_SIDE, TooLarge, Unsupported

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# Pillow's own guard, as a second line behind the check of the header below.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


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
            # The header says how large the decoded image would be: a 100 KB file can claim
            # a hundred million pixels. Refused before anything is decoded.
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise TooLarge(f"the image has {width} x {height} pixels; at most {MAX_PIXELS:,} are accepted")
            probe.verify()  # structure check; the image must be reopened afterwards
        file.seek(0)
        image = Image.open(file)
        if FORMATS[content_type] != image.format:
            raise Unsupported(f"the content is {image.format}, not {content_type}")
        original = image.size
        if image.format == "JPEG":
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # libjpeg decodes at 1/2, 1/4 or 1/8 scale
        image.load()
    except Image.DecompressionBombError as exc:  # Pillow's guard, when its header check comes first
        raise TooLarge(f"the image has too many pixels; at most {MAX_PIXELS:,} are accepted") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise Unsupported(f"the file is not a decodable image: {exc}") from exc
    if max(original) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))  # in place: no second full-size copy
        data, size = _encode(image, content_type), image.size
    else:
        file.seek(0)
        data, size = file.read(), image.size
    thumb = None
    if thumbnail:
        small = image.copy()
        small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        thumb = _encode(small, content_type)
    image.close()
    return data, thumb, size
