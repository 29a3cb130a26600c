"""External OpenID Connect issuers (e.g. Keycloak) whose tokens are trusted."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from joserfc.jwk import KeySet

from eventonight.settings import TrustedIssuer


class ExternalIssuer:
    """Fetches and caches an issuer's JWKS; refetches on an unknown ``kid``."""

    def __init__(self, config: TrustedIssuer, *, cache_seconds: float = 600.0, min_refetch_seconds: float = 30.0):
        self.config = config
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self._key_set: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key_set(self, kid: str | None) -> KeySet:
        age = time.monotonic() - self._fetched_at
        known = self._key_set is not None and any(k.kid == kid for k in self._key_set.keys)
        if self._key_set is None or age > self.cache_seconds or (not known and age > self.min_refetch_seconds):
            async with self._lock:
                await self._fetch()
        return self._key_set

    async def _fetch(self) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(self.config.jwks_url) as response:
                response.raise_for_status()
                data = await response.json(content_type=None)
        self._key_set = KeySet.import_key_set(data)
        self._fetched_at = time.monotonic()
