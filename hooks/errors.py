"""Errors for plugins: the one way a plugin answers 4xx, from domain code or a handler.

Pure Python, so domain layers raise them without importing a framework. The
kernel renders any :class:`DomainError` that escapes a route handler as the JSON
error shape ``{"statusCode", "error", "message"}`` (plus ``details`` naming
``field`` when it is set) with the class's ``status``. Subclass a kind for your
own cases (``class SoldOut(Conflict)``); anything else a handler raises is a
500, logged with the request id.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken (400); ``field`` names the input at fault when there is one.

    ``details``, when given, replaces the default details entry: a list of
    JSON objects a client can act on (e.g. ``[{"type": "already_used", "at": ...}]``).
    """

    status = 400

    def __init__(self, message: str, field: str | None = None, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.details = details

    def headers(self) -> dict[str, str]:
        """Response headers that go with the answer (none by default)."""
        return {}


class Unauthenticated(DomainError):
    """No valid credentials (401)."""

    status = 401


class Forbidden(DomainError):
    """The caller is known but may not do this (403)."""

    status = 403


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does (404)."""

    status = 404


class Conflict(DomainError):
    """The change collides with existing state: taken names, duplicates, a wrong state (409)."""

    status = 409


class TooManyRequests(DomainError):
    """Slow down (429); answered with ``Retry-After``."""

    status = 429

    def __init__(self, message: str, retry_after_seconds: int, field: str | None = None) -> None:
        super().__init__(message, field)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class MissingPlugin(DomainError):
    """The feature needs a plugin that is not installed (501), e.g. uploads without media."""

    status = 501
