"""Hooks the users plugin defines for other plugins (returned by ``eventonight_hookspecs``)."""

from __future__ import annotations

from eventonight.hooks import hookspec


@hookspec
def users_public_profile(kernel, user_id, profile):
    """Add to the profile ``GET /api/users/{userId}`` answers.

    Called for every profile read with the profile about to be sent (a dict;
    do not change it). Return a JSON-serialisable value, or None to add
    nothing: the answers appear under ``profile["extensions"][<plugin name>]``
    (the key is absent when no plugin adds anything). May be a coroutine; keep
    it quick, it is on the read path. Isolated: a failing implementation is
    logged and left out of the answer::

        @hookimpl(optionalhook=True)
        async def users_public_profile(kernel, user_id):
            badges = await kernel.read.collection("badges_awards").find({"userId": user_id}).to_list(20)
            return {"badges": [b["badge"] for b in badges]} if badges else None
    """
