"""Render the hook reference (docs/hooks.md) from the hookspecs and the public types.

``python -m eventonight.kernel.hookdocs > docs/hooks.md``; a test fails when the
file and the code disagree. Hooks that installed plugins define for each other
are listed too, each under the plugin that owns it.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from eventonight.hooks import errors, specs, types
from eventonight.hooks.markers import HOOK_API_VERSION


def _doc(obj: Any) -> str:
    return inspect.cleandoc(obj.__doc__ or "")


def _hook(name: str, function: Any) -> list[str]:
    options = getattr(function, "eventonight_spec", {}) or {}
    flags = [flag for flag in ("firstresult", "historic") if options.get(flag)]
    signature = str(inspect.signature(function)).replace("(self, ", "(").replace("(self)", "()")
    lines = [f"### `{name}{signature}`", ""]
    if flags:
        lines += [f"Options: {', '.join(flags)}.", ""]
    return [*lines, _doc(function), ""]


def _hooks_of(namespace: Any) -> list[str]:
    lines: list[str] = []
    for name, function in inspect.getmembers(namespace, inspect.isfunction):
        if getattr(function, "eventonight_spec", None) is not None:
            lines += _hook(name, function)
    return lines


def _members(cls: type) -> list[str]:
    """A Protocol's or dataclass's public members: attributes with their comments, methods with docstrings."""
    lines: list[str] = []
    comment: list[str] = []
    for line in inspect.getsource(cls).splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#:"):
            comment.append(stripped[2:].strip())
        elif ":" in stripped and not stripped.startswith(("def ", "async def ", "@", '"', "#")) and comment:
            lines.append(f"- `{stripped.split(':')[0]}`: {' '.join(comment)}")
            comment = []
        else:
            comment = []
    if not dataclasses.is_dataclass(cls):
        for name, member in inspect.getmembers(cls):
            if name.startswith("_") or (not callable(member) and not isinstance(member, property)):
                continue
            target = member.fget if isinstance(member, property) else member
            if target.__qualname__.split(".")[0] != cls.__name__:
                continue
            signature = "" if isinstance(member, property) else str(inspect.signature(target)).replace("self, ", "")
            signature = signature.replace("(self)", "()")
            lines.append(f"- `{name}{signature}`: {' '.join(_doc(target).split())}")
    return lines


def _plugin_hooks() -> list[str]:
    from eventonight.kernel.hookcall import call_each
    from eventonight.kernel.plugins import load_plugins
    from eventonight.settings import Settings

    registry = load_plugins(Settings(required_plugins=[], disabled_plugins=[]))
    lines: list[str] = []
    for result in call_each(registry.pm, "eventonight_hookspecs", robust=True):
        namespaces = result.value if isinstance(result.value, list | tuple) else [result.value]
        for namespace in namespaces:
            if namespace is None:
                continue
            lines += [f"## Defined by the `{result.plugin}` plugin", "", _doc(namespace), ""]
            lines += _hooks_of(namespace)
    return lines


def render() -> str:
    lines = [
        "# Hook reference",
        "",
        f"Hook API version: **{HOOK_API_VERSION}**. Generated from `eventonight/hooks/` and the installed",
        "plugins' hook specifications; regenerate with `python -m eventonight.kernel.hookdocs > docs/hooks.md`.",
        "",
        _doc(specs),
        "",
        "## The kernel",
        "",
        _doc(types.PluginKernel),
        "",
        *_members(types.PluginKernel),
        "",
        "## Types",
        "",
    ]
    for cls in (types.DataHandle, types.UnitOfWork, types.DomainEvent, types.Consumer, types.ScheduledJob,
                types.HookResult):  # fmt: skip
        lines += [f"### `{cls.__name__}`", "", _doc(cls), "", *_members(cls), ""]
    lines += ["## Errors", "", _doc(errors), ""]
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.DomainError):
            lines.append(f"- `{name}` ({cls.status}): {' '.join(_doc(cls).split())}")
    lines += ["", "## Kernel hooks", ""]
    lines += _hooks_of(specs)
    lines += _plugin_hooks()
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
