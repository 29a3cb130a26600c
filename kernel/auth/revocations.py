"""Revoked access tokens: by subject (a deleted user) or by login session.

Access tokens are verified locally and live for minutes; revocations make a
logout, password change or account deletion take effect before they expire.
Each process keeps the set in memory (a lookup per request) and reloads it
from MongoDB every few seconds, so another process's revocation applies within
that interval; in the revoking process it applies at once.
"""

from __future__ import annotations

from datetime import timedelta

from eventonight.kernel.db import Database, utcnow

REVOCATIONS = "kernel_revocations"


class Revocations:
    def __init__(self, database: Database, *, keep_seconds: int) -> None:
        self.database = database
        self.keep_seconds = keep_seconds
        self._revoked_at: dict[str, float] = {}

    async def ensure_indexes(self) -> None:
        await self.database.db[REVOCATIONS].create_index("expiresAt", expireAfterSeconds=0)

    async def load(self) -> None:
        now = utcnow()
        docs = await self.database.db[REVOCATIONS].find({"expiresAt": {"$gt": now}}).to_list(None)
        self._revoked_at = {d["_id"]: d["revokedAt"].timestamp() for d in docs}

    async def revoke(self, *, subject: str | None = None, session: str | None = None) -> None:
        now = utcnow()
        for key in ([f"sub:{subject}"] if subject else []) + ([f"sid:{session}"] if session else []):
            await self.database.db[REVOCATIONS].update_one(
                {"_id": key},
                {"$set": {"revokedAt": now, "expiresAt": now + timedelta(seconds=self.keep_seconds)}},
                upsert=True,
            )
            self._revoked_at[key] = now.timestamp()

    def is_revoked(self, claims: dict) -> bool:
        if not self._revoked_at:
            return False
        issued = claims.get("iat", 0)
        for key in (f"sub:{claims.get('sub')}", f"sid:{claims.get('sid')}"):
            revoked_at = self._revoked_at.get(key)
            if revoked_at is not None and issued <= revoked_at:
                return True
        return False
