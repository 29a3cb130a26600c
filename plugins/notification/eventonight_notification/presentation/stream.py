"""The server-sent event response of one stream, kept small: thousands stay open, mostly idle."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp_sse import EventSourceResponse

#: The keep-alive comment: proxies and browsers close a connection that stays silent too long.
PING = b": ping\r\n\r\n"
#: A client that does not take a frame within this is dropped (the operating system's
#: TCP_USER_TIMEOUT, which aiohttp-sse sets from it, also aborts a connection whose writes stay
#: unacknowledged that long).
SEND_TIMEOUT_SECONDS = 120.0


class Stream(EventSourceResponse):
    """aiohttp-sse's response without its keep-alive task per stream.

    That task, its coroutine, sleep and timer cost ~1.5 KB for each open stream, most of which
    are idle; here the hub asks each stream in turn for a keep-alive (``Hub.beat``) and the
    stream's own handler writes it with :meth:`ping`. A client that goes away ends the handler
    (the server cancels handlers of lost connections). Built on aiohttp-sse 3.0's response (its
    send timeout and TCP_USER_TIMEOUT), the minimum the plugin requires.
    """

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(headers=headers, send_timeout=SEND_TIMEOUT_SECONDS)

    async def prepare(self, request: web.BaseRequest):
        if self.prepared:
            return await super().prepare(request)
        self._set_tcp_user_timeout(request)  # what aiohttp-sse's prepare does, less its keep-alive task
        writer = await web.StreamResponse.prepare(self, request)
        self.enable_chunked_encoding()
        return writer

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await self.write(PING)
        except TimeoutError:
            self._abort_transport()  # a stalled client never drains: closing gracefully would wait forever
            raise
