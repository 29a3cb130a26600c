"""Hooks the events plugin defines for other plugins (returned by ``eventonight_hookspecs``)."""

from __future__ import annotations

from eventonight.hooks import hookspec


@hookspec
def events_tag_catalogue(kernel):
    """Contribute to the catalogue of event tags.

    Return ``{category: [tag, ...]}`` or None. The events plugin merges every
    contribution (its own included, in call order, duplicates dropped) and
    checks events' tags and members' interests against the result; it serves it
    at ``GET /api/events/tags``. Isolated: a failing contribution is logged and
    left out::

        @hookimpl(optionalhook=True)
        def events_tag_catalogue():
            return {"accessibility": ["step-free", "hearing-loop"]}
    """


@hookspec
def events_validate_publish(kernel, event):
    """Veto or accept an event about to become public (created published, or a draft published).

    ``event`` is the event's summary as ``event.published`` carries it
    (``eventId``, ``title``, ``date``, ``creatorId``, ``collaboratorIds``,
    ``status``, ``city``, ``posterUrl``). Raise
    :class:`eventonight.hooks.DomainError` (or a kind of it) to refuse: the
    request answers with its status and message and nothing is stored. Return
    None to accept. Synchronous, called in the request; keep it quick::

        @hookimpl(optionalhook=True)
        def events_validate_publish(event):
            if "forbidden" in event["title"].lower():
                raise DomainError("this title is not allowed", field="title")
    """
