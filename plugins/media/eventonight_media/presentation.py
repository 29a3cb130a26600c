"""HTTP: ``/api/media/{kind}/{entityId}`` uploads and deletions, ``GET /api/media/{key}`` serving."""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from eventonight.hooks.http import json_response, require_user
from eventonight_media.rules import Forbidden, MediaError, NotFound, check_kind

CHUNK = 64 * 1024


async def read_upload(service, request: web.Request):
    """The one file of a multipart request, streamed into the service's spool (400 when it is malformed)."""
    if not request.content_type.startswith("multipart/"):
        raise MediaError("send the image as multipart/form-data with one file field")
    try:
        return await _read_upload(service, request)
    except (ValueError, HttpProcessingError) as exc:  # the multipart reader's word for a broken body
        raise MediaError("the multipart body is malformed: send one file field") from exc


async def _read_upload(service, request: web.Request):
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and not part.filename:
        await part.release()
        part = await reader.next()
    if part is None:
        raise MediaError("no file in the request")

    async def chunks():
        while chunk := await part.read_chunk(CHUNK):
            yield chunk

    upload = await service.receive(chunks())
    extra = await reader.next()
    while extra is not None:
        if extra.filename:
            upload.file.close()
            raise MediaError("send exactly one file")
        await extra.release()
        extra = await reader.next()
    return upload


async def store_from_request(service, kind: str, entity_id: str, request: web.Request) -> dict:
    upload = await read_upload(service, request)
    return await service.store(kind, entity_id, upload)


class MediaApi:
    def __init__(self, kernel, media) -> None:
        self.kernel = kernel
        self.media = media

    def routes(self) -> list[web.RouteDef]:
        # Any kind matches the route, so an unknown one is a 404 naming the kinds, not a 405.
        target = "/api/media/{kind}/{entityId}"
        return [
            web.post(target, self.upload),
            web.put(target, self.upload),
            web.delete(target, self.delete),
            web.get("/api/media/{key:.+}", self.serve),
        ]

    async def _authorize(self, request: web.Request) -> tuple[str, str]:
        caller = await require_user(request)
        kind, entity_id = check_kind(request.match_info["kind"]), request.match_info["entityId"]
        allowed = await self.kernel.hooks.first(
            "media_may_change_image", kind=kind, entity_id=entity_id, user_id=caller.user_id
        )
        if allowed is None:
            raise NotFound(f"no installed plugin owns {kind} images")
        if not allowed:
            raise Forbidden(f"you may not change this {kind}")
        return kind, entity_id

    async def upload(self, request: web.Request) -> web.Response:
        kind, entity_id = await self._authorize(request)
        stored = await store_from_request(self.media, kind, entity_id, request)
        return json_response(stored, status=201 if request.method == "POST" else 200)

    async def delete(self, request: web.Request) -> web.Response:
        kind, entity_id = await self._authorize(request)
        if not await self.media.delete(kind, entity_id):
            raise NotFound(f"there is no {kind} to delete")
        return web.Response(status=204)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        etag = f'"{key.rsplit("/", 1)[-1].split(".")[0]}"'  # the name is a content hash
        headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        stored = await self.media.fetch(key)
        if stored is None:
            raise NotFound("no such image")
        if stored.path is not None:
            return web.FileResponse(stored.path, headers={**headers, "Content-Type": stored.content_type})
        return web.Response(body=stored.data, content_type=stored.content_type, headers=headers)
