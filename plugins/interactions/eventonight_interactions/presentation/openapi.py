"""The interactions plugin's part of the OpenAPI document, derived from its routes."""

from __future__ import annotations

from eventonight.hooks.http import fragment_from_routes
from eventonight_interactions.presentation.schemas import FollowBody, ReplyBody, ReviewBody, ReviewEditBody

SUMMARIES = {
    "follow": "Follow a user (owner)", "unfollow": "Unfollow (owner)", "following": "Users this user follows",
    "followers": "This user's followers", "is_following": "Is userId following followedId",
    "summary": "Follower and following counts with their first pages", "like": "Like a published event",
    "unlike": "Remove a like (owner)", "likers": "Users who liked an event", "liked": "Events a user liked",
    "has_liked": "Has the user liked the event", "participations": "Events a user holds tickets for",
    "participants": "Ticket holders of an event", "is_participating": "Does the user hold a ticket",
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


def fragment(routes) -> dict:
    return fragment_from_routes(routes, tag="interactions", summaries=SUMMARIES, bodies=BODIES, paginated=PAGINATED)
