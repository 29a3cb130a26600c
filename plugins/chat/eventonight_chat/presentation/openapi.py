"""Response schemas of the chat plugin's operations (the fragment is built from its routes)."""

from __future__ import annotations

from eventonight.hooks.http import BOOLEAN, DATETIME, INTEGER, STRING, array, nullable, obj, page_of, ref

PARTY = obj(
    {
        "userId": STRING,
        "name": nullable(STRING),
        "username": nullable(STRING),
        "avatarUrl": nullable(STRING),
        "role": nullable(STRING),
        "deleted": BOOLEAN,
    }
)
MESSAGE = obj({"id": STRING, "senderId": STRING, "content": STRING, "createdAt": DATETIME, "read": BOOLEAN})
SCHEMAS = {
    "ChatConversation": obj(
        {
            "id": STRING,
            "otherParty": PARTY,
            "lastMessage": nullable(obj({"messageId": STRING, "senderId": STRING, "preview": STRING, "at": DATETIME})),
            "unreadCount": INTEGER,
            "createdAt": DATETIME,
            "updatedAt": DATETIME,
        }
    ),
}
SENT = obj({"conversationId": STRING, "message": MESSAGE})
RESPONSES = {
    "start": SENT,
    "send": SENT,
    "inbox": page_of(ref("ChatConversation")),
    "search": obj(
        {**page_of(ref("ChatConversation"))["properties"], "newContacts": array(PARTY)},
    ),
    "conversation": ref("ChatConversation"),
    "between": ref("ChatConversation"),
    "messages": obj(
        {
            "items": array(MESSAGE),
            "limit": INTEGER,
            "offset": INTEGER,
            "total": INTEGER,
            "hasMore": BOOLEAN,
            "nextBefore": nullable(STRING),
        }
    ),
    "unread": obj({"unread": INTEGER}),
}
RESPONSES["between_messages"] = obj({"conversation": ref("ChatConversation"), **RESPONSES["messages"]["properties"]})
# Everything in chat is the caller's own: no guest reads anything.
PRIVATE = {"inbox", "search", "conversation", "messages", "unread", "between", "between_messages"}
