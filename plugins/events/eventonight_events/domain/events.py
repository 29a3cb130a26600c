"""Domain events published by the events plugin, and the ones it consumes."""

EVENT_CREATED = "event.created"
EVENT_PUBLISHED = "event.published"
EVENT_UPDATED = "event.updated"
EVENT_DELETED = "event.deleted"
EVENT_CANCELLED = "event.cancelled"
EVENT_COMPLETED = "event.completed"

# Consumed (contracts in docs/events.md)
USER_CREATED, USER_UPDATED, USER_DELETED = "user.created", "user.updated", "user.deleted"
USER_INTERESTS_UPDATED = "user.interests.updated"
FOLLOW_CREATED, FOLLOW_DELETED = "interactions.follow.created", "interactions.follow.deleted"
LIKE_CREATED, LIKE_DELETED = "interactions.like.created", "interactions.like.deleted"
ORDER_CONFIRMED = "ticketing.order.confirmed"
ORDER_CANCELLED = "ticketing.order.cancelled"
ORDER_CHANGED = "ticketing.order.changed"
PRICES_CHANGED = "ticketing.prices.changed"
MEDIA_STORED, MEDIA_DELETED = "media.image.stored", "media.image.deleted"
