"""Domain events published and consumed by the interactions plugin."""

FOLLOW_CREATED, FOLLOW_DELETED = "interactions.follow.created", "interactions.follow.deleted"
LIKE_CREATED, LIKE_DELETED = "interactions.like.created", "interactions.like.deleted"
REVIEW_CREATED = "interactions.review.created"
REVIEW_UPDATED = "interactions.review.updated"
REVIEW_DELETED = "interactions.review.deleted"

USER_CREATED, USER_UPDATED, USER_DELETED = "user.created", "user.updated", "user.deleted"
EVENT_TYPES = ("event.created", "event.published", "event.updated", "event.cancelled", "event.completed")
EVENT_DELETED = "event.deleted"
ORDER_CONFIRMED, ORDER_CANCELLED = "ticketing.order.confirmed", "ticketing.order.cancelled"
