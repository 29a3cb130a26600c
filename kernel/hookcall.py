"""Calling pluggy hooks from asyncio code."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pluggy


async def await_me_maybe(value: Any) -> Any:
    """Await ``value`` if it is awaitable (hook implementations may be coroutines)."""
    if inspect.isawaitable(value):
        return await value
    return value


def implementations(pm: pluggy.PluginManager, hook_name: str) -> list[tuple[str, Callable[..., Any]]]:
    """A hook's implementations in registration order, as ``(plugin name, call)``.

    ``call(**kwargs)`` passes each implementation only the arguments it accepts.
    pluggy's own call loses which plugin produced which result; the kernel
    needs it to name queues, attribute routes and report errors.
    """
    caller = getattr(pm.hook, hook_name)
    return [
        (impl.plugin_name, lambda impl=impl, **kw: impl.function(**{a: kw[a] for a in impl.argnames if a in kw}))
        for impl in caller.get_hookimpls()
    ]


def call_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation, returning ``(plugin name, result)`` pairs."""
    return [(name, call(**kwargs)) for name, call in implementations(pm, hook_name)]


async def acall_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Like :func:`call_each`, awaiting coroutine results one at a time."""
    return [(name, await await_me_maybe(call(**kwargs))) for name, call in implementations(pm, hook_name)]


async def afirst_result(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Any:
    """A ``firstresult`` call that awaits each implementation before judging it.

    pluggy stops at the first non-None value, and an unawaited coroutine is
    never None: with async implementations its own firstresult would pick the
    first coroutine even when it resolves to None. This calls them in pluggy's
    order (last registered first, tryfirst/trylast respected) and returns the
    first awaited result that is not None.
    """
    for _, call in reversed(implementations(pm, hook_name)):
        result = await await_me_maybe(call(**kwargs))
        if result is not None:
            return result
    return None
