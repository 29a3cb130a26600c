"""What an image upload must be (no framework imports): kinds, types by content, size, names."""

from __future__ import annotations

import hashlib

from eventonight.hooks.errors import DomainError
from eventonight.hooks.errors import Forbidden as BaseForbidden
from eventonight.hooks.errors import NotFound as BaseNotFound

KINDS = ("avatar", "poster")
MAX_SIDE = 2048
#: The most pixels an upload may decode to (its header is checked first): 24 Mpx, a 6000 x 4000 photo.
MAX_PIXELS = 24_000_000
THUMBNAIL_SIDE = 256
# Magic bytes: the content decides the type, never the file name.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
STORED = "media.image.stored"
DELETED = "media.image.deleted"


class MediaError(DomainError):
    """An upload the rules refuse (400 unless a kind says otherwise)."""


class Unsupported(MediaError):
    status = 415


class TooLarge(MediaError):
    status = 413


class NotFound(MediaError, BaseNotFound):
    pass


class Forbidden(MediaError, BaseForbidden):
    pass


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"unknown image kind {kind!r}; kinds: {', '.join(KINDS)}")
    return kind


def sniff(head: bytes) -> str:
    """The image type from the first bytes; 415 for anything but JPEG, PNG or WebP."""
    for signature, mime in SIGNATURES:
        if head.startswith(signature):
            return mime
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    raise Unsupported("only JPEG, PNG or WebP images are accepted (checked by content, not by name)")


def object_key(kind: str, entity_id: str, content: bytes, content_type: str, suffix: str = "") -> str:
    """Derived from the content: a replaced image gets a new URL, so caches never serve a stale one."""
    digest = hashlib.sha256(content).hexdigest()[:32]
    return f"{kind}/{entity_id}/{digest}{suffix}.{EXTENSIONS[content_type]}"
