"""Render the hook reference (docs/hooks.md) from the hookspecs.

``python -m eventonight.kernel.hookdocs > docs/hooks.md``; a test fails when the
file and the specs disagree.
"""

from __future__ import annotations

import inspect

from eventonight.hooks import specs
from eventonight.hooks.markers import HOOK_API_VERSION


def render() -> str:
    lines = [
        "# Hook reference",
        "",
        f"Hook API version: **{HOOK_API_VERSION}**. Generated from `eventonight/hooks/specs.py`;",
        "regenerate with `python -m eventonight.kernel.hookdocs > docs/hooks.md`.",
        "",
        inspect.cleandoc(specs.__doc__ or ""),
        "",
    ]
    for name, function in inspect.getmembers(specs, inspect.isfunction):
        if not name.startswith("eventonight_"):
            continue
        options = getattr(function, "eventonight_spec", {}) or {}
        flags = [flag for flag in ("firstresult", "historic") if options.get(flag)]
        lines += [f"## `{name}{inspect.signature(function)}`", ""]
        if flags:
            lines += [f"Options: {', '.join(flags)}.", ""]
        lines += [inspect.cleandoc(function.__doc__ or ""), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
