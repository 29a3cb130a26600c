"""REST under ``/api/notifications`` and the live stream (server-sent events)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

from aiohttp import web

from eventonight.hooks import DomainError, NotFound, Unauthenticated
from eventonight.hooks.http import Page, dumps, json_response, page_params, require_user
from eventonight_notification.infrastructure.pages import Pages
from eventonight_notification.infrastructure.store import (
    Store,
    issue_stream_ticket,
    parse_id,
    redeem_stream_ticket,
    view,
)
from eventonight_notification.presentation.live import UNREAD_CHANGED, Hub
from eventonight_notification.presentation.stream import Stream

BASE = "/api/notifications"
#: How long a stream ticket may wait to be used (once).
STREAM_TICKET_SECONDS = 30
#: Sent with the stream's headers: a buffering proxy (nginx) would otherwise hold frames back.
STREAM_HEADERS = {"X-Accel-Buffering": "no"}


def _origin(notification_id: str) -> str:
    """The process part of a notification's ObjectId: one process's ids only grow, two processes'
    ids interleave (a notification another process stored may come later with a smaller id)."""
    return notification_id[8:18]


def _digest(ticket: str) -> str:
    # Stored hashed: a database reader cannot open anyone's stream with what is stored.
    return hashlib.sha256(ticket.encode()).hexdigest()


class NotificationsApi:
    def __init__(self, kernel, hub: Hub, pages_kept: int = 0) -> None:
        self.kernel = kernel
        self.hub = hub
        self.pages = Pages(pages_kept=pages_kept)

    def store(self) -> Store:
        return Store(self.kernel.read)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(BASE, self.listing),
            web.get(f"{BASE}/unread-count", self.unread_count),
            web.get(f"{BASE}/stream", self.stream),
            web.post(f"{BASE}/stream-tickets", self.stream_ticket),
            web.post(f"{BASE}/read-all", self.read_all),
            web.post(f"{BASE}/{{notificationId}}/read", self.read_one),
            web.get(f"{BASE}/users/{{userId}}/is-online", self.is_online),
        ]

    async def listing(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        limit, offset = page_params(request)
        unread = request.query.get("unread", "false").lower()
        if unread not in ("true", "false"):
            raise DomainError("unread must be true or false", field="unread")
        docs, total = await self.store().page(caller.user_id, unread == "true", limit, offset, self.pages)
        return json_response(Page([view(d) for d in docs], limit=limit, offset=offset, total=total))

    async def unread_count(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        return json_response({"unread": await self.store().unread_count(caller.user_id)})

    async def _unread_changed(self, uow, user_id: str) -> None:
        unread = await Store(uow).unread_count(user_id)
        await uow.record(UNREAD_CHANGED, {"userId": user_id, "unreadCount": unread})

    async def read_one(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        notification_id = parse_id(request.match_info["notificationId"])

        async def work(uow):
            store = Store(uow)
            # Someone else's notification is "not found": ids leak nothing.
            if notification_id is None or not await store.mark_read(caller.user_id, notification_id):
                raise NotFound("notification not found")
            await self._unread_changed(uow, caller.user_id)

        await self.kernel.transaction(work)
        return web.Response(status=204)

    async def read_all(self, request: web.Request) -> web.Response:
        caller = await require_user(request)

        async def work(uow):
            updated = await Store(uow).mark_all_read(caller.user_id)
            await self._unread_changed(uow, caller.user_id)
            return updated

        return json_response({"updated": await self.kernel.transaction(work)})

    async def is_online(self, request: web.Request) -> web.Response:
        await require_user(request)
        user_id = request.match_info["userId"]
        return json_response({"userId": user_id, "online": await self.store().online(user_id, datetime.now(UTC))})

    async def stream_ticket(self, request: web.Request) -> web.Response:
        """A single-use ticket that opens the stream for ``STREAM_TICKET_SECONDS``: for EventSource,
        which cannot send headers, so no token ever travels in a URL (and into proxies' logs)."""
        caller = await require_user(request)
        ticket = secrets.token_urlsafe(32)
        until = float(caller.claims.get("exp", time.time() + 3600))  # the stream lives as long as the token
        expires = datetime.now(UTC) + timedelta(seconds=STREAM_TICKET_SECONDS)
        await issue_stream_ticket(self.kernel.read, _digest(ticket), caller.user_id, expires, until)
        return json_response(
            {"ticket": ticket, "expiresIn": STREAM_TICKET_SECONDS, "streamUrl": f"{BASE}/stream?ticket={ticket}"},
            status=201,
        )

    async def _stream_caller(self, request: web.Request) -> tuple[str, float]:
        # Only the user id and expiry live as long as the stream: not the token's claims.
        if "access_token" in request.query:
            raise DomainError("tokens do not go in URLs: POST /api/notifications/stream-tickets and open ?ticket=")
        if ticket := request.query.get("ticket"):
            found = await redeem_stream_ticket(self.kernel.read, _digest(ticket), datetime.now(UTC))
            if found is None:
                raise Unauthenticated("this stream ticket is unknown, used or expired: ask for a new one")
            return found["user_id"], found["stream_until"]
        caller = await require_user(request, remember=False)
        return caller.user_id, float(caller.claims.get("exp", time.time() + 3600))

    async def stream(self, request: web.Request) -> web.StreamResponse:
        # A bearer header, or (EventSource) a single-use ?ticket= from POST .../stream-tickets.
        user_id, expires_at = await self._stream_caller(request)
        last = parse_id(request.headers.get("Last-Event-ID") or request.query.get("lastEventId"))
        # Before the replay: nothing falls between the two. When the token expires, the hub ends
        # the stream cleanly and the client reconnects with a fresh one.
        inbox = await self.hub.open(user_id, until=expires_at)
        response = Stream(STREAM_HEADERS)
        try:
            await response.prepare(request)
            # Sent already; kept for hours of an idle stream they would cost ~2 KB each.
            response.headers.clear()
            frame_id = str(last) if last else "0"
            # Per process that stored them, the newest notification sent: what the replay sent, and
            # what came here first from the process that committed it, comes again from the broker.
            newest: dict[str, str] = {_origin(frame_id): frame_id} if last else {}
            if last is not None:
                for doc in await self.store().since(user_id, last):
                    frame_id = str(doc["_id"])
                    newest[_origin(frame_id)] = frame_id
                    await response.send(dumps(view(doc)), event="notification", id=frame_id)
            unread = await self.store().unread_count(user_id)
            await response.send(json.dumps({"unread": unread}), event="unread-count", id=frame_id)
            while True:
                item = inbox.pop()
                if item is None:
                    await inbox.wait()
                    continue
                kind, payload = item
                if kind == "close":
                    break
                if kind == "ping":
                    await response.ping()
                elif kind == "notification":
                    notification = payload["notification"]
                    origin = _origin(notification["id"])
                    if notification["id"] <= newest.get(origin, ""):
                        continue  # sent already: by the replay, or ahead of the broker's copy
                    frame_id = newest[origin] = notification["id"]
                    await response.send(dumps(notification), event="notification", id=frame_id)
                    await response.send(
                        json.dumps({"unread": payload["unreadCount"]}), event="unread-count", id=frame_id
                    )
                elif kind == "unread":
                    await response.send(
                        json.dumps({"unread": payload["unreadCount"]}), event="unread-count", id=frame_id
                    )
                else:
                    await response.send(json.dumps(payload), event="presence", id=frame_id)
        except (ConnectionResetError, TimeoutError):
            pass  # the client went away or stalled: the stream ends, the client resumes with Last-Event-ID
        finally:
            await self.hub.close(user_id, inbox)
        return response
