"""The audit trail: security events (logins, failures, password changes, token reuse, deletions,
key rotations), kept in ``kernel_audit`` for ``audit_retention_days`` and queried by operators with
``eventonight audit``.

Records are written directly, not in the caller's transaction: a failed login must be recorded
although nothing else commits. A record never holds a secret: no password, token or key.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from pymongo import DESCENDING

from eventonight.kernel.db import Database, utcnow
from eventonight.kernel.logs import current_request, current_request_id

log = logging.getLogger("eventonight.audit")

AUDIT = "kernel_audit"
_MAX_DETAIL_CHARS = 200


def _bounded(details: dict[str, Any]) -> dict[str, Any]:
    # Callers pass what the client sent (a login name, say): never let one record grow unbounded.
    out: dict[str, Any] = {}
    for key, value in list(details.items())[:20]:
        if isinstance(value, str):
            value = value[:_MAX_DETAIL_CHARS]
        elif not isinstance(value, (int, float, bool)) and value is not None:
            value = str(value)[:_MAX_DETAIL_CHARS]
        out[str(key)[:64]] = value
    return out


class AuditTrail:
    """``record(kind, user_id=, actor_id=, client=, **details)`` and ``query(...)``."""

    def __init__(self, database: Database, *, retention_days: float) -> None:
        self.database = database
        self.retention = timedelta(days=retention_days)

    async def ensure_indexes(self) -> None:
        collection = self.database.db[AUDIT]
        await collection.create_index("at", expireAfterSeconds=int(self.retention.total_seconds()))
        await collection.create_index([("userId", 1), ("at", DESCENDING)])
        await collection.create_index([("kind", 1), ("at", DESCENDING)])

    async def record(
        self,
        kind: str,
        *,
        user_id: str | None = None,
        actor_id: str | None = None,
        client: str | None = None,
        **details: Any,
    ) -> None:
        """Append one security event. ``user_id``: whose account it concerns; ``actor_id``: who did it
        when that is someone else (an operator, a host); ``client``: the caller's address. The
        request id (and, unless given, the client address) is added from the current request. Failures to write are logged, never raised:
        the audit trail must not turn a login into a 500."""
        request = current_request()
        if client is None and request is not None:
            from eventonight.kernel.http.client import client_address  # HTTP only when serving one

            client = client_address(request)
        document = {
            "_id": uuid4().hex,
            "at": utcnow(),
            "kind": kind,
            "userId": user_id,
            "actorId": actor_id,
            "client": client,
            "requestId": current_request_id(),
            "details": _bounded(details),
        }
        try:
            await self.database.db[AUDIT].insert_one(document)
        except Exception:
            log.exception("could not write the audit record %s", kind)

    async def query(
        self,
        *,
        kind: str | None = None,
        user_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The newest records first, filtered by kind (a trailing ``*`` matches a prefix), user and time."""
        where: dict[str, Any] = {}
        if kind:
            where["kind"] = {"$regex": "^" + re.escape(kind[:-1])} if kind.endswith("*") else kind
        if user_id:
            where["userId"] = user_id
        if since:
            where["at"] = {"$gte": since}
        cursor = self.database.db[AUDIT].find(where).sort("at", DESCENDING).limit(max(1, min(limit, 10_000)))
        return [{k: v for k, v in d.items() if k != "_id"} async for d in cursor]
