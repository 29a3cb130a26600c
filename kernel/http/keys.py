"""Typed aiohttp application keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from eventonight.kernel.kernel import Kernel

KERNEL: web.AppKey[Kernel] = web.AppKey("eventonight_kernel")
