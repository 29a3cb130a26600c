"""Logging with the request id on every line."""

from __future__ import annotations

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
#: The HTTP request being handled, if any (the audit trail takes the client address from it).
request_var: contextvars.ContextVar[object | None] = contextvars.ContextVar("request", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
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
