"""Errors the kernel and plugins raise; the HTTP layer renders them as JSON."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """A client-facing error: rendered as ``{"statusCode", "error", "message"}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "statusCode": self.status,
            "error": HTTPStatus(self.status).phrase,
            "message": self.message,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class PluginLoadError(RuntimeError):
    """A plugin listed as required could not be loaded."""


class ConcurrencyConflict(ApiError):
    """A transaction kept conflicting with concurrent ones after all retries."""

    def __init__(self, message: str = "the resource was changed concurrently, retry") -> None:
        super().__init__(409, message)
