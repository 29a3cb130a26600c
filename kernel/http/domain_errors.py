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
    An exception's ``field`` attribute, when set, becomes the 400's field detail.
    """

    def __init__(self, base: type[Exception], statuses: dict[type[Exception], int]) -> None:
        self.base = base
        self.statuses = statuses

    def to_api_error(self, exc: Exception) -> ApiError:
        status = next((s for cls, s in self.statuses.items() if isinstance(exc, cls)), 400)
        field = getattr(exc, "field", None)
        details = [{"field": field, "message": str(exc), "type": "value_error"}] if field and status == 400 else None
        return ApiError(status, str(exc), details=details)

    async def __call__(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except self.base as exc:
            raise self.to_api_error(exc) from exc
