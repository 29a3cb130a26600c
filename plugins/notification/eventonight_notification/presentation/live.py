"""Live delivery: the streams open in this process, presence, and the broadcast feed from the broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from uuid import uuid4

from eventonight.hooks import DomainEvent
from eventonight_notification.domain.notifications import NOTIFICATION_CREATED, PRESENCE_CHANGED
from eventonight_notification.infrastructure.store import PRESENCE_TTL, Store, presence_bucket
from eventonight_notification.presentation.inbox import Inbox

#: Presence announcements published per call.
ANNOUNCE_SLICE = 200
log = logging.getLogger(__name__)
UNREAD_CHANGED = "notification.unread.changed"
#: What a stream shows of the bus: new notifications and unread counts (presence aside).
LIVE = (NOTIFICATION_CREATED, UNREAD_CHANGED)
#: Events delivered as they committed here whose broker copy is still to come, at most (Hub._early).
EARLY_KEPT = 20_000
#: Each stream gets a keep-alive comment, and this process renews its presence, this often.
HEARTBEAT_SECONDS = 15
#: A second's keep-alives go out in this many slices, evenly over the second.
PING_SLICES = 10
PING = ("ping", None)
CLOSE = ("close", None)


class Hub:
    """Streams by user in this process; fed by a broadcast listener so any replica's notification reaches them."""

    def __init__(self, kernel) -> None:
        self.kernel = kernel
        self.process_id = uuid4().hex
        # A list, not a set: most users have one tab, and an empty set alone is 216 bytes.
        self.streams: dict[str, list[Inbox]] = {}
        self.listener = None  # the per-process subscription, once started
        self.open_streams = kernel.metrics.gauge(
            "eventonight_notification_open_streams", "Server-sent event streams open in this process"
        )
        self._heartbeat: asyncio.Task | None = None
        self.stopping = False
        self._recorded: set[str] = set()  # the users this process's presence documents list
        self._full_sync = False
        self._next_round: asyncio.Future | None = None
        self._rounds: asyncio.Task | None = None
        self._presence_news: list[dict] = []
        self._presence_rounds: asyncio.Task | None = None
        self._early: dict[str, None] = {}  # ids of events delivered as they committed (oldest first)

    def store(self) -> Store:
        return Store(self.kernel.read)

    async def start(self) -> None:
        self.listener = self.kernel.broadcast_listener(
            [*LIVE, PRESENCE_CHANGED], self.on_broadcast, "notification-live"
        )
        self.listener.start()
        if not await self.listener.wait_ready(15):
            log.warning("live notification feed not connected yet; it keeps retrying")
        self._heartbeat = asyncio.create_task(self.beat())

    def drain(self) -> None:
        """End every open stream (the process is stopping); clients reconnect elsewhere with Last-Event-ID."""
        self.stopping = True
        for inboxes in self.streams.values():
            for inbox in inboxes:
                inbox.put(CLOSE, force=True)

    async def stop(self) -> None:
        self.drain()
        if self._heartbeat:
            self._heartbeat.cancel()
        if self.listener:
            await asyncio.to_thread(self.listener.stop)
        if self._rounds is not None:  # let a presence write in flight land before the document goes
            with contextlib.suppress(Exception):
                await self._rounds
        with contextlib.suppress(Exception):
            await self.store().process_gone(self.process_id)

    def committed(self, events: list[DomainEvent]) -> None:
        """What this process stored for its own streams, the moment it committed: delivered now,
        not after the outbox relay and the broker (on the embedded default the consumers and the
        streams share one process). Each delivered event's broker copy is dropped when it comes
        (by event id), so the streams see the counts in commit order, not a stale one late."""
        for event in events:
            if event.event_type in LIVE and event.payload.get("userId") in self.streams:
                self._early[event.id] = None
                if len(self._early) > EARLY_KEPT:  # the relay far behind, or the feed lost copies: forget the oldest
                    del self._early[next(iter(self._early))]
                self._deliver(event.event_type, event.payload)

    async def on_broadcast(self, routing_key: str, envelope: dict) -> None:
        payload = envelope.get("payload", {})
        if routing_key == PRESENCE_CHANGED:
            # Gathered and delivered in rounds: one followers query for all that arrived meanwhile.
            self._presence_news.append(payload)
            if self._presence_rounds is None:
                self._presence_rounds = asyncio.create_task(self._deliver_presence())
            return
        if self._early and envelope.get("id") in self._early:
            del self._early[envelope["id"]]  # delivered as it committed here
            return
        self._deliver(routing_key, payload)

    def _deliver(self, event_type: str, payload: dict) -> None:
        self._put(payload.get("userId"), ("notification" if event_type == NOTIFICATION_CREATED else "unread", payload))

    async def _deliver_presence(self) -> None:
        try:
            while self._presence_news:
                news, self._presence_news = self._presence_news, []
                try:
                    followers = await self.store().followers_by_followed({p["userId"] for p in news})
                except Exception:  # presence is best effort; the next change is delivered again
                    log.warning("could not deliver %d presence change(s)", len(news), exc_info=True)
                    continue
                for payload in news:
                    for user_id in followers.get(payload["userId"], ()):
                        if user_id in self.streams:
                            self._put(user_id, ("presence", payload))
        finally:
            self._presence_rounds = None

    def _put(self, user_id: str | None, item) -> None:
        for inbox in self.streams.get(user_id or "", ()):
            if not inbox.put(item):
                log.warning("stream of %s is not keeping up; it will resume from Last-Event-ID", user_id)

    async def open(self, user_id: str, until: float = float("inf")) -> Inbox:
        """A new stream's inbox; the hub closes it at ``until`` (``time.time()``), within a second."""
        inbox = Inbox(until=until)
        first = user_id not in self.streams
        self.streams.setdefault(user_id, []).append(inbox)
        self.open_streams.inc()
        if first:
            await asyncio.shield(self._sync())  # is-online answers true once the stream is open
        return inbox

    async def close(self, user_id: str, inbox: Inbox) -> None:
        streams = self.streams.get(user_id)
        if streams is None or inbox not in streams:
            return
        streams.remove(inbox)
        self.open_streams.dec()
        if not streams:
            del self.streams[user_id]
            if not self.stopping:  # when stopping, the process's presence documents go at once
                # Recorded by the next presence round, not awaited: thousands of clients leaving at
                # once would otherwise keep their handlers alive for rounds of writes, and a
                # stopping server waiting for them.
                self._sync()

    async def heartbeat(self) -> None:
        """Renew this process's presence: move its buckets' expiry (rewriting them all if one lapsed)."""
        self._full_sync = True
        await asyncio.shield(self._sync())

    # Presence is written in rounds: streams opened or closed while a round runs are
    # recorded together by the next one, so a thousand clients connecting (or dropping)
    # at once cost a few writes, not a thousand.
    def _sync(self) -> asyncio.Future:
        if self._next_round is None:
            self._next_round = asyncio.get_running_loop().create_future()
            if self._rounds is None:
                self._rounds = asyncio.create_task(self._run_rounds())
        return self._next_round

    async def _run_rounds(self) -> None:
        try:
            while self._next_round is not None:
                done, self._next_round = self._next_round, None
                try:
                    await self._record_presence()
                except Exception:  # retried by the next change or heartbeat
                    log.warning("could not record presence", exc_info=True)
                done.set_result(None)
        finally:
            self._rounds = None

    async def _record_presence(self) -> None:
        live = set(self.streams)
        added, removed = live - self._recorded, self._recorded - live
        full, self._full_sync = self._full_sync, False
        if not (added or removed or full):
            return
        now, store = datetime.now(UTC), self.store()
        until = now + PRESENCE_TTL
        changed = added | removed
        elsewhere = await store.online_among(changed, now, except_process=self.process_id) if changed else set()
        # The buckets this round's changes touch, each rewritten whole from the live streams: a
        # few hundred users each at most, however many streams are open.
        touched = {presence_bucket(u) for u in changed}
        if full:
            # The renewal moves only the expiry of the other buckets; if one of them lapsed (and
            # was removed) they are all written again.
            kept = sorted({presence_bucket(u) for u in live} - touched)
            if not await store.renew_presence(self.process_id, kept, until):
                touched.update(kept)
        buckets: dict[int, list[str]] = {bucket: [] for bucket in touched}
        for user_id in live:
            if (bucket := presence_bucket(user_id)) in buckets:
                buckets[bucket].append(user_id)
        await store.record_presence(self.process_id, buckets, until)
        self._recorded = live
        if self.stopping:
            # Stopping: its documents go next and its clients reconnect elsewhere; announcing
            # thousands of departures would hold the shutdown for seconds, for news that is moot.
            return
        await self._announce([(u, True) for u in added - elsewhere] + [(u, False) for u in removed - elsewhere])

    async def _announce(self, changes: list[tuple[str, bool]]) -> None:
        if not changes:
            return
        # Presence is not a state anyone must not lose: published directly, not through the outbox.
        now = datetime.now(UTC)
        envelopes = [
            DomainEvent(uuid4().hex, PRESENCE_CHANGED, now, {"userId": user_id, "online": online}).to_envelope()
            for user_id, online in changes
        ]
        try:
            # In slices: a stopping process gives up the rest (see _record_presence) instead of
            # holding its shutdown for thousands of confirmed publishes.
            for start in range(0, len(envelopes), ANNOUNCE_SLICE):
                if self.stopping:
                    return
                await self.kernel.publisher.publish(envelopes[start : start + ANNOUNCE_SLICE])
        except Exception:  # noqa: BLE001 - the broker may be away; presence is best effort
            log.warning("could not publish presence of %d user(s)", len(changes))

    def keepalives_due(self, turn: int, now: float | None = None) -> list[Inbox]:
        """The streams of this turn's users, which are due a keep-alive; every user's turn comes
        once per HEARTBEAT_SECONDS turns. Streams whose time is up (``now``, ``time.time()``) are
        closed instead: one check a second for all of them, not a timer each."""
        due, now = [], time.time() if now is None else now
        for user_id, inboxes in self.streams.items():
            for inbox in inboxes:
                if inbox.until <= now:
                    inbox.put(CLOSE, force=True)
                elif hash(user_id) % HEARTBEAT_SECONDS == turn:
                    due.append(inbox)
        return due

    async def beat(self, sleep=asyncio.sleep) -> None:
        """Keep-alives and expiries, every second, until cancelled (``sleep`` waits between slices).

        A fifteenth of the users each second, and their keep-alives spread over the second in
        PING_SLICES: 10,000 streams' 667 writes in one go held the event loop ~70 ms every
        second, and every notification arriving meanwhile waited behind them.
        """
        turn = 0
        while True:
            turn = (turn + 1) % HEARTBEAT_SECONDS
            due = self.keepalives_due(turn)
            for start in range(PING_SLICES):
                for inbox in due[start::PING_SLICES]:
                    inbox.put(PING)
                await sleep(1 / PING_SLICES)
            if turn == 0:
                await self.heartbeat()
