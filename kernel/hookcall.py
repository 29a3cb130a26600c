"""Calling pluggy hooks from asyncio code, in pluggy's order, with per-plugin isolation.

pluggy's own call loses which plugin produced which result and stops at the
first exception; the kernel needs the plugin's name to name queues, attribute
routes and report errors, and some callers must not let one plugin's failure
stop the others (pretix's ``send`` vs ``send_robust``). Every helper here calls
implementations in pluggy's documented order: ``tryfirst`` ones first, then the
last registered first, ``trylast`` ones last. Wrappers are not called.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import pluggy

from eventonight.hooks.types import HookResult

log = logging.getLogger("eventonight.hooks")


async def await_me_maybe(value: Any) -> Any:
    """Await ``value`` if it is awaitable (hook implementations may be coroutines)."""
    if inspect.isawaitable(value):
        return await value
    return value


def implementations(pm: pluggy.PluginManager, hook_name: str) -> list[tuple[str, Callable[..., Any]]]:
    """A hook's implementations in call order, as ``(plugin name, call)``.

    ``call(**kwargs)`` passes each implementation only the arguments it accepts.
    A hook nobody defined (its owning plugin is not installed) has none.
    """
    caller = getattr(pm.hook, hook_name, None)
    if caller is None or not caller.has_spec():
        return []
    return [
        (impl.plugin_name, lambda impl=impl, **kw: impl.function(**{a: kw[a] for a in impl.argnames if a in kw}))
        for impl in reversed(caller.get_hookimpls())
        if not (impl.hookwrapper or impl.wrapper)
    ]


def _failed(hook_name: str, plugin: str, exc: BaseException) -> HookResult:
    log.error("plugin %s failed in %s: %r", plugin, hook_name, exc, exc_info=exc)
    return HookResult(plugin, error=exc)


def call_each(pm: pluggy.PluginManager, hook_name: str, *, robust: bool = False, **kwargs: Any) -> list[HookResult]:
    """Call every implementation in order; with ``robust``, a failure is logged and the others still run."""
    results = []
    for plugin, call in implementations(pm, hook_name):
        try:
            results.append(HookResult(plugin, call(**kwargs)))
        except Exception as exc:
            if not robust:
                raise
            results.append(_failed(hook_name, plugin, exc))
    return results


async def acall_each(
    pm: pluggy.PluginManager, hook_name: str, *, robust: bool = False, **kwargs: Any
) -> list[HookResult]:
    """Like :func:`call_each`, awaiting each coroutine result before calling the next implementation."""
    results = []
    for plugin, call in implementations(pm, hook_name):
        try:
            results.append(HookResult(plugin, await await_me_maybe(call(**kwargs))))
        except Exception as exc:
            if not robust:
                raise
            results.append(_failed(hook_name, plugin, exc))
    return results


async def afirst_result(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Any:
    """The first awaited result that is not None, in call order (None when none answers).

    pluggy's own ``firstresult`` judges an unawaited coroutine, which is never
    None, so with async implementations it would pick the first coroutine.
    """
    for _, call in implementations(pm, hook_name):
        result = await await_me_maybe(call(**kwargs))
        if result is not None:
            return result
    return None


class Hooks:
    """``kernel.hooks``: call any hook, including those other plugins define.

    - ``call(name, **kw)`` / ``await acall(name, **kw)``: every implementation in
      order; the first exception propagates (a veto, a validation).
    - ``call_robust`` / ``acall_robust``: an implementation's exception is logged
      with its plugin's name and returned as ``HookResult.error``; the others
      still run (notifications, observers).
    - ``await first(name, **kw)``: the first non-None answer, or None.
    - ``defined(name)``: is the hook specified (is its owning plugin installed)?

    A hook nobody defined has no implementations: calls return ``[]``/None.
    """

    def __init__(self, pm: pluggy.PluginManager, **defaults: Any) -> None:
        self._pm = pm
        #: Arguments every call offers (the kernel passes ``kernel``); implementations take what they name.
        self._defaults = defaults

    def call(self, hook_name: str, **kwargs: Any) -> list[HookResult]:
        return call_each(self._pm, hook_name, **{**self._defaults, **kwargs})

    def call_robust(self, hook_name: str, **kwargs: Any) -> list[HookResult]:
        return call_each(self._pm, hook_name, robust=True, **{**self._defaults, **kwargs})

    async def acall(self, hook_name: str, **kwargs: Any) -> list[HookResult]:
        return await acall_each(self._pm, hook_name, **{**self._defaults, **kwargs})

    async def acall_robust(self, hook_name: str, **kwargs: Any) -> list[HookResult]:
        return await acall_each(self._pm, hook_name, robust=True, **{**self._defaults, **kwargs})

    async def first(self, hook_name: str, **kwargs: Any) -> Any:
        return await afirst_result(self._pm, hook_name, **{**self._defaults, **kwargs})

    def defined(self, hook_name: str) -> bool:
        caller = getattr(self._pm.hook, hook_name, None)
        return caller is not None and caller.has_spec()
