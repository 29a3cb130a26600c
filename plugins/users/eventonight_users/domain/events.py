"""Domain events the users plugin publishes (payloads documented in docs/events.md)."""

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DELETED = "user.deleted"
