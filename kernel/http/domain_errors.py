"""Turning a plugin's domain exceptions into API errors, without the domain knowing HTTP."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from eventonight.kernel.errors import ApiError

T = TypeVar("T")


class DomainErrors:
    """``await errors(coroutine)`` runs it and maps the plugin's exceptions to 4xx answers.

    ``statuses`` maps exception classes to HTTP statuses (the first matching class
    wins, so list subclasses first); anything else deriving from ``base`` is a 400.
    An exception's ``field`` attribute, when set, becomes a field detail.
    ``headers(exc)`` may add response headers (e.g. Retry-After).
    """

    def __init__(self, base: type[Exception], statuses: dict[type[Exception], int], headers=None) -> None:
        self.base = base
        self.statuses = statuses
        self.headers = headers

    def to_api_error(self, exc: Exception) -> ApiError:
        status = next((s for cls, s in self.statuses.items() if isinstance(exc, cls)), 400)
        field = getattr(exc, "field", None)
        kind = "value_error" if status == 400 else "conflict" if status == 409 else "error"
        details = [{"field": field, "message": str(exc), "type": kind}] if field else None
        return ApiError(status, str(exc), details=details, headers=self.headers(exc) if self.headers else None)

    async def __call__(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except self.base as exc:
            raise self.to_api_error(exc) from exc
