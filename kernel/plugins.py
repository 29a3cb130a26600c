"""Finding plugins (stevedore entry points) and registering them with pluggy.

A plugin that fails to import, targets another hook API version, or
implements a hook that does not exist is reported by name and left out; the
platform starts without it unless it is listed in ``required_plugins``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy
from stevedore import ExtensionManager

from eventonight.hooks import specs
from eventonight.hooks.markers import HOOK_API_VERSION, PROJECT
from eventonight.kernel.errors import PluginLoadError
from eventonight.settings import Settings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "eventonight.plugins"

#: Built-in plugins register in this order (pluggy calls the last registered
#: first); any other plugin follows, alphabetically.
BUILTIN_ORDER = ["users", "media", "events", "interactions", "chat", "ticketing", "notification"]


@dataclass
class PluginInfo:
    name: str
    distribution: str = "-"
    version: str = "-"
    plugin: Any = None
    error: str | None = None
    routes: list[str] = field(default_factory=list)


def _order(name: str) -> tuple[int, str]:
    return (BUILTIN_ORDER.index(name) if name in BUILTIN_ORDER else len(BUILTIN_ORDER), name)


def _distributions() -> dict[str, tuple[str, str]]:
    """Entry-point name -> (distribution, version); stevedore's cached entry points lack ``dist``."""
    found = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        found.setdefault(entry_point.name, (dist.name, dist.version) if dist is not None else ("-", "-"))
    return found


class PluginRegistry:
    """The plugin manager plus what was loaded and what failed."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(specs)
        self.loaded: dict[str, PluginInfo] = {}
        self.failed: dict[str, PluginInfo] = {}

    def register(self, info: PluginInfo) -> None:
        declared = getattr(info.plugin, "HOOK_API_VERSION", HOOK_API_VERSION)
        if declared != HOOK_API_VERSION:
            self._fail(info, f"targets hook API version {declared}, this kernel provides {HOOK_API_VERSION}")
            return
        try:
            self.pm.register(info.plugin, name=info.name)
        except Exception as exc:  # noqa: BLE001 - pluggy validation errors and duplicate names
            self._fail(info, f"{type(exc).__name__}: {exc}")
            return
        try:
            self.pm.check_pending()  # a misspelled hook would otherwise be ignored silently
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(name=info.name)
            self._fail(info, f"{exc}")
            return
        self.loaded[info.name] = info

    def _fail(self, info: PluginInfo, error: str) -> None:
        info.error = error
        self.failed[info.name] = info
        log.error("plugin %s failed to load: %s", info.name, error)

    def info_for(self, name: str) -> PluginInfo | None:
        return self.loaded.get(name) or self.failed.get(name)


def load_plugins(settings: Settings, extra: list[tuple[str, Any]] = ()) -> PluginRegistry:
    """Load every ``eventonight.plugins`` entry point (plus ``extra`` in-process plugins)."""
    registry = PluginRegistry()
    distributions = _distributions()

    def on_load_failure(_manager, entry_point, exc) -> None:
        info = PluginInfo(entry_point.name, *distributions.get(entry_point.name, ("-", "-")))
        registry._fail(info, f"{type(exc).__name__}: {exc}")

    # stevedore memoises entry points per namespace for the life of the process; a kernel
    # must see the plugins installed now (tests install and remove them in one process).
    ExtensionManager.ENTRY_POINT_CACHE.pop(ENTRY_POINT_GROUP, None)
    manager = ExtensionManager(
        namespace=ENTRY_POINT_GROUP,
        invoke_on_load=False,
        on_load_failure_callback=on_load_failure,
    )
    candidates = [
        PluginInfo(ext.name, *distributions.get(ext.name, ("-", "-")), plugin=ext.plugin)
        for ext in manager
        if ext.name not in settings.disabled_plugins
    ]
    candidates += [PluginInfo(name, "-", "-", plugin=obj) for name, obj in extra]
    for info in sorted(candidates, key=lambda i: _order(i.name)):
        registry.register(info)
    missing = [n for n in settings.required_plugins if n not in registry.loaded]
    if missing:
        reasons = "; ".join(
            f"{n}: {registry.failed[n].error}" if n in registry.failed else f"{n}: not installed" for n in missing
        )
        raise PluginLoadError(f"required plugin(s) not loaded: {reasons}")
    return registry
