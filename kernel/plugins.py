"""Finding plugins (stevedore entry points) and registering them with pluggy.

Loading happens in three steps, so that a plugin can define hooks for others:

1. every plugin is registered (in alphabetical order of its entry-point name);
   pluggy accepts implementations of hooks it does not know yet;
2. each plugin's ``eventonight_hookspecs`` answers are added as specifications
   (an implementation whose signature does not fit is refused, naming it);
3. once, after all are registered, every implementation must match a
   specification unless it is marked ``optionalhook=True`` (a hook of a plugin
   that may be absent): a misspelled hook is refused, naming the plugin.

A plugin that fails to import, targets another hook API version, fails a
step above, or later fails to build its routes or to start is reported by
name and left out; the platform runs without it unless it is listed in
``required_plugins``.
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
from eventonight.kernel.hookcall import call_each
from eventonight.settings import Settings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "eventonight.plugins"


@dataclass
class PluginInfo:
    name: str
    distribution: str = "-"
    version: str = "-"
    plugin: Any = None
    error: str | None = None
    routes: list[str] = field(default_factory=list)


def _distributions() -> dict[str, tuple[str, str]]:
    """Entry-point name -> (distribution, version); stevedore's cached entry points lack ``dist``."""
    found = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        found.setdefault(entry_point.name, (dist.name, dist.version) if dist is not None else ("-", "-"))
    return found


class PluginRegistry:
    """The plugin manager plus what was loaded and what failed."""

    def __init__(self, required: list[str] | tuple[str, ...] = ()) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(specs)
        self.required = set(required)
        self.loaded: dict[str, PluginInfo] = {}
        self.failed: dict[str, PluginInfo] = {}
        #: Installed but switched off with ``disabled_plugins``.
        self.disabled: set[str] = set()

    def installed(self) -> set[str]:
        """Names of every plugin present, whether it loaded, failed or is disabled."""
        return set(self.loaded) | set(self.failed) | self.disabled

    def register(self, info: PluginInfo) -> None:
        """Step 1: register one plugin (its hooks are checked by :meth:`check`)."""
        declared = getattr(info.plugin, "HOOK_API_VERSION", HOOK_API_VERSION)
        if declared != HOOK_API_VERSION:
            self._fail(info, f"targets hook API version {declared}, this kernel provides {HOOK_API_VERSION}")
            return
        try:
            self.pm.register(info.plugin, name=info.name)
        except Exception as exc:  # noqa: BLE001 - pluggy validation errors and duplicate names
            self._fail(info, f"{type(exc).__name__}: {exc}")
            return
        self.loaded[info.name] = info

    def add_plugin_hookspecs(self) -> None:
        """Step 2: the specifications plugins define for each other."""
        for result in call_each(self.pm, "eventonight_hookspecs", robust=True):
            if result.error is not None:
                self.leave_out(result.plugin, f"eventonight_hookspecs failed: {result.error!r}")
                continue
            for namespace in _as_list(result.value):
                self._add_hookspecs(result.plugin, namespace)

    def _add_hookspecs(self, owner: str, namespace: Any) -> None:
        # Check every registered implementation against the new specs on a probe manager
        # first: pluggy validates while adding and stops at the first misfit, half done.
        probe = pluggy.PluginManager(PROJECT)
        try:
            probe.add_hookspecs(namespace)
        except ValueError as exc:
            self.leave_out(owner, f"cannot define hooks: {exc}")
            return
        clashes = [
            name
            for name in vars(probe.hook)
            if getattr(self.pm.hook, name, None) is not None and getattr(self.pm.hook, name).has_spec()
        ]
        if clashes:
            self.leave_out(owner, f"defines hook(s) already defined: {', '.join(sorted(clashes))}")
            return
        for name, info in list(self.loaded.items()):
            try:
                probe.register(info.plugin, name=name)
            except pluggy.PluginValidationError as exc:
                self.leave_out(name, str(exc))
        if owner in self.loaded:
            self.pm.add_hookspecs(namespace)

    def check(self) -> None:
        """Step 3: every implementation matches a specification, unless it is optional."""
        for name, info in list(self.loaded.items()):
            unknown = sorted(
                caller.name
                for caller in self.pm.get_hookcallers(info.plugin) or []
                if not caller.has_spec()
                and any(i.plugin_name == name and not i.optionalhook for i in caller.get_hookimpls())
            )
            if unknown:
                self.leave_out(
                    name,
                    f"unknown hook(s) {', '.join(unknown)} (misspelled? a hook of another plugin "
                    "is implemented with @hookimpl(optionalhook=True))",
                )

    def leave_out(self, name: str, error: str) -> None:
        """Unregister a loaded plugin and report it; a required plugin stops the startup instead."""
        info = self.loaded.pop(name, None) or PluginInfo(name)
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)
        self._fail(info, error)
        if name in self.required:
            raise PluginLoadError(f"required plugin {name} failed: {error}")

    def _fail(self, info: PluginInfo, error: str) -> None:
        info.error = error
        self.failed[info.name] = info
        log.error("plugin %s left out: %s", info.name, error)

    def info_for(self, name: str) -> PluginInfo | None:
        return self.loaded.get(name) or self.failed.get(name)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def load_plugins(settings: Settings, extra: list[tuple[str, Any]] = ()) -> PluginRegistry:
    """Load every ``eventonight.plugins`` entry point (plus ``extra`` in-process plugins)."""
    registry = PluginRegistry(settings.required_plugins)
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
    registry.disabled = {ext.name for ext in manager if ext.name in settings.disabled_plugins}
    candidates += [PluginInfo(name, "-", "-", plugin=obj) for name, obj in extra]
    for info in sorted(candidates, key=lambda i: i.name):
        registry.register(info)
    registry.add_plugin_hookspecs()
    registry.check()
    missing = [n for n in settings.required_plugins if n not in registry.loaded]
    if missing:
        reasons = "; ".join(
            f"{n}: {registry.failed[n].error}" if n in registry.failed else f"{n}: not installed" for n in missing
        )
        raise PluginLoadError(f"required plugin(s) not loaded: {reasons}")
    return registry
