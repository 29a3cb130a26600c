"""Domain events the ticketing plugin publishes and consumes (routing key = event type)."""

ORDER_CONFIRMED = "ticketing.order.confirmed"
ORDER_CANCELLED = "ticketing.order.cancelled"
ORDER_CHANGED = "ticketing.order.changed"
PRICES_CHANGED = "ticketing.prices.changed"
TICKET_CHECKED_IN = "ticketing.ticket.checked_in"

EVENT_CREATED = "event.created"
EVENT_UPDATED = "event.updated"
EVENT_PUBLISHED = "event.published"
EVENT_CANCELLED = "event.cancelled"
EVENT_COMPLETED = "event.completed"
EVENT_DELETED = "event.deleted"
EVENT_CHANGES = (EVENT_CREATED, EVENT_UPDATED, EVENT_PUBLISHED, EVENT_CANCELLED, EVENT_COMPLETED, EVENT_DELETED)
USER_DELETED = "user.deleted"
