"""The persisted RS256 key set: generated on first start, rotated on demand.

Keys live in MongoDB so every process of a deployment signs and verifies with
the same set. After a rotation the previous keys stay in the published JWKS
until every token they signed has expired.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any
from uuid import uuid4

from joserfc.jwk import KeySet, RSAKey

from eventonight.kernel.db import Database, utcnow

KEYS = "kernel_signing_keys"


#: Tokens with a key id this process does not know make it look for new keys at most this often.
MIN_FORCED_REFRESH_SECONDS = 1.0


class KeyStore:
    def __init__(self, database: Database, secrets, *, token_ttl_seconds: int, refresh_seconds: float = 30.0) -> None:
        self.database = database
        self.secrets = secrets  # the private keys are stored encrypted (eventonight.kernel.secrets)
        self.token_ttl_seconds = token_ttl_seconds
        self.refresh_seconds = refresh_seconds
        self.signing_key: RSAKey | None = None
        self.key_set = KeySet([])
        self._loaded_at = 0.0
        self._forced_at = float("-inf")  # the last look for a key id nobody here knew
        self._lock = asyncio.Lock()
        # Imported keys by (id, stored form): importing a 2048-bit private key checks it, ~30 ms of
        # CPU on the event loop, so a periodic refresh that finds the same keys imports none.
        self._imported: dict[tuple[str, Any], RSAKey] = {}

    async def load(self) -> None:
        """Load the key set, generating the first key if there is none."""
        async with self._lock:
            await self._encrypt_plain_keys()
            docs = await self._active_docs()
            if not any(d.get("retiredAt") is None for d in docs):
                await self._insert_new_key()
                docs = await self._active_docs()
            self._apply(docs)

    async def refresh_for_unknown_kid(self) -> None:
        """A token names a key this process does not know: another process may have rotated.

        Looks again at most once per ``MIN_FORCED_REFRESH_SECONDS``, however many
        such tokens arrive (an attacker's random ``kid`` costs no database read and
        waits on no lock); requests that arrive during a refresh share it.
        """
        if time.monotonic() - self._forced_at < MIN_FORCED_REFRESH_SECONDS:
            return
        async with self._lock:
            if time.monotonic() - self._forced_at >= MIN_FORCED_REFRESH_SECONDS:  # not done while we waited
                self._forced_at = time.monotonic()
                self._apply(await self._active_docs())

    async def refresh_if_stale(self, force: bool = False) -> None:
        if force or time.monotonic() - self._loaded_at > self.refresh_seconds:
            async with self._lock:
                self._apply(await self._active_docs())

    async def rotate(self) -> str:
        """Make a new signing key; the old ones stay valid until their tokens expire."""
        async with self._lock:
            now = utcnow()
            await self.database.db[KEYS].update_many({"retiredAt": None}, {"$set": {"retiredAt": now}})
            kid = await self._insert_new_key()
            self._apply(await self._active_docs())
            return kid

    async def _insert_new_key(self) -> str:
        kid = uuid4().hex
        key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"}, private=True)
        sealed = self.secrets.encrypt(json.dumps(key.as_dict(private=True)).encode())
        await self.database.db[KEYS].insert_one(
            {"_id": kid, "jwkEncrypted": sealed, "createdAt": utcnow(), "retiredAt": None}
        )
        return kid

    async def _encrypt_plain_keys(self) -> None:
        """Keys stored in clear by an earlier version are encrypted in place."""
        async for doc in self.database.db[KEYS].find({"jwk": {"$exists": True}}):
            sealed = self.secrets.encrypt(json.dumps(doc["jwk"]).encode())
            await self.database.db[KEYS].update_one(
                {"_id": doc["_id"]}, {"$set": {"jwkEncrypted": sealed}, "$unset": {"jwk": ""}}
            )

    async def rekey(self) -> int:
        """Every stored key under the first key-encryption key (after a new KEK was put first)."""
        count = 0
        async for doc in self.database.db[KEYS].find({"jwkEncrypted": {"$exists": True}}):
            await self.database.db[KEYS].update_one(
                {"_id": doc["_id"]}, {"$set": {"jwkEncrypted": self.secrets.rekey(doc["jwkEncrypted"])}}
            )
            count += 1
        return count

    def _jwk(self, doc: dict) -> dict:
        return json.loads(self.secrets.decrypt(doc["jwkEncrypted"])) if "jwkEncrypted" in doc else doc["jwk"]

    async def _active_docs(self) -> list[dict]:
        # A retired key is kept while tokens it signed may still be unexpired.
        horizon = utcnow() - timedelta(seconds=self.token_ttl_seconds + 60)
        cursor = self.database.db[KEYS].find({"$or": [{"retiredAt": None}, {"retiredAt": {"$gt": horizon}}]})
        return await cursor.sort("createdAt", 1).to_list(None)

    @staticmethod
    def _stored(doc: dict) -> tuple[str, Any]:
        """A key document's id and stored form: a re-encrypted (rekey) or replaced key differs."""
        return doc["_id"], doc.get("jwkEncrypted") or json.dumps(doc.get("jwk"), sort_keys=True)

    def _apply(self, docs: list[dict]) -> None:
        imported: dict[str, RSAKey] = {}
        held: dict[tuple[str, Any], RSAKey] = {}
        for d in docs:
            stored = self._stored(d)
            key = self._imported.get(stored)
            held[stored] = imported[d["_id"]] = key if key is not None else RSAKey.import_key(self._jwk(d))
        current = [d for d in docs if d.get("retiredAt") is None]
        if current:
            # Two processes starting together may both create a key: all agree on the newest.
            newest = max(current, key=lambda d: (d["createdAt"], d["_id"]))
            self.signing_key = imported[newest["_id"]]
        self.key_set = KeySet(list(imported.values()))
        self._imported = held  # only the keys still active: a retired key's import goes with it
        self._loaded_at = time.monotonic()

    def public_jwks(self) -> dict:
        return self.key_set.as_dict(private=False)

    def has_kid(self, kid: str | None) -> bool:
        return any(k.kid == kid for k in self.key_set.keys)
