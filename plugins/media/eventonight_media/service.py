"""Media use cases: receive an upload, validate and store it, replace, delete, fetch."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventonight_media import imaging
from eventonight_media.rules import DELETED, STORED, MediaError, TooLarge, check_kind, object_key, sniff
from eventonight_media.stores import ObjectStore, StoredObject

REFERENCES = "media_images"
SPOOL_IN_MEMORY = 1024 * 1024  # larger uploads spill to a temporary file


@dataclass
class Upload:
    file: Any  # a SpooledTemporaryFile holding the received bytes
    content_type: str
    size: int


class MediaService:
    def __init__(self, kernel: Any, store: ObjectStore, max_bytes: int, max_decodes: int = 2) -> None:
        self.kernel = kernel
        self.objects = store
        self.max_bytes = max_bytes
        # Decoding is where an image takes memory (up to MAX_PIXELS x 4 bytes): only this many at once.
        self.decoding = asyncio.Semaphore(max_decodes)

    async def receive(self, chunks: AsyncIterator[bytes]) -> Upload:
        """Read an upload chunk by chunk, refusing it as soon as it is too large or not an image."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        size, content_type, head = 0, None, b""
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > self.max_bytes:
                    raise TooLarge(f"the image exceeds {self.max_bytes // (1024 * 1024)} MB")
                if content_type is None:
                    head += chunk
                    if len(head) >= 12:
                        content_type = sniff(head)
                spool.write(chunk)
            if size == 0:
                raise MediaError("the file is empty")
            if content_type is None:
                content_type = sniff(head)
        except BaseException:
            spool.close()
            raise
        return Upload(spool, content_type, size)

    async def store(self, kind: str, entity_id: str, upload: Upload) -> dict:
        check_kind(kind)
        try:
            async with self.decoding:
                data, thumb, (width, height) = await asyncio.to_thread(
                    imaging.process, upload.file, upload.content_type, thumbnail=kind == "avatar"
                )
        finally:
            upload.file.close()
        key = object_key(kind, entity_id, data, upload.content_type)
        thumb_key = object_key(kind, entity_id, data, upload.content_type, "-thumb") if thumb else None
        await self.objects.put(key, data, upload.content_type)
        if thumb_key:
            await self.objects.put(thumb_key, thumb, upload.content_type)
        reference = {
            "kind": kind,
            "entityId": entity_id,
            "url": f"/api/media/{key}",
            "thumbnailUrl": f"/api/media/{thumb_key}" if thumb_key else None,
            "contentType": upload.content_type,
            "width": width,
            "height": height,
        }

        async def work(uow) -> dict | None:
            references = uow.collection(REFERENCES)
            old = await references.find_one({"_id": f"{kind}:{entity_id}"})
            await references.replace_one(
                {"_id": f"{kind}:{entity_id}"},
                {"key": key, "thumb_key": thumb_key, **reference, "updatedAt": datetime.now(UTC)},
                upsert=True,
            )
            await uow.record(STORED, {k: reference[k] for k in ("kind", "entityId", "url", "thumbnailUrl")})
            return old

        try:
            old = await self.kernel.transaction(work)
        except BaseException:
            # No reference points at the new objects: remove them rather than leave orphans.
            for new_key in filter(None, (key, thumb_key)):
                await self.objects.delete(new_key)
            raise
        if old:
            for old_key in filter(None, (old.get("key"), old.get("thumb_key"))):
                if old_key not in (key, thumb_key):
                    await self.objects.delete(old_key)
        return reference

    async def delete(self, kind: str, entity_id: str) -> bool:
        check_kind(kind)

        async def work(uow) -> dict | None:
            references = uow.collection(REFERENCES)
            # find + delete rather than find_one_and_delete, which SecantusDB answers with a scan.
            old = await references.find_one({"_id": f"{kind}:{entity_id}"})
            if old is not None:
                await references.delete_one({"_id": f"{kind}:{entity_id}"})
                await uow.record(DELETED, {"kind": kind, "entityId": entity_id})
            return old

        old = await self.kernel.transaction(work)
        if old is None:
            return False
        for old_key in filter(None, (old.get("key"), old.get("thumb_key"))):
            await self.objects.delete(old_key)
        return True

    async def fetch(self, key: str) -> StoredObject | None:
        try:
            return await self.objects.get(key)
        except ValueError:
            return None
