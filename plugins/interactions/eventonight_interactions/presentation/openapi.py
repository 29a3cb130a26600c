"""The interactions plugin's part of the OpenAPI document, derived from its routes."""

from __future__ import annotations

import re

from eventonight.kernel.http.openapi import components_for, error_responses, json_body
from eventonight_interactions.presentation.schemas import FollowBody, ReplyBody, ReviewBody, ReviewEditBody

TAG = "interactions"
BODIES = {
    ("POST", "following"): FollowBody,
    ("POST", "reviews"): ReviewBody,
    ("PUT", "{userId}"): ReviewEditBody,
    ("PUT", "reply"): ReplyBody,
}
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
    "organization_reviews": "Reviews of all events an organization created or co-hosted (filter: rating)",
    "organization_statistics": "Average rating, distribution 1-5 and total",
}  # fmt: skip


def fragment(routes) -> dict:
    paths: dict = {}
    for route in routes:
        method, path, name = route.method, route.path, route.handler.__name__
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in re.findall(r"{(\w+)}", path)
        ]
        if name == "organization_reviews":
            params.append({"name": "rating", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5}})
        if method == "GET" and name not in (
            "summary",
            "is_following",
            "has_liked",
            "is_participating",
            "user_review",
            "organization_statistics",
        ):
            params += [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            ]
        operation = {
            "tags": [TAG],
            "summary": SUMMARIES.get(name, name),
            "operationId": f"interactions_{name}",
            "parameters": params,
            "responses": {
                "204" if method == "DELETE" else "201" if method == "POST" else "200": {"description": "ok"},
                **error_responses(400, 401, 403, 404, 409),
            },
        }
        body = BODIES.get((method, path.rsplit("/", 1)[-1]))
        if body is not None:
            operation["requestBody"] = json_body(body)
        if method != "GET":
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "tags": [{"name": TAG, "description": "Follows, likes, participations and reviews"}],
        "components": components_for(FollowBody, ReviewBody, ReviewEditBody, ReplyBody),
        "paths": paths,
    }
