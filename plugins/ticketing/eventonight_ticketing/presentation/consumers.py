"""Bus consumers: the local copy of events (hosts, status, date) that sales are checked against;
who users are (username, role: hosts' order lists, the demo's buyers); and a deleted account's
tickets for events still to come, cancelled."""

from __future__ import annotations

from datetime import datetime

from eventonight.hooks import Consumer
from eventonight_ticketing.domain import events as de
from eventonight_ticketing.domain.model import EventCopy
from eventonight_ticketing.infrastructure.store import Store

#: Events after which nothing is sold any more.
CLOSING = (de.EVENT_CANCELLED, de.EVENT_DELETED, de.EVENT_COMPLETED)
REFUNDING = (de.EVENT_CANCELLED, de.EVENT_DELETED)


def _date(value) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def consumers(services) -> list[Consumer]:
    async def events(event, uow):
        p, store = event.payload, Store(uow)
        if event.event_type in CLOSING:
            await store.close_sales(p["eventId"], p.get("status") or event.event_type.rsplit(".", 1)[-1].upper())
            if event.event_type in REFUNDING:  # every holder gets their tickets back, once (a job works it off)
                await store.open_refund_run(p["eventId"], event.event_type.rsplit(".", 1)[-1])
            return
        hosts = [p["creatorId"], *(p.get("collaboratorIds") or [])]
        await store.save_event(
            EventCopy(p["eventId"], hosts, p.get("status", "DRAFT"), p.get("title", ""), _date(p.get("date")))
        )

    async def accounts(event, uow):
        p, store = event.payload, Store(uow)
        if event.event_type == de.USER_DELETED:
            await services.refunds.account_deleted(store, uow, p["userId"])
            await store.forget_user(p["userId"])
            return
        await store.save_user(p["userId"], p.get("username", ""), p.get("role", "member"))

    return [
        Consumer("events", de.EVENT_CHANGES, events),
        Consumer("accounts", (de.USER_CREATED, de.USER_UPDATED, de.USER_DELETED), accounts),
    ]
