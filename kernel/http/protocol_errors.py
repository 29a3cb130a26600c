"""Requests aiohttp refuses before any handler runs answer in the platform's JSON error shape.

A header line over aiohttp's limit (8 KB), a broken request line or non-HTTP
bytes are answered by aiohttp's own ``RequestHandler.handle_error``, in plain
text that quotes the start of the offending line: with an ``Authorization``
header, the start of the caller's credential. This replaces that answer with
``{"statusCode", "error", "message"}`` and a message that quotes nothing the
client sent; the log names the kind of error, not its text.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from aiohttp import web, web_protocol

from eventonight.kernel.errors import ApiError
from eventonight.kernel.jsonable import dumps

log = logging.getLogger("eventonight.http")

MESSAGES = {
    400: "malformed request: the request line or a header is too long (8 KB at most) or it is not HTTP",
    413: "request too large",
    500: "internal error",
    504: "the request took too long",
}


def json_protocol_error(self, request, status: int = 500, exc: BaseException | None = None, message=None):
    """Stands in for ``RequestHandler.handle_error`` (same contract: the connection is closed after)."""
    if status >= 500:  # a failure of ours outside any route's handling: keep the traceback
        log.error("error handling a request from %s: %s", request.remote, status, exc_info=exc)
    else:  # the request's own text may hold a credential: only its kind is logged
        log.warning("refused a request from %s before routing: %s (%s)", request.remote, status, type(exc).__name__)
    if request.writer.output_size > 0:  # part of a response went out already: nothing more can be said
        raise ConnectionError("response already started; cannot send the error")
    text = MESSAGES.get(status) or HTTPStatus(status).phrase
    response = web.Response(status=status, body=dumps(ApiError(status, text).body()), content_type="application/json")
    response.headers["Server"] = "eventonight"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.force_close()
    return response


def install() -> None:
    web_protocol.RequestHandler.handle_error = json_protocol_error  # type: ignore[method-assign]
