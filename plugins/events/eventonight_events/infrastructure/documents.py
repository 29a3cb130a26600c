"""Collections of the events plugin (prefixed ``events_``), their documents' shape and their indexes.

Documents are read and written as plain dicts by repository.py (conditional
``$inc`` counters, geo and token queries); no ODM model stands between. Shapes:

- ``events_events``: ``_id``, ``creator_id``, ``status``, ``title``, ``title_sort``,
  ``description``, ``date``, ``location`` {name, country, city, address,
  postcode, lat, lon}, ``point`` (GeoJSON Point [lon, lat]), ``tags``,
  ``collaborator_ids``, ``members`` (creator + collaborators), ``poster_url``,
  ``created_at``, ``updated_at``, ``published_at``, ``lowest_price``,
  ``currency``, ``likes``, ``tickets_sold``, ``popularity``, ``search_tokens``.
- ``events_users``: ``_id`` (user id), ``role``, ``name``, ``avatar_url``.
- ``events_interests``: ``_id`` (user id), ``interests``.
- ``events_follows``: ``_id``, ``follower``, ``followed``.
- ``events_activity``: ``event_id``, ``at``, ``weight`` (recent likes and sales, for "popular").
"""

from __future__ import annotations

from pymongo import GEOSPHERE, IndexModel

INDEXES = {
    "events_events": [
        # The version spelled out: SecantusDB otherwise sees a re-creation as a conflicting spec.
        IndexModel([("point", GEOSPHERE)], name="geo", **{"2dsphereIndexVersion": 3}),
        IndexModel([("status", 1), ("date", 1)], name="status_date"),
        IndexModel([("status", 1), ("published_at", -1)], name="status_published"),
        IndexModel([("status", 1), ("popularity", -1)], name="status_popularity"),
        IndexModel([("status", 1), ("title_sort", 1)], name="status_title"),
        IndexModel([("status", 1), ("lowest_price", 1)], name="status_price"),
        IndexModel([("search_tokens", 1)], name="text_tokens"),
        IndexModel([("tags", 1)], name="tags"),
        IndexModel([("members", 1)], name="members"),
        IndexModel([("creator_id", 1)], name="creator"),
        IndexModel([("city_key", 1), ("date", 1)], name="city_date"),
        IndexModel([("venue_key", 1), ("date", 1)], name="venue_date"),
        IndexModel([("search_v", 1)], name="search_version"),
    ],
    "events_follows": [IndexModel([("follower", 1)], name="follower")],
    "events_activity": [
        IndexModel([("at", 1)], name="at_ttl", expireAfterSeconds=30 * 24 * 3600),
        IndexModel([("event_id", 1)], name="event"),
    ],
}
