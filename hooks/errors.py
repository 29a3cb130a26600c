"""Exceptions for plugins' domain code: a broken rule, and the common kinds of it.

Pure Python, so domain layers may raise them without importing a framework; the
kernel's ``DomainErrors`` turns them into JSON 4xx answers at the HTTP edge.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken; ``field`` names the input at fault when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Conflict(DomainError):
    """The change collides with existing state (taken names, duplicates)."""
