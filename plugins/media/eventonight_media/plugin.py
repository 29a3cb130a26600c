"""Hook implementations of the media plugin (entry point ``media``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventonight.hooks import Consumer, hookimpl
from eventonight.hooks.http import INTEGER, STRING, error_responses, json_content, multipart_file_body, nullable, obj
from eventonight_media import hookspecs
from eventonight_media.presentation import MediaApi, store_from_request
from eventonight_media.service import MediaService
from eventonight_media.stores import LocalStore, S3Store

HOOK_API_VERSION = 1
NAME = "media"


class MediaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_MEDIA_", extra="ignore")

    s3_endpoint: str | None = None  # host:port; unset means the local directory store
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "eventonight-media"
    s3_secure: bool = True
    local_dir: str | None = None  # default: <data_dir>/media
    max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Images decoded at once (each up to 24 Mpx, ~100 MB while decoding); more uploads wait.
    max_concurrent_decodes: int = Field(default=2, ge=1)


def _build(kernel) -> MediaService:
    settings = kernel.plugin_settings.get(NAME) or MediaSettings()
    if settings.s3_endpoint:
        store = S3Store(
            settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_bucket, settings.s3_secure
        )
    else:
        store = LocalStore(settings.local_dir or kernel.settings.data_dir / "media")
    return MediaService(kernel, store, settings.max_bytes, settings.max_concurrent_decodes)


def services(kernel) -> MediaService:
    return kernel.plugin_service(NAME, lambda: _build(kernel))


@hookimpl
def eventonight_hookspecs():
    return hookspecs


@hookimpl
def eventonight_settings():
    return MediaSettings


@hookimpl
def eventonight_routes(kernel):
    return MediaApi(kernel, services(kernel)).routes()


STORED = obj(
    {
        "kind": STRING,
        "entityId": STRING,
        "url": STRING,
        "thumbnailUrl": nullable(STRING),
        "contentType": STRING,
        "width": INTEGER,
        "height": INTEGER,
    }
)


@hookimpl
def eventonight_openapi(kernel):
    target = {"parameters": [
        {"name": "kind", "in": "path", "required": True, "schema": {"enum": ["avatar", "poster"]}},
        {"name": "entityId", "in": "path", "required": True, "schema": {"type": "string"}},
    ]}  # fmt: skip
    upload = {
        "tags": ["media"],
        "security": [{"bearer": []}],
        "requestBody": multipart_file_body(),
        "responses": {
            **json_content(STORED, 201, "stored"),
            **json_content(STORED, 200, "replaced"),
            **error_responses(403, 404, 413, 415),
        },
    }
    return {
        "tags": [{"name": "media", "description": "Images in an object store"}],
        "paths": {
            "/api/media/{kind}/{entityId}": {
                **target,
                "post": {
                    **upload,
                    "summary": "Upload (JPEG/PNG/WebP by content, 5 MB max)",
                    "operationId": "media_upload",
                },
                "put": {**upload, "summary": "Replace", "operationId": "media_replace"},
                "delete": {
                    "tags": ["media"],
                    "summary": "Delete",
                    "security": [{"bearer": []}],
                    "operationId": "media_delete",
                    "responses": {"204": {"description": "deleted"}, **error_responses(403, 404)},
                },
            },
            "/api/media/{key}": {
                "get": {
                    "tags": ["media"],
                    "summary": "Serve an image (ETag, immutable caching: names are content hashes)",
                    "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "the image",
                            "content": {t: {"schema": {}} for t in ("image/jpeg", "image/png", "image/webp")},
                        },
                        "304": {"description": "not modified"},
                        **error_responses(404),
                    },
                }
            },
        },
    }


@hookimpl
async def media_store_image(kernel, kind, entity_id, request):
    return await store_from_request(services(kernel), kind, entity_id, request)


@hookimpl
async def media_delete_image(kernel, kind, entity_id):
    return await services(kernel).delete(kind, entity_id)


@hookimpl
def eventonight_consumers(kernel):
    async def owner_deleted(event, uow):
        # After the owner's deletion committed; object deletion is idempotent on redelivery.
        if event.event_type == "user.deleted":
            await services(kernel).delete("avatar", event.payload["userId"])
        else:
            await services(kernel).delete("poster", event.payload["eventId"])

    return [Consumer("owner-deleted", ("user.deleted", "event.deleted"), owner_deleted)]
