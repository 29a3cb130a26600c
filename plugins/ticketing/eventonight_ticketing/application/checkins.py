"""Door check-in by the event's hosts: signed codes, idempotent per scan id, double scans refused.

Every scan is stored under its ``scanId`` (a nonce of the scanning device)
with its answer, so a device that retries gets the same answer and a ticket
is never admitted twice: the first scan turns it ``USED`` in a guarded update,
every later one answers 409 with the first scan's time, gate and host.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from eventonight_ticketing.domain import events as de
from eventonight_ticketing.domain.model import CANCELLED, VALID, DomainError, hosted_event
from eventonight_ticketing.domain.qr import BadCode, TicketCode, sign, verify

USED = "USED"
MAX_BATCH = 500
KEY_RELOAD_SECONDS = 5.0


class ScanRefused(DomainError):
    """A scan that does not admit: its status and ``details[0].type`` say why."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message, details=[{"type": kind, "message": message, **extra}])
        self.status = status


def _now() -> datetime:
    return datetime.now(UTC)


class Checkins:
    def __init__(self, transaction, read, keys, is_duplicate) -> None:
        self.transaction = transaction  # work(store, uow)
        self.read = read  # work(store, kernel.read)
        self.keys = keys
        self.is_duplicate = is_duplicate
        self._keys_loaded_at = 0.0

    # -- codes ----------------------------------------------------------------
    def code_for(self, ticket: dict[str, Any]) -> str | None:
        """The signed code of a ticket that may enter (valid or used), else None."""
        if ticket["status"] not in (VALID, USED):
            return None
        kid, key = self.keys.signing
        code = TicketCode(ticket["_id"], ticket["event_id"], ticket["type_id"], ticket.get("secret_rev", 0), kid)
        return sign(code, key)

    async def _verify(self, text: str) -> TicketCode:
        try:
            return verify(text, self.keys.public)
        except BadCode:
            # Another process may have rotated the keys: look again, at most every few seconds.
            if time.monotonic() - self._keys_loaded_at < KEY_RELOAD_SECONDS:
                raise
            self._keys_loaded_at = time.monotonic()
            await self.keys.load()
            return verify(text, self.keys.public)

    # -- scanning -------------------------------------------------------------
    async def scan(self, event_id: str, host: str, scan: dict[str, Any]) -> dict[str, Any]:
        """Admit one ticket; raises :class:`ScanRefused` (stored too) when it may not enter."""
        await self._host(event_id, host)
        return await self._scan(event_id, host, scan)

    async def batch(self, event_id: str, host: str, scans: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Offline scans uploaded together: the earliest ``scannedAt`` of a ticket wins."""
        if len(scans) > MAX_BATCH:
            raise DomainError(f"at most {MAX_BATCH} scans per batch", field="scans")
        await self._host(event_id, host)
        results = []
        for scan in sorted(scans, key=lambda s: s.get("scanned_at") or _now()):
            try:
                results.append({"scanId": scan["scan_id"], "status": 200, **await self._scan(event_id, host, scan)})
            except ScanRefused as refused:
                results.append({"scanId": scan["scan_id"], "status": refused.status, **refused.details[0]})
        return results

    async def undo(self, event_id: str, host: str, ticket_id: str) -> None:
        await self._host(event_id, host)

        async def work(store, uow) -> None:
            if not await store.undo_checkin(ticket_id, event_id):
                raise ScanRefused(409, "not_used", "this ticket is not checked in")

        await self.transaction(work)

    async def revoked(
        self, event_id: str, host: str, since: datetime | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """An offline scanner's revocation list since ``since``: tickets cancelled, and tickets issued
        anew (a renamed attendee), whose codes below the current ``secret_rev`` no longer admit."""
        await self._host(event_id, host)

        async def work(store, _):
            return await store.cancelled_since(event_id, since), await store.reissued_since(event_id, since)

        return await self.read(work)

    async def _host(self, event_id: str, host: str) -> None:
        await self.read(lambda store, _: hosted_event(store, event_id, host, "check tickets in"))

    async def _scan(self, event_id: str, host: str, scan: dict[str, Any]) -> dict[str, Any]:
        scan_id = scan["scan_id"]
        stored = await self.read(lambda store, _: store.checkin(scan_id))
        if stored is not None:
            return self._answer(stored)
        record = {"_id": scan_id, "event_id": event_id, "by": host, "gate": scan.get("gate"), "at": _now(),
                  "scanned_at": scan.get("scanned_at") or _now()}  # fmt: skip
        try:
            record |= await self._admit(event_id, scan, record)
        except ScanRefused as refused:
            record |= {"status": refused.status, "result": refused.details[0]}
            await self._store_refusal(record)
            raise
        return self._answer(record)

    async def _admit(self, event_id: str, scan: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        ticket_id = scan.get("ticket_id")
        if scan.get("qr"):
            try:
                code = await self._verify(scan["qr"])
            except BadCode as exc:
                raise ScanRefused(422, "bad_signature", str(exc)) from exc
            if code.event_id != event_id:
                raise ScanRefused(422, "wrong_event", "this ticket is for another event")
            ticket_id = code.ticket_id
        event = await self.read(lambda store, _: store.event(event_id))
        if event.sales_closed and event.status in ("CANCELLED", "DELETED"):
            raise ScanRefused(409, "event_not_active", "the event was cancelled")

        async def work(store, uow) -> dict[str, Any]:
            ticket = await store.ticket(ticket_id) if ticket_id else None
            if ticket is None:
                raise ScanRefused(404, "unknown_ticket", "no such ticket")
            if ticket["event_id"] != event_id:
                raise ScanRefused(422, "wrong_event", "this ticket is for another event")
            if scan.get("qr") and ticket.get("secret_rev", 0) != code.secret_rev:
                raise ScanRefused(422, "revoked", "this code was replaced by a newer one")
            if ticket["status"] == CANCELLED:
                raise ScanRefused(409, "cancelled", "this ticket was cancelled")
            entry = {"at": record["scanned_at"], "gate": record["gate"], "by": record["by"]}
            if not await store.check_in(ticket["_id"], entry):
                first = ticket.get("checked_in") or {}
                raise ScanRefused(
                    409, "already_used", "this ticket was checked in before",
                    at=first.get("at"), gate=first.get("gate"), by=first.get("by"),
                )  # fmt: skip
            admitted = {"status": 200, "result": {"type": "ok", "ticketId": ticket["_id"], "typeId": ticket["type_id"]}}
            await store.add_checkin({**record, "ticket_id": ticket["_id"], **admitted})
            await uow.record(
                de.TICKET_CHECKED_IN,
                {
                    "ticketId": ticket["_id"],
                    "eventId": event_id,
                    "userId": ticket["user_id"],
                    "at": record["scanned_at"],
                },
            )
            return admitted

        try:
            return await self.transaction(work)
        except Exception as exc:
            if self.is_duplicate(exc):  # the same scan id arrived twice at once: the first one's answer
                return await self.read(lambda store, _: store.checkin(record["_id"]))
            raise

    async def _store_refusal(self, record: dict[str, Any]) -> None:
        try:
            await self.transaction(lambda store, _: store.add_checkin(record))
        except Exception as exc:
            if not self.is_duplicate(exc):
                raise

    @staticmethod
    def _answer(stored: dict[str, Any]) -> dict[str, Any]:
        if stored["status"] != 200:
            result = dict(stored["result"])
            kind, message = result.pop("type"), result.pop("message")
            raise ScanRefused(stored["status"], kind, message, **result)
        return stored["result"]
