"""The hook this plugin defines for others."""

from __future__ import annotations

from eventonight.hooks import hookspec


@hookspec
def badges_for_event(kernel, event_type, payload):
    """Which badges a domain event earns, and for whom.

    Called by the badges plugin for every event it consumes (``user.*``,
    ``interactions.*``). Return a list of ``(user_id, badge)`` pairs, or None.
    A badge is awarded once per user, however often it is earned. Isolated: a
    failing implementation is logged and the others still award::

        @hookimpl(optionalhook=True)
        def badges_for_event(event_type, payload):
            if event_type == "user.created":
                return [(payload["userId"], "newcomer")]
    """
