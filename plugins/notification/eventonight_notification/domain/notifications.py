"""Which domain events notify whom, and with what (no framework imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Notification types
NEW_FOLLOWER = "follower.new"
EVENT_LIKED = "event.liked"
EVENT_REVIEWED = "event.reviewed"
EVENT_PUBLISHED = "event.published"
CHAT_MESSAGE = "chat.message"
TICKET_CONFIRMED = "ticket.purchase.confirmed"
EVENT_CANCELLED = "event.cancelled"

# Domain event published once a notification is stored; each web process relays it to its streams.
NOTIFICATION_CREATED = "notification.created"
PRESENCE_CHANGED = "notification.presence.changed"


@dataclass
class Draft:
    """A notification to store for each of ``recipients``."""

    type: str
    recipients: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    exclude: str | None = None  # never notify the actor about their own action

    def targets(self) -> list[str]:
        return [r for r in dict.fromkeys(self.recipients) if r and r != self.exclude]


def actor(users: dict[str, dict], user_id: str | None) -> dict:
    user = users.get(user_id or "") or {}
    return {"userId": user_id, "name": user.get("name"), "avatarUrl": user.get("avatar_url")}


def event_brief(event_id: str, title: str | None, date: Any = None) -> dict:
    return {"eventId": event_id, "title": title, "date": date}
