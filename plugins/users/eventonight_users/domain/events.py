"""Domain events the users plugin publishes (payloads documented in docs/events.md)."""

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DELETED = "user.deleted"
# Not public profile data, but the events plugin builds personal feeds from it.
USER_INTERESTS_UPDATED = "user.interests.updated"
