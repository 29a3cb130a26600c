"""The plugin contract: plugin-defined hooks, pluggy's call order, isolation of failing plugins."""

import asyncio
import logging
import time

import pytest
from pymongo.monitoring import ConnectionPoolListener

from eventonight.hooks import DomainError, hookimpl, hookspec
from eventonight.kernel.db import OUTBOX
from eventonight.kernel.errors import PluginLoadError
from eventonight.kernel.kernel import Kernel
from eventonight.kernel.testing import wait_until


@pytest.fixture
def settings(settings):
    """The kernel alone: installed plugins are left out, so only each test's plugins take part."""
    from importlib.metadata import entry_points

    installed = [ep.name for ep in entry_points(group="eventonight.plugins")]
    return settings.model_copy(update={"disabled_plugins": installed})


class BadgesSpecs:
    @hookspec
    def badges_extra(self, kernel, user_id):
        """Extra badges for a user."""


class Badges:
    """A plugin that defines a hook for others."""

    @hookimpl
    def eventonight_hookspecs(self):
        return BadgesSpecs


def _named(name, *, tryfirst=False, trylast=False):
    class Contributor:
        @hookimpl(tryfirst=tryfirst, trylast=trylast)
        def badges_extra(self, user_id):
            return f"{name}:{user_id}"

    return (name, Contributor())


def test_a_plugin_defines_a_hook_that_others_implement_in_pluggys_order(settings):
    kernel = Kernel(
        settings,
        extra_plugins=[("badges", Badges()), _named("aaa"), _named("bbb", tryfirst=True), _named("ccc")],
    )
    assert set(kernel.plugins.loaded) == {"badges", "aaa", "bbb", "ccc"}, kernel.plugins.failed
    order = [r.plugin for r in kernel.hooks.call("badges_extra", user_id="u1")]
    # pluggy: tryfirst first, then last-registered first (plugins register alphabetically).
    assert order == ["bbb", "ccc", "aaa"]
    assert order == [i.plugin_name for i in reversed(kernel.pm.hook.badges_extra.get_hookimpls())]
    assert kernel.pm.hook.badges_extra(kernel=kernel, user_id="u1") == ["bbb:u1", "ccc:u1", "aaa:u1"]


def test_trylast_runs_last_and_kernel_hooks_follow_the_same_order(settings):
    calls = []

    def plugin(name, **options):
        class Plugin:
            @hookimpl(**options)
            def eventonight_openapi(self):
                calls.append(name)

        return (name, Plugin())

    kernel = Kernel(settings, extra_plugins=[plugin("aaa", trylast=True), plugin("bbb"), plugin("ccc")])
    kernel.hooks.call("eventonight_openapi")
    assert calls == ["ccc", "bbb", "aaa"]


def test_a_misspelled_hook_is_refused_by_name_and_a_hook_of_an_absent_plugin_is_not(settings):
    class Typo:
        @hookimpl
        def badges_extar(self, user_id):
            return "x"

    class OptionalPartner:
        @hookimpl(optionalhook=True)
        def absentplugin_something(self):
            return "never called"

    kernel = Kernel(settings, extra_plugins=[("badges", Badges()), ("typo", Typo()), ("partner", OptionalPartner())])
    assert "typo" in kernel.plugins.failed and "badges_extar" in kernel.plugins.failed["typo"].error
    assert kernel.pm.get_plugin("typo") is None
    assert "partner" in kernel.plugins.loaded
    assert kernel.hooks.call("absentplugin_something") == []
    assert kernel.hooks.defined("badges_extra") and not kernel.hooks.defined("absentplugin_something")


def test_an_implementation_that_does_not_fit_the_plugin_defined_spec_is_refused(settings):
    class WrongArgs:
        @hookimpl
        def badges_extra(self, user_id, colour):
            return "x"

    kernel = Kernel(settings, extra_plugins=[("badges", Badges()), ("wrong", WrongArgs())])
    assert "badges" in kernel.plugins.loaded
    assert "wrong" in kernel.plugins.failed and "colour" in kernel.plugins.failed["wrong"].error


def test_robust_calls_isolate_a_failing_implementation_and_name_it(settings, caplog):
    class Failing:
        @hookimpl(tryfirst=True)
        def badges_extra(self):
            raise RuntimeError("badge service down")

    kernel = Kernel(settings, extra_plugins=[("badges", Badges()), ("failing", Failing()), _named("fine")])
    with caplog.at_level(logging.ERROR):
        results = kernel.hooks.call_robust("badges_extra", user_id="u1")
    assert [(r.plugin, r.value, type(r.error).__name__) for r in results] == [
        ("failing", None, "RuntimeError"),
        ("fine", "fine:u1", "NoneType"),
    ]
    assert "failing" in caplog.text and "badge service down" in caplog.text
    with pytest.raises(RuntimeError):
        kernel.hooks.call("badges_extra", user_id="u1")  # a plain call lets a veto through


class Observer:
    def __init__(self, fail: bool):
        self.fail, self.seen = fail, []

    @hookimpl
    def eventonight_domain_event(self, event):
        self.seen.append(event.id)
        if self.fail:
            raise RuntimeError("observer bug")


async def test_a_failing_observer_does_not_keep_the_event_from_the_others(platform):
    # "zzz" registers last, so it is called first and fails before "aaa" is called.
    failing, healthy = Observer(fail=True), Observer(fail=False)
    p = await platform(extra_plugins=[("aaa", healthy), ("zzz", failing)], consumers=False)
    async with p.kernel.uow() as uow:
        recorded = await uow.record("sample.thing.happened", {"n": 1})
    await wait_until(lambda: healthy.seen)
    assert failing.seen == [recorded.id] and healthy.seen == [recorded.id]


class Committed:
    """Sees each commit's events; reads the outbox when called (was the transaction committed?)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[list[tuple[str, dict]]] = []
        self.outbox_seen: list[asyncio.Future] = []

    @hookimpl
    def eventonight_committed(self, events, kernel):
        self.calls.append([(e.event_type, e.payload) for e in events])
        ids = [e.id for e in events]
        # Another connection's read only finds a committed transaction's records.
        outbox = kernel.database.db[OUTBOX]
        found = {"$or": [{"eventId": {"$in": ids}}, {"entries.eventId": {"$in": ids}}]}  # alone or bundled
        self.outbox_seen.append(asyncio.ensure_future(outbox.count_documents(found)))
        if self.fail:
            raise RuntimeError("a committed hook that fails")


class CommittedCoroutine:
    def __init__(self) -> None:
        self.ran = False

    @hookimpl
    async def eventonight_committed(self, events):
        self.ran = True


async def test_the_committed_hook_sees_each_commits_events_in_order_right_after_it_commits(platform, caplog):
    # "zzz" registers last, so it is called first: its failure reaches neither "aaa" nor the caller.
    healthy, failing, wrong = Committed(), Committed(fail=True), CommittedCoroutine()
    extra = [("aaa", healthy), ("mmm", wrong), ("zzz", failing)]
    p = await platform(extra_plugins=extra, consumers=False, relay=False)

    async def two(uow):
        await uow.record("sample.thing.happened", {"n": 1})
        await uow.record_many([("sample.thing.happened", {"n": 2}), ("sample.other.happened", {"n": 3})])
        return "done"

    with caplog.at_level(logging.ERROR, logger="eventonight"):
        assert await p.kernel.transaction(two) == "done"
    expected = [
        ("sample.thing.happened", {"n": 1}),
        ("sample.thing.happened", {"n": 2}),
        ("sample.other.happened", {"n": 3}),
    ]
    assert healthy.calls == [expected] and failing.calls == [expected]
    # Called after the commit: the outbox (no relay here) held their two records then (one alone,
    # one bundle of the two events recorded together).
    assert [await seen for seen in healthy.outbox_seen] == [2]
    assert "zzz" in caplog.text and "a committed hook that fails" in caplog.text
    # A coroutine would never run (the commit does not wait): closed unawaited, and named.
    assert not wrong.ran and "mmm" in caplog.text and "must be a plain function" in caplog.text

    # A transaction that records nothing, or that aborts, is not announced.
    async def quiet(uow):
        await uow.collection("sample_things").insert_one({"n": 4})

    async def aborted(uow):
        await uow.record("sample.thing.happened", {"n": 5})
        raise DomainError("no")

    await p.kernel.transaction(quiet)
    with pytest.raises(DomainError):
        await p.kernel.transaction(aborted)
    assert healthy.calls == [expected]

    # Local: another process on the same database commits; this one is not told.
    elsewhere = Committed()
    other = await platform(extra_plugins=[("aaa", elsewhere)], consumers=False, relay=False)
    await other.kernel.transaction(two)
    assert len(elsewhere.calls) == 1 and healthy.calls == [expected]


class Good:
    @hookimpl
    def eventonight_routes(self):
        from aiohttp import web

        async def ping(request):
            return web.json_response({"pong": True})

        return [web.get("/api/good/ping", ping)]


class BrokenRoutes:
    @hookimpl
    def eventonight_routes(self):
        raise RuntimeError("cannot build my routes")


class BrokenConsumers:
    @hookimpl
    def eventonight_consumers(self):
        raise RuntimeError("cannot build my consumers")

    @hookimpl
    def eventonight_routes(self):
        from aiohttp import web

        async def half(request):
            return web.json_response({"half": "a feature"})

        return [web.get("/api/half/feature", half)]


class BrokenStartup:
    @hookimpl
    def eventonight_startup(self):
        raise RuntimeError("cannot start")

    @hookimpl
    def eventonight_routes(self):
        raise AssertionError("a plugin that did not start gets no routes")


async def test_a_plugin_whose_routes_startup_or_consumers_fail_is_left_out_and_the_rest_serves(platform):
    p = await platform(
        extra_plugins=[
            ("good", Good()),
            ("routes", BrokenRoutes()),
            ("startup", BrokenStartup()),
            ("consumers", BrokenConsumers()),
        ]
    )
    assert (await p.client.get("/api/good/ping")).status == 200
    failed = p.kernel.plugins.failed
    assert "cannot build my routes" in failed["routes"].error
    assert "cannot start" in failed["startup"].error
    assert "cannot build my consumers" in failed["consumers"].error
    assert (await p.client.get("/api/half/feature")).status == 404, "no half feature"
    assert all(p.kernel.pm.get_plugin(name) is None for name in ("routes", "startup", "consumers"))
    assert (await p.client.get("/ready")).status == 200


async def test_a_required_plugin_whose_routes_fail_stops_the_startup(settings):
    from eventonight.kernel.http.app import create_app

    required = settings.model_copy(update={"required_plugins": ["routes"]})
    kernel = Kernel(required, extra_plugins=[("routes", BrokenRoutes())])
    with pytest.raises(PluginLoadError, match=r"routes.*cannot build my routes"):
        await create_app(kernel, relay=False, consumers=False, scheduler=False)


async def test_unit_of_work_collections_are_bound_to_the_transaction(platform):
    p = await platform(consumers=False, relay=False)

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with p.kernel.uow() as uow:
            # No session= anywhere: the handle carries it, so the abort takes the write back.
            await uow.collection("bound").insert_one({"_id": "x"})
            assert await uow.collection("bound").count_documents({}) == 1
            assert await p.kernel.read.collection("bound").count_documents({}) == 0, "not visible outside"
            raise Abort()
    assert await p.kernel.read.collection("bound").find_one({"_id": "x"}) is None
    with pytest.raises(AttributeError, match="not offered"):
        p.kernel.read.collection("bound").drop  # noqa: B018 - management stays with the kernel
    with pytest.raises(RuntimeError, match=r"inside a transaction"):
        await p.kernel.read.record("sample.thing.happened", {})


async def test_a_read_handle_offers_what_a_transactions_does_aggregate_included(platform):
    """``kernel.read`` runs on PyMongo's asyncio client, a transaction on motor: a plugin's code is the same."""
    from odmantic import Field, Model

    class Seat(Model):
        model_config = {"collection": "contract_seats"}
        id: str = Field(primary_field=True)
        row: int

    p = await platform(consumers=False, relay=False)
    pipeline = [{"$group": {"_id": "$row", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]

    async def write_and_read(uow):
        await uow.collection("seats").insert_many([{"_id": f"s{i}", "row": i % 3} for i in range(7)])
        await uow.engine.save(Seat(id="a", row=1))
        return [d async for d in uow.collection("seats").aggregate(pipeline)]

    in_transaction = await p.kernel.transaction(write_and_read)
    read = p.kernel.read
    # What a transaction committed on one client, a read on the other sees at once.
    assert [d async for d in read.collection("seats").aggregate(pipeline)] == in_transaction
    assert await read.collection("seats").aggregate(pipeline).to_list(None) == in_transaction
    assert in_transaction == [{"_id": 0, "n": 3}, {"_id": 1, "n": 2}, {"_id": 2, "n": 2}]
    assert await read.collection("seats").find({"row": 1}).sort("_id", -1).to_list(None) == [
        {"_id": "s4", "row": 1},
        {"_id": "s1", "row": 1},
    ]
    assert [d["_id"] async for d in read.collection("seats").find({}, {"row": 0}).skip(5).limit(5)] == ["s5", "s6"]
    assert await read.collection("seats").count_documents({"row": 2}) == 2
    assert sorted(await read.collection("seats").distinct("row")) == [0, 1, 2]
    # By model too, and the odmantic engine of a read handle sees the same documents.
    assert await read.collection(Seat).find_one({"_id": "a"}) == {"_id": "a", "row": 1}
    assert [s.id for s in await read.engine.find(Seat)] == ["a"]


async def test_a_read_is_sent_from_the_event_loop_and_a_transactions_from_motors_thread(settings):
    """Why reads have their own client: motor hands each operation to a thread and back."""
    import threading

    from pymongo import monitoring

    from eventonight.kernel.db import Database, Reader

    threads: dict[str, set[int]] = {}

    class Listener(monitoring.CommandListener):
        active = True

        def started(self, event):
            if self.active and event.command_name in ("find", "aggregate"):
                threads.setdefault(event.command_name, set()).add(threading.get_ident())

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    listener = Listener()
    monitoring.register(listener)  # clients made from now on report to it
    database = Database(settings.mongodb_uri, settings.database)
    try:
        await Reader(database).collection("seats").find_one({})
        async with database.uow() as uow:
            await uow.collection("seats").aggregate([{"$match": {}}]).to_list(None)
    finally:
        listener.active = False  # registered for the rest of the process: it stops recording
        await database.close()
    assert threads["find"] == {threading.get_ident()}, "the read ran on the event loop's thread"
    assert threading.get_ident() not in threads["aggregate"], "motor ran the transaction's on its own"


async def test_a_cancelled_read_always_ends_its_task(platform):
    """On Python 3.11 the driver's sends can swallow a cancellation (asyncio.wait_for's race);
    a job stopped in the middle of a read must stop, not sleep on into a shutdown that waits for it."""
    import asyncio
    import random

    p = await platform(consumers=False, relay=False)
    seats = p.kernel.read.collection("seats")
    await p.kernel.transaction(lambda uow: uow.collection("seats").insert_one({"_id": "a", "row": 1}))
    chooser = random.Random(7)
    operations = [
        lambda: seats.find_one({"_id": "a"}),
        lambda: seats.find({"row": 1}).sort("_id").to_list(None),
        lambda: seats.aggregate([{"$match": {"row": 1}}]).to_list(None),
        lambda: seats.count_documents({}),
    ]

    async def job(operation):
        while True:
            await operation()
            await asyncio.sleep(0.001)

    lost = 0
    for turn in range(300):
        task = asyncio.create_task(job(operations[turn % len(operations)]))
        await asyncio.sleep(chooser.random() * 0.008)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        if not done:
            lost += 1
            task.cancel()
            await asyncio.wait({task}, timeout=2)
        assert task.done()
    assert lost == 0, f"{lost} of 300 cancellations were lost"


async def test_the_uris_options_apply_to_both_pools(settings):
    from eventonight.kernel.db import Database, Reader

    uri = settings.mongodb_uri
    uri += ("&" if "?" in uri else ("?" if uri.endswith("/") else "/?")) + "maxPoolSize=7&connectTimeoutMS=4321"
    database = Database(uri, settings.database)
    try:
        await Reader(database).collection("seats").find_one({})  # the read client is made on first use
        clients = [database.client.delegate, database._reads]  # motor's wraps a PyMongo client
        assert [c.options.pool_options.max_pool_size for c in clients] == [7, 7]
        assert [c.options.pool_options.connect_timeout for c in clients] == [4.321, 4.321]
    finally:
        await database.close()


class _Checkouts(ConnectionPoolListener):
    """PyMongo's pool events: how many operations held or waited for a connection at once."""

    def __init__(self) -> None:
        self.now = self.most = 0

    def connection_check_out_started(self, event) -> None:
        self.now += 1
        self.most = max(self.most, self.now)

    def connection_check_out_failed(self, event) -> None:
        self.now -= 1

    def connection_checked_in(self, event) -> None:
        self.now -= 1

    def _other(self, event) -> None:
        pass

    pool_created = pool_ready = pool_cleared = pool_closed = _other
    connection_created = connection_ready = connection_closed = connection_checked_out = _other


async def test_reads_wait_for_a_free_connection_before_they_reach_the_driver(settings):
    """A PyMongo asyncio operation waiting in the pool holds its whole call stack; the read handle
    keeps the rest waiting in front of it, so the driver never has more than the pool's size."""
    import asyncio

    from pymongo import AsyncMongoClient

    from eventonight.kernel.handles import UNLIMITED, ReadCollection, ReadSlots

    checkouts = _Checkouts()
    client = AsyncMongoClient(settings.mongodb_uri, maxPoolSize=3, event_listeners=[checkouts])
    try:
        raw = client[settings.database]["slots"]
        await raw.insert_many([{"_id": i} for i in range(5)])

        async def burst(seats):
            def one(i):
                kinds = [
                    lambda: seats.find_one({"_id": i % 5}),
                    lambda: seats.find({}).sort("_id", 1).to_list(),
                    lambda: seats.aggregate([{"$match": {}}]).to_list(),
                    lambda: seats.count_documents({}),
                ]
                return kinds[i % 4]()

            async def iterate():
                return [d["_id"] async for d in seats.find({})]

            checkouts.most = 0
            results = await asyncio.gather(*(one(i) for i in range(40)), *(iterate() for _ in range(8)))
            assert results[-1] == [0, 1, 2, 3, 4] and results[3] == 5
            return checkouts.most

        assert await burst(ReadCollection(raw, ReadSlots(3))) == 3
        assert await burst(ReadCollection(raw, UNLIMITED)) > 10  # without the slots: the test can see it
    finally:
        await client.close()


async def test_a_read_waits_no_longer_than_the_uris_wait_queue_timeout(settings):
    import asyncio

    from pymongo.errors import WaitQueueTimeoutError

    from eventonight.kernel.db import Database, Reader
    from eventonight.kernel.handles import ReadSlots

    uri = settings.mongodb_uri
    uri += ("&" if "?" in uri else ("?" if uri.endswith("/") else "/?")) + "maxPoolSize=5&waitQueueTimeoutMS=250"
    database = Database(uri, settings.database)
    try:
        await Reader(database).collection("seats").find_one({})
        assert (database.read_slots.size, database.read_slots.wait_seconds) == (5, 0.25)
    finally:
        await database.close()
    assert ReadSlots(0).size is None  # maxPoolSize=0: no limit, nothing waits

    slots = ReadSlots(1, 0.05)
    held = asyncio.create_task(slots.send(lambda: asyncio.sleep(0.5, "first")))
    await asyncio.sleep(0)
    with pytest.raises(WaitQueueTimeoutError):
        await slots.send(lambda: asyncio.sleep(0, "second"))
    assert await held == "first"
    assert await slots.send(lambda: asyncio.sleep(0, "third")) == "third"  # the timed-out wait took no slot
    patient = ReadSlots(1)
    held = asyncio.create_task(patient.send(lambda: asyncio.sleep(0.3, "first")))
    await asyncio.sleep(0)
    assert await patient.send(lambda: asyncio.sleep(0, "second")) == "second"  # no timeout: it waits its turn
    assert held.done()


async def test_after_the_kernel_stops_neither_client_serves(settings):
    from pymongo.errors import InvalidOperation

    kernel = Kernel(settings)
    await kernel.start()
    assert await kernel.read.collection("seats").find_one({}) is None
    await kernel.stop()
    # Closed, not quietly reopened: an operation after shutdown is a bug to see.
    with pytest.raises(InvalidOperation):
        await kernel.read.collection("seats").find_one({})
    with pytest.raises(InvalidOperation):
        await kernel.transaction(lambda uow: uow.collection("seats").insert_one({"_id": "late"}))
    with pytest.raises(InvalidOperation):  # nor a collection the process had not read before
        await kernel.read.collection("never_read").find_one({})
    # A handle closed before its first read (``eventonight check``) makes no client afterwards either.
    from eventonight.kernel.db import Database, Reader

    unused = Database(settings.mongodb_uri, settings.database)
    await unused.close()
    with pytest.raises(InvalidOperation):
        await Reader(unused).collection("seats").find_one({})


async def test_plugin_indexes_are_created_from_the_indexes_hook(platform):
    from pymongo import IndexModel

    class Indexed:
        @hookimpl
        def eventonight_indexes(self):
            return {"indexed_things": [IndexModel([("code", 1)], unique=True, name="by_code")]}

    p = await platform(extra_plugins=[("indexed", Indexed())], consumers=False, relay=False)
    info = await p.kernel.database.db["indexed_things"].index_information()
    assert info["by_code"]["unique"] is True


async def test_retired_indexes_are_dropped_and_may_be_redefined_under_their_name(platform):
    from pymongo import IndexModel

    old_key = IndexModel([("code", 1)], name="by_code")
    new_key = IndexModel([("code", 1), ("at", -1)], name="by_code")

    class Version:
        def __init__(self, indexes, retired):
            self.indexes, self.retired = indexes, retired

        @hookimpl
        def eventonight_indexes(self):
            return {"upgraded_things": self.indexes}

        @hookimpl
        def eventonight_retired_indexes(self):
            return {"upgraded_things": self.retired}

    first = await platform(extra_plugins=[("upgraded", Version([old_key], ["never_existed"]))], consumers=False)
    assert (await first.kernel.database.db["upgraded_things"].index_information())["by_code"]["key"] == [("code", 1)]
    # The next version redefines by_code: without retiring it first, creating it would fail on the old key.
    second = await platform(extra_plugins=[("upgraded", Version([new_key], ["by_code"]))], consumers=False)
    info = await second.kernel.database.db["upgraded_things"].index_information()
    assert info["by_code"]["key"] == [("code", 1), ("at", -1)]
    # A version that retires an index and declares nothing in its place leaves it dropped.
    third = await platform(extra_plugins=[("upgraded", Version([], ["by_code"]))], consumers=False)
    assert "by_code" not in await third.kernel.database.db["upgraded_things"].index_information()


def test_domain_errors_render_with_their_kind_status():
    from eventonight.hooks import Conflict, MissingPlugin, NotFound, TooManyRequests, Unauthenticated
    from eventonight.kernel.http.handling import from_domain_error

    assert from_domain_error(DomainError("bad", field="x")).body()["details"][0]["field"] == "x"
    assert [from_domain_error(e).status for e in (Unauthenticated("a"), NotFound("b"), Conflict("c"))] == [
        401,
        404,
        409,
    ]
    assert from_domain_error(TooManyRequests("slow", 7)).headers == {"Retry-After": "7"}
    assert from_domain_error(MissingPlugin("no media")).status == 501
    used = Conflict("already used", details=[{"type": "already_used", "gate": "A"}])
    assert from_domain_error(used).body()["details"] == [{"type": "already_used", "gate": "A"}]


def test_plugins_import_only_the_public_api():
    """plugins/ and examples/ import nothing of the kernel but ``eventonight.hooks`` (an import-linter contract)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in [*root.glob("plugins/**/*.py"), *root.glob("examples/**/*.py")]:
        if "build" in path.parts or ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.startswith("eventonight.") and not (
                    name == "eventonight.hooks" or name.startswith("eventonight.hooks.")
                ):
                    offenders.append(f"{path.relative_to(root)}: {name}")
    assert offenders == []


def test_the_public_api_module_imports_no_framework():
    """Domain and application code import ``eventonight.hooks`` (and ``.kept``); no aiohttp, odmantic or kombu."""
    import subprocess
    import sys

    code = (
        "import sys, eventonight.hooks, eventonight.hooks.errors, eventonight.hooks.types, eventonight.hooks.kept;"
        "print(sorted(m for m in ('aiohttp', 'odmantic', 'kombu', 'motor') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_kernel_names_no_plugin():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    builtin = ("users", "events", "interactions", "chat", "media", "notification", "ticketing")
    found = []
    for path in [*root.glob("kernel/**/*.py"), *root.glob("hooks/**/*.py")]:
        text = path.read_text()
        found += [f"{path.name}: {name}" for name in builtin if f'"{name}"' in text]
    assert found == []


async def test_the_odm_handle_is_bound_to_the_transaction_too(platform):
    from odmantic import Field, Model

    class Ticket(Model):
        model_config = {"collection": "contract_tickets"}
        id: str = Field(primary_field=True)
        seat: int

    p = await platform(consumers=False, relay=False)

    async def work(uow):
        await uow.engine.save_all([Ticket(id="a", seat=1), Ticket(id="b", seat=2)])
        await uow.engine.save(Ticket(id="c", seat=3))
        assert await uow.engine.count(Ticket) == 3
        await uow.engine.delete(await uow.engine.find_one(Ticket, Ticket.id == "a"))
        assert await uow.engine.remove(Ticket, Ticket.seat == 3) == 1
        return [t.id for t in await uow.engine.find(Ticket)]

    assert await p.kernel.transaction(work) == ["b"]
    assert [t.seat for t in await p.kernel.read.engine.find(Ticket)] == [2]

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with p.kernel.uow() as uow:
            await uow.engine.save(Ticket(id="d", seat=4))
            raise Abort()
    assert await p.kernel.read.engine.find_one(Ticket, Ticket.id == "d") is None


async def test_the_in_memory_bus_also_waits_before_a_retry(platform, settings):
    from eventonight.hooks import Consumer

    calls = []

    class FailsOnce:
        @hookimpl
        def eventonight_consumers(self):
            async def handle(event, uow):
                calls.append(time.monotonic())
                if len(calls) == 1:
                    raise RuntimeError("blip")

            return [Consumer("once", ("sample.#",), handle)]

    embedded = settings.model_copy(update={"broker_url": None, "consumer_retry_delays": [0.8]})
    p = await platform(extra_plugins=[("once", FailsOnce())], settings_override=embedded)
    async with p.kernel.uow() as uow:
        await uow.record("sample.thing.happened", {})
    await wait_until(lambda: len(calls) == 2)
    assert calls[1] - calls[0] >= 0.75


def test_retry_delays_are_taken_in_turn_and_the_last_one_repeats():
    import asyncio as aio

    from eventonight.kernel.bus.consumers import ConsumerRunner

    loop = aio.new_event_loop()
    try:
        runner = ConsumerRunner(
            url=None, exchange_name="x", prefix="p", plugin="sample", patterns=["#"], dispatch=None,
            loop=loop, retry_delays=[1.0, 5.0, 30.0],
        )  # fmt: skip
        assert [runner.delay_for(n) for n in (1, 2, 3, 4, 9)] == [1.0, 5.0, 30.0, 30.0, 30.0]
        assert runner.delay_for(0) == 1.0, "a conflict that counted no attempt waits the first delay"
    finally:
        loop.close()


def test_documented_consumer_defaults():
    from eventonight.settings import Settings

    defaults = Settings()
    # README and docs/deployment.md state these.
    assert defaults.consumer_max_attempts == 5
    assert defaults.consumer_retry_delays == [1.0, 5.0, 30.0, 120.0]
    assert defaults.consumer_timeout_seconds == 60.0
    assert defaults.consumer_prefetch == 64


def test_documented_relay_defaults():
    from eventonight.kernel.outbox import RANGE_DELETE_MIN
    from eventonight.settings import Settings

    defaults = Settings()
    # README and docs/performance.md state these.
    assert (defaults.relay_batch_size, defaults.relay_chunk_size, defaults.relay_poll_seconds) == (10_000, 2500, 0.25)
    assert RANGE_DELETE_MIN == 256


def test_disabled_and_failed_plugins_count_as_installed_so_their_queues_are_kept(settings):
    class Broken:
        @hookimpl
        def eventonight_hookspecs(self):
            raise RuntimeError("broken")

    kernel = Kernel(settings, extra_plugins=[("broken", Broken())])
    assert "broken" in kernel.plugins.failed
    assert {"broken"} | set(settings.disabled_plugins) <= kernel.plugins.installed()
