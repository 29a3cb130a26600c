"""Images through the media hooks, for handlers of plugins that own an image (avatar, poster).

Both answer 501 when no installed plugin implements the hook, so the endpoint says
clearly what is missing and everything else keeps working.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from eventonight.kernel.errors import ApiError
from eventonight.kernel.hookcall import afirst_result
from eventonight.kernel.http.keys import KERNEL


async def store_image(request: web.Request, kind: str, entity_id: str) -> dict[str, Any]:
    """Store the image uploaded with ``request`` as ``kind`` of ``entity_id``; its ``{"url", ...}``."""
    kernel = request.app[KERNEL]
    stored = await afirst_result(
        kernel.pm, "eventonight_store_image", kernel=kernel, kind=kind, entity_id=entity_id, request=request
    )
    if stored is None:
        raise ApiError(501, f"{kind} upload needs the media plugin, which is not installed")
    return stored


async def delete_image(request: web.Request, kind: str, entity_id: str) -> bool:
    """Delete ``kind`` of ``entity_id``; False when there was none."""
    kernel = request.app[KERNEL]
    deleted = await afirst_result(kernel.pm, "eventonight_delete_image", kernel=kernel, kind=kind, entity_id=entity_id)
    if deleted is None:
        raise ApiError(501, f"{kind}s need the media plugin, which is not installed")
    return deleted
