"""Who may talk to whom, and what a message may hold (no framework imports)."""

from __future__ import annotations

from eventonight.hooks.errors import DomainError, Forbidden, NotFound

MAX_CONTENT = 2000
PREVIEW_LENGTH = 120
MESSAGE_CREATED = "chat.message.created"


def clean_content(content: str) -> str:
    text = content.strip()
    if not 1 <= len(text) <= MAX_CONTENT:
        raise DomainError(f"content must be 1-{MAX_CONTENT} characters after trimming", "content")
    return text


def preview(content: str) -> str:
    return content if len(content) <= PREVIEW_LENGTH else content[: PREVIEW_LENGTH - 1] + "…"


def check_may_open(sender_role: str, recipient_role: str | None, conversation_exists: bool) -> None:
    """Chat is for contacting organizations: anyone may write to an organization; an
    organization may write to a member only in a conversation the member opened."""
    if recipient_role is None:
        raise NotFound("recipient not found")
    if recipient_role == "organization" or conversation_exists:
        return
    if sender_role == "member":
        raise Forbidden("members can only start conversations with organizations")
    raise Forbidden("an organization can only answer a member who wrote first")


def pair_key(a: str, b: str) -> str:
    return ":".join(sorted((a, b)))
