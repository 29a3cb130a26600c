"""Collections of the events plugin (prefixed ``events_``), their documents' shape and their indexes.

Documents are read and written as plain dicts by repository.py (conditional
``$inc`` counters, geo and token queries); no ODM model stands between. Shapes:

- ``events_events``: ``_id``, ``creator_id``, ``status``, ``title``, ``title_sort``,
  ``description``, ``date``, ``location`` {name, country, city, address,
  postcode, lat, lon}, ``point`` (GeoJSON Point [lon, lat]), ``tags``,
  ``collaborator_ids``, ``members`` (creator + collaborators), ``poster_url``,
  ``created_at``, ``updated_at``, ``published_at``, ``lowest_price``,
  ``currency``, ``likes``, ``tickets_sold``, ``popularity``, ``search_tokens``,
  ``city_key``, ``venue_key``, ``geo_cells`` (domain/geocells.py), ``price_sort``
  (``lowest_price``, -1 for none), ``search_v``.
- ``events_catalogue``: ``_id`` ``"version"`` {``v``}, and per broad filter its
  statistics {``v``, ``at``, ``total``, ``marks``, ``nulls``, ``ids``, ``soonest``,
  ``heads``} (catalogue_stats.py).
- ``events_users``: ``_id`` (user id), ``role``, ``name``, ``avatar_url``.
- ``events_interests``: ``_id`` (user id), ``interests``.
- ``events_follows``: ``_id``, ``follower``, ``followed``.
- ``events_activity``: ``event_id``, ``at``, ``weight`` (recent likes and sales, for "popular").
"""

from __future__ import annotations

from pymongo import IndexModel

INDEXES = {
    "events_events": [
        # Each sort order within a status: a page reads the index up to where it ends. Ascending
        # all, read backwards for a descending order (SecantusDB 0.7 loses an inclusive bound
        # on a descending key; see catalogue_query.next_key).
        IndexModel([("status", 1), ("date", 1)], name="status_date"),
        IndexModel([("status", 1), ("published_at", 1), ("_id", 1)], name="status_published_id"),
        IndexModel([("status", 1), ("popularity", 1), ("_id", 1)], name="status_popularity_id"),
        IndexModel([("status", 1), ("title_sort", 1), ("_id", 1)], name="status_title_id"),
        IndexModel([("status", 1), ("price_sort", 1), ("_id", 1)], name="status_price_id"),
        # Each filter that narrows the catalogue, then status and date: the upcoming events of a
        # city, a tag, a word, an organization or a few grid cells, in date order (catalogue_pages).
        # Radius searches start from the grid cells (geocells); the exact distance is checked on
        # those candidates only.
        IndexModel([("geo_cells", 1), ("status", 1), ("date", 1)], name="cells_status_date"),
        IndexModel([("venue_key", 1), ("status", 1), ("date", 1)], name="venue_status_date"),
        IndexModel([("city_key", 1), ("status", 1), ("date", 1)], name="city_status_date"),
        IndexModel([("search_prefixes", 1), ("status", 1), ("date", 1)], name="words_status_date"),
        IndexModel([("tags", 1), ("status", 1), ("date", 1)], name="tags_status_date"),
        IndexModel([("members", 1), ("status", 1), ("date", 1)], name="members_status_date"),
        IndexModel([("creator_id", 1)], name="creator"),
        IndexModel([("lowest_price", 1)], name="price"),
        IndexModel([("search_v", 1)], name="search_version"),
    ],
    # The catalogue's version and the statistics of broad filters (catalogue_stats); unused ones expire.
    "events_catalogue": [IndexModel([("at", 1)], name="stats_ttl", expireAfterSeconds=24 * 3600)],
    "events_follows": [IndexModel([("follower", 1)], name="follower")],
    "events_activity": [
        IndexModel([("at", 1)], name="at_ttl", expireAfterSeconds=30 * 24 * 3600),
        IndexModel([("event_id", 1)], name="event"),
    ],
}

#: Indexes earlier versions declared: the 2dsphere index (radius searches use the grid cells), the
#: price index on the nullable field (price order reads ``price_sort``), and the single filters
#: that the (filter, status, date) indexes now lead with.
RETIRED_INDEXES = {
    "events_events": [
        "geo",
        "status_price",
        "text_tokens",
        "tags",
        "members",
        "city_date",
        "venue_date",
        "status_published",
        "status_popularity",
        "status_title",
    ]
}
