"""Request id and JSON errors for every response."""

from __future__ import annotations

import logging
import re
from uuid import uuid4

from aiohttp import web

from eventonight.kernel.errors import ApiError
from eventonight.kernel.logs import request_id_var

log = logging.getLogger("eventonight.http")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _error_response(error: ApiError, request_id: str) -> web.Response:
    response = web.json_response(error.body(), status=error.status, headers=error.headers)
    response.headers["X-Request-ID"] = request_id
    return response


@web.middleware
async def request_context(request: web.Request, handler):
    """Give every request an id (kept from ``X-Request-ID`` when sane) and render errors as JSON."""
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid4().hex
    token = request_id_var.set(request_id)
    try:
        response = await handler(request)
        response.headers["X-Request-ID"] = request_id
        return response
    except ApiError as exc:
        return _error_response(exc, request_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 404:
            message = f"no route for {request.method} {request.path}"
        elif exc.status == 405:
            message = f"method {request.method} not allowed on {request.path}"
        elif exc.status == 413:
            message = "request body too large"
        return _error_response(ApiError(exc.status, message), request_id)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(ApiError(500, "internal error; quote the request id when reporting"), request_id)
    finally:
        request_id_var.reset(token)
