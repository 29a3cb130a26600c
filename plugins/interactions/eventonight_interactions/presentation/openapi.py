"""The interactions plugin's part of the OpenAPI document, derived from its routes."""

from __future__ import annotations

from eventonight.hooks.http import (
    BOOLEAN,
    DATETIME,
    INTEGER,
    NUMBER,
    STRING,
    fragment_from_routes,
    nullable,
    obj,
    page_of,
    ref,
)
from eventonight_interactions.presentation.schemas import (
    FollowBody,
    ParticipationsQuery,
    ReplyBody,
    ReviewBody,
    ReviewEditBody,
    ReviewsQuery,
)

SUMMARIES = {
    "follow": "Follow a user (owner)", "unfollow": "Unfollow (owner)",
    "unfollow_all": "Drop every follow of the user (owner); answers how many", "following": "Users this user follows",
    "followers": "This user's followers", "is_following": "Is userId following followedId",
    "summary": "Follower and following counts with their first pages", "like": "Like a published event",
    "unlike": "Remove a like (owner)", "likers": "Users who liked an event", "liked": "Events a user liked",
    "has_liked": "Has the user liked the event",
    "participants": "Ticket holders of an event", "is_participating": "Does the user hold a ticket",
    "participations": "Events a user holds tickets for (filters: organization, reviewed, status, title; "
    "sort: date|since|title)",
    "review": "Review an event (participants, once it started)", "edit_review": "Edit a review (author)",
    "delete_review": "Delete a review (author)", "reply": "Reply to a review (the event's creator)",
    "delete_reply": "Remove the reply (the event's creator)", "event_reviews": "Reviews of an event",
    "user_reviews": "Reviews written by a user", "user_review": "A user's review of an event",
    "organization_reviews": "Reviews of all events an organization created or co-hosted (query: rating)",
    "organization_statistics": "Average rating, distribution 1-5 and total",
}  # fmt: skip
BODIES = {"follow": FollowBody, "review": ReviewBody, "edit_review": ReviewEditBody, "reply": ReplyBody}
PAGINATED = {"following", "followers", "likers", "liked", "participations", "participants", "event_reviews",
             "user_reviews", "organization_reviews"}  # fmt: skip


# A person as lists show them (a deleted user has no name), and an event in brief.
PARTY = obj({"userId": nullable(STRING), "name": nullable(STRING), "avatarUrl": nullable(STRING)}, {"role": STRING})
EVENT_BRIEF = obj(
    {"eventId": STRING, "title": nullable(STRING), "date": nullable(DATETIME), "status": nullable(STRING)}
)
SCHEMAS = {
    "InteractionsReview": obj(
        {
            "event": EVENT_BRIEF,
            "author": PARTY,
            "rating": INTEGER,
            "title": STRING,
            "comment": STRING,
            "reply": nullable(obj({"text": STRING, "organizationId": STRING, "at": DATETIME})),
            "createdAt": DATETIME,
            "updatedAt": DATETIME,
        }
    ),
}
PEOPLE_SINCE = page_of(obj({**PARTY["properties"], "since": DATETIME}, {}))
RESPONSES = {
    "follow": obj({"followerId": STRING, "followedId": STRING, "createdAt": DATETIME}),
    "following": PEOPLE_SINCE,
    "followers": PEOPLE_SINCE,
    "is_following": obj({"following": BOOLEAN}),
    "summary": obj(
        {
            "userId": STRING,
            "followersCount": INTEGER,
            "followingCount": INTEGER,
            "followers": PEOPLE_SINCE,
            "following": PEOPLE_SINCE,
        }
    ),
    "like": obj({"eventId": STRING, "userId": STRING, "createdAt": DATETIME}),
    "likers": page_of(obj({"userId": nullable(STRING), "likedAt": DATETIME})),
    "liked": page_of(obj({"eventId": STRING, "likedAt": DATETIME})),
    "has_liked": obj({"liked": BOOLEAN}),
    "participations": page_of(obj({"eventId": STRING, "since": DATETIME, "hasReviewed": BOOLEAN})),
    "unfollow_all": obj({"removed": INTEGER}),
    "participants": PEOPLE_SINCE,
    "is_participating": obj({"participating": BOOLEAN, "hasReviewed": BOOLEAN}),
    "review": ref("InteractionsReview"),
    "edit_review": ref("InteractionsReview"),
    "reply": ref("InteractionsReview"),
    "event_reviews": page_of(ref("InteractionsReview")),
    "user_reviews": page_of(ref("InteractionsReview")),
    "user_review": ref("InteractionsReview"),
    "organization_reviews": page_of(ref("InteractionsReview")),
    "organization_statistics": obj(
        {
            "organizationId": STRING,
            "average": nullable(NUMBER),
            "distribution": obj({str(n): INTEGER for n in range(1, 6)}),
            "total": INTEGER,
        }
    ),
}


def fragment(routes) -> dict:
    return fragment_from_routes(
        routes,
        tag="interactions",
        summaries=SUMMARIES,
        bodies=BODIES,
        paginated=PAGINATED,
        responses=RESPONSES,
        statuses={"reply": 200, "unfollow_all": 200},
        schemas=SCHEMAS,
        queries={name: ReviewsQuery for name in ("event_reviews", "user_reviews", "organization_reviews")}
        | {"participations": ParticipationsQuery},
    )
