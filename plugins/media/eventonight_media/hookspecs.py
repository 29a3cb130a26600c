"""Hooks the media plugin defines for other plugins (returned by ``eventonight_hookspecs``).

Call them with ``kernel.hooks.first(...)``: a None answer means no media
plugin is installed (answer 501 with ``MissingPlugin``).
"""

from __future__ import annotations

from eventonight.hooks import hookspec


@hookspec(firstresult=True)
def media_store_image(kernel, kind, entity_id, request):
    """Store the image uploaded with ``request`` as ``kind`` (``"avatar"`` or ``"poster"``) of ``entity_id``.

    Called by the plugin that owns the entity, after it checked that the
    caller may change it. ``request`` is the aiohttp request whose multipart
    body holds one file; the media plugin validates it (a ``DomainError`` kind
    with 400/413/415 on bad input) and stores it. Returns
    ``{"url": str, "thumbnailUrl": str, "width": int, "height": int}``::

        stored = await kernel.hooks.first("media_store_image", kind="avatar", entity_id=uid, request=request)
        if stored is None:
            raise MissingPlugin("avatar upload needs the media plugin")
    """


@hookspec(firstresult=True)
def media_delete_image(kernel, kind, entity_id):
    """Delete the stored image ``kind`` of ``entity_id``.

    Returns True when an image was deleted, False when there was none::

        deleted = await kernel.hooks.first("media_delete_image", kind="poster", entity_id=event_id)
    """


@hookspec(firstresult=True)
def media_may_change_image(kernel, kind, entity_id, user_id):
    """May ``user_id`` change the image ``kind`` of ``entity_id``? Implemented by the entity's owner.

    Asked by the media plugin before a direct upload or deletion through
    ``/api/media/{kind}/{entityId}``. Return True or False, or None when your
    plugin does not own this kind (then the media plugin answers 404). May be
    a coroutine. Implement it with ``@hookimpl(optionalhook=True)`` so your
    plugin loads without the media plugin::

        @hookimpl(optionalhook=True)
        def media_may_change_image(kind, entity_id, user_id):
            return entity_id == user_id if kind == "avatar" else None
    """
