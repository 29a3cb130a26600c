"""HTTP layer of the kernel: app factory, middleware and handler helpers."""

from eventonight.kernel.http.auth import current_user, require_owner, require_role, require_user
from eventonight.kernel.http.keys import KERNEL
from eventonight.kernel.http.pagination import Page, page_params
from eventonight.kernel.http.validation import json_response, parse_body, parse_query

__all__ = [
    "KERNEL",
    "Page",
    "current_user",
    "json_response",
    "page_params",
    "parse_body",
    "parse_query",
    "require_owner",
    "require_role",
    "require_user",
]
