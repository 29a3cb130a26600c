"""Logging with the request id on every line."""

from __future__ import annotations

import contextvars
import logging


class RequestScope:
    """What the kernel knows of the HTTP request being handled, for logs and the audit trail.

    One object in one context variable: a stream keeps its scope for hours, and every
    variable set is a token and a context node more per open request.
    """

    __slots__ = ("request", "request_id", "user_id")

    def __init__(self, request_id: str, request: object) -> None:
        self.request_id = request_id
        #: The aiohttp request (the audit trail takes the client address from it).
        self.request = request
        #: Who called, once a route authenticated them (the access log's ``user=``).
        self.user_id: str | None = None


request_scope: contextvars.ContextVar[RequestScope | None] = contextvars.ContextVar("request_scope", default=None)


def current_request_id() -> str:
    """The id of the request being handled, ``-`` outside one."""
    scope = request_scope.get()
    return scope.request_id if scope is not None else "-"


def current_request() -> object | None:
    """The aiohttp request being handled, if any."""
    scope = request_scope.get()
    return scope.request if scope is not None else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


def configure_logging(level: str = "INFO", *, access_log: bool = True) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    if not root.handlers:  # leave an embedding application's (or pytest's) handlers alone
        root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # kombu says "Connected to ..." at INFO for every consumer: noise at start, not news.
    logging.getLogger("kombu").setLevel(logging.WARNING)
    # Ours replaces aiohttp's: route templates instead of paths (no query strings, no ids), user ids.
    logging.getLogger("eventonight.access").setLevel(logging.NOTSET if access_log else logging.WARNING)
