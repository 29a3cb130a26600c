"""Who is calling: the client address, seen through the proxies the operator trusts."""

from __future__ import annotations

from aiohttp import web

from eventonight.kernel.http.keys import KERNEL


def client_address(request: web.Request) -> str:
    """The caller's address: the socket peer, or with ``trusted_proxy_hops`` = N the address
    the N-th trusted proxy (counted from us) saw in ``X-Forwarded-For``.

    Entries left of those a trusted proxy wrote are the client's own claims and are never used,
    so a client cannot pick its address (and escape a limit) by sending the header itself.
    """
    peer = request.remote or "unknown"
    hops = request.app[KERNEL].settings.trusted_proxy_hops
    if hops <= 0:
        return peer
    forwarded = [a.strip() for h in request.headers.getall("X-Forwarded-For", []) for a in h.split(",")]
    forwarded = [a for a in forwarded if a]
    if len(forwarded) < hops:
        return forwarded[0] if forwarded else peer
    return forwarded[-hops]
