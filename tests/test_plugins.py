"""Plugin discovery through real entry points, and isolation of broken plugins."""

import json
import textwrap

import pytest

from eventonight.kernel.cli import main as cli_main
from eventonight.kernel.errors import PluginLoadError
from eventonight.kernel.plugins import load_plugins
from eventonight.settings import Settings


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install plugin modules as a distribution with ``eventonight.plugins`` entry points on sys.path."""

    def install(dist: str, modules: dict[str, str]) -> None:
        info = tmp_path / f"{dist.replace('-', '_')}-9.9.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 9.9\n")
        lines = [f"{name} = {name}_mod" for name in modules]
        (info / "entry_points.txt").write_text("[eventonight.plugins]\n" + "\n".join(lines) + "\n")
        for name, source in modules.items():
            (tmp_path / f"{name}_mod.py").write_text(textwrap.dedent(source))

    monkeypatch.syspath_prepend(str(tmp_path))
    return install


GOOD = """
    from aiohttp import web
    from eventonight.hooks import hookimpl

    async def ping(request):
        return web.json_response({"pong": True})

    @hookimpl
    def eventonight_routes(kernel):
        return [web.get("/api/good/ping", ping)]
"""
BROKEN_IMPORT = """
    raise ImportError("a dependency of this plugin is missing")
"""
MISSPELLED = """
    from eventonight.hooks import hookimpl

    @hookimpl
    def eventonight_rotues(kernel):
        return []
"""
WRONG_API = """
    from eventonight.hooks import hookimpl
    HOOK_API_VERSION = 99

    @hookimpl
    def eventonight_routes(kernel):
        return []
"""


def test_broken_plugins_are_reported_by_name_and_the_rest_load(installed):
    installed(
        "eventonight-mixed",
        {"good": GOOD, "broken": BROKEN_IMPORT, "misspelled": MISSPELLED, "oldapi": WRONG_API},
    )
    registry = load_plugins(Settings())
    assert "good" in registry.loaded
    assert set(registry.failed) >= {"broken", "misspelled", "oldapi"}
    assert "a dependency of this plugin is missing" in registry.failed["broken"].error
    assert "eventonight_rotues" in registry.failed["misspelled"].error
    assert "hook API version 99" in registry.failed["oldapi"].error
    assert registry.failed["broken"].distribution == "eventonight-mixed"
    assert registry.pm.get_plugin("misspelled") is None, "a rejected plugin is not left registered"


def test_a_required_plugin_that_fails_stops_startup_with_its_name(installed):
    installed("eventonight-broken", {"broken": BROKEN_IMPORT})
    with pytest.raises(PluginLoadError, match="broken: ImportError: a dependency of this plugin is missing"):
        load_plugins(Settings(required_plugins=["broken"]))
    with pytest.raises(PluginLoadError, match="absent: not installed"):
        load_plugins(Settings(required_plugins=["absent"]))


def test_disabled_plugin_is_not_loaded(installed):
    installed("eventonight-good", {"good": GOOD})
    assert "good" not in load_plugins(Settings(disabled_plugins=["good"])).loaded


async def test_platform_serves_healthy_without_the_broken_plugin(installed, platform):
    installed("eventonight-mixed", {"good": GOOD, "broken": BROKEN_IMPORT})
    p = await platform()
    assert (await p.client.get("/api/good/ping")).status == 200
    ready = await p.client.get("/ready")
    assert ready.status == 200, await ready.text()


def _block(out: str, name: str) -> list[str]:
    """A plugin's line and the indented lines under it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name} "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return lines[start:end]


def test_plugins_command_lists_hooks_routes_and_errors(installed, capsys, monkeypatch, settings):
    installed("eventonight-mixed", {"good": GOOD, "broken": BROKEN_IMPORT})
    monkeypatch.setenv("EVENTONIGHT_MONGODB_URI", settings.mongodb_uri)
    monkeypatch.setenv("EVENTONIGHT_DATABASE", settings.database)
    monkeypatch.setenv("EVENTONIGHT_KEY_ENCRYPTION_KEYS", json.dumps(settings.key_encryption_keys))
    status = cli_main(["plugins"])
    out = capsys.readouterr().out
    good = _block(out, "good")
    assert "eventonight-mixed" in good[0] and "9.9" in good[0]
    assert "  hooks: eventonight_routes" in good
    assert "    GET /api/good/ping" in good, "one route per line, under its plugin"
    assert max(len(line) for line in out.splitlines()) < 200, "no line carries a plugin's whole route table"
    broken = _block(out, "broken")
    assert any("ImportError: a dependency of this plugin is missing" in line for line in broken)
    assert status == 1, "a load error makes the command fail, so scripts notice"


def test_plugins_prune_dry_run_lists_and_prune_deletes(capsys, monkeypatch, settings):
    import asyncio

    from eventonight.kernel.bus.queues import QueueRegistry
    from eventonight.kernel.db import Database

    async def remember_an_uninstalled_plugin():
        database = Database(settings.mongodb_uri, settings.database)
        await QueueRegistry(database, settings).record("vanished", [f"{settings.queue_prefix}.vanished"], ["x.#"])
        await database.close()

    asyncio.run(remember_an_uninstalled_plugin())
    for key, value in {
        "MONGODB_URI": settings.mongodb_uri,
        "DATABASE": settings.database,
        "BROKER_URL": settings.broker_url,
        "EXCHANGE": settings.exchange,
        "QUEUE_PREFIX": settings.queue_prefix,
        "KEY_ENCRYPTION_KEYS": json.dumps(settings.key_encryption_keys),
    }.items():
        monkeypatch.setenv(f"EVENTONIGHT_{key}", value)
    assert cli_main(["plugins", "prune", "--dry-run"]) == 0
    assert f"vanished: would delete {settings.queue_prefix}.vanished" in capsys.readouterr().out
    assert cli_main(["plugins", "prune"]) == 0
    assert f"vanished: deleting {settings.queue_prefix}.vanished" in capsys.readouterr().out
    assert cli_main(["plugins", "prune", "--dry-run"]) == 0
    assert "no queues of uninstalled plugins" in capsys.readouterr().out


def test_hookspecs_all_have_docstrings():
    from eventonight.hooks import specs

    names = [n for n in dir(specs) if n.startswith("eventonight_")]
    assert len(names) >= 10
    for name in names:
        assert (getattr(specs, name).__doc__ or "").strip(), f"{name} needs a docstring: it is public API"


def test_kernel_hook_reference_in_docs_matches_specs():
    """docs/hooks.md is generated from the specs; regenerate it with `python -m eventonight.kernel.hookdocs`."""
    from pathlib import Path

    from eventonight.kernel.hookdocs import render

    docs = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"
    assert docs.read_text() == render(), "docs/hooks.md is stale: python -m eventonight.kernel.hookdocs > docs/hooks.md"
