"""Hook specifications: the contract between the kernel and every plugin.

Every hook receives arguments by keyword, so an implementation may accept only
the arguments it needs. Implementations may be plain functions or coroutines;
the kernel awaits coroutine results one implementation at a time (pluggy has no
async hooks).

**Order.** Plugins are registered in alphabetical order of their entry-point
name, and every hook is called in pluggy's order: ``@hookimpl(tryfirst=True)``
implementations first, then the others last-registered-first, then
``trylast=True`` ones.

**Isolation.** Where a hook's text says *isolated*, an implementation that
raises is logged with its plugin's name and the other plugins still run; where
it says *leaves the plugin out*, the failing plugin is unregistered and
reported by ``eventonight plugins`` (the platform serves the rest), unless it
is listed in ``EVENTONIGHT_REQUIRED_PLUGINS``, which stops the startup.

**Hooks of other plugins.** These are the kernel's hooks (the platform). A
plugin defines hooks for others with :func:`eventonight_hookspecs`; calling and
implementing them is described there.

``kernel`` is the running kernel as plugins see it, described by
:class:`eventonight.hooks.PluginKernel` (docs/hooks.md, "The kernel").
"""

from __future__ import annotations

from eventonight.hooks.markers import hookspec


@hookspec
def eventonight_hookspecs():
    """Define hooks that other plugins implement.

    Called once while plugins load, before any implementation is checked.
    Return a module or class (or a list of them) holding functions decorated
    with ``eventonight.hooks.hookspec``, each with a docstring: it is your
    plugin's public API. Name them after your plugin (``badges_...``) so two
    plugins cannot clash; a hook specified twice leaves the second plugin out.

    Your plugin calls them through ``kernel.hooks`` (``call``, ``call_robust``,
    ``acall``, ``acall_robust``, ``first``), which offer ``kernel`` to every
    implementation. Another plugin implements them with
    ``@hookimpl(optionalhook=True)``, so it still loads when yours is not
    installed (its implementation is then never called)::

        # badges/specs.py
        @hookspec
        def badges_extra(kernel, user_id):
            '''Extra badges for ``user_id``: a list of strings.'''

        # badges/plugin.py
        @hookimpl
        def eventonight_hookspecs():
            return specs

        # in a handler of badges
        extra = [b for r in await kernel.hooks.acall_robust("badges_extra", user_id=uid) for b in r.value or []]
    """


@hookspec
def eventonight_settings():
    """Contribute a settings class.

    Called once while the kernel starts, before any other hook. Return a
    ``pydantic_settings.BaseSettings`` subclass (conventionally with
    ``env_prefix="EVENTONIGHT_<PLUGIN>_"``) or ``None``. The kernel instantiates
    it and makes the instance available as ``kernel.plugin_settings[<plugin
    name>]``. Invalid values stop the startup with pydantic's message::

        class HelloSettings(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_HELLO_")
            greeting: str = "hello"

        @hookimpl
        def eventonight_settings():
            return HelloSettings
    """


@hookspec
def eventonight_models():
    """Declare the plugin's odmantic models; the kernel creates their indexes.

    Called at startup. Return a list of odmantic ``Model`` classes: the
    documents the plugin reads and writes through ``uow.engine`` / ``kernel.read``
    (see :class:`eventonight.hooks.UnitOfWork`). The kernel creates the indexes
    each declares in ``model_config["indexes"]`` before any request is served;
    creating an index that exists is a no-op. A plugin that keeps plain
    documents declares their indexes with :func:`eventonight_indexes` instead::

        class Greeting(Model):
            user_id: str
            model_config = {"collection": "hello_greetings", "indexes": lambda: [Index(Greeting.user_id)]}

        @hookimpl
        def eventonight_models():
            return [Greeting]
    """


@hookspec
def eventonight_indexes():
    """Declare indexes on collections the plugin uses without an odmantic model.

    Called at startup. Return ``{collection name: [pymongo.IndexModel, ...]}``;
    the kernel creates them before any request is served (an existing index is
    a no-op)::

        @hookimpl
        def eventonight_indexes():
            return {"hello_greetings": [IndexModel([("userId", 1)], unique=True)]}
    """


@hookspec
def eventonight_retired_indexes():
    """Name the indexes an earlier version of the plugin declared and this one no longer wants.

    Called at startup, before ``eventonight_indexes``. Return ``{collection name:
    [index name, ...]}``; the kernel drops each one that exists (a missing one is
    skipped), so an upgrade does not keep paying for an index on every write, and
    an index can be redefined under its old key. Only the plugin's own collections::

        @hookimpl
        def eventonight_retired_indexes():
            return {"hello_greetings": ["userId_1"]}
    """


@hookspec
def eventonight_routes(kernel):
    """Add HTTP routes.

    Called once per web application, after the kernel started (database ready,
    ``eventonight_startup`` done), so handlers may hold the plugin's services
    directly. Return a list of ``aiohttp.web.RouteDef``. Paths should live under
    ``/api/<plugin>``. Handlers raise ``DomainError`` kinds or ``ApiError`` for
    4xx answers (see docs/plugins.md, "Errors"). Leaves the plugin out when it
    raises::

        @hookimpl
        def eventonight_routes(kernel):
            greetings = Greetings(kernel)
            return [web.get("/api/hello", greetings.get)]
    """


@hookspec
def eventonight_openapi(kernel):
    """Contribute to the OpenAPI 3.1 document served at ``/api/openapi.json``.

    Return a dict with optional ``paths``, ``components`` (merged key by key
    into ``components``) and ``tags``; ``fragment_from_routes`` builds one from
    route definitions. A path contributed twice is a startup error naming both
    plugins::

        @hookimpl
        def eventonight_openapi(kernel):
            return {"paths": {"/api/hello": {"get": {"responses": {"200": {"description": "hello"}}}}}}
    """


@hookspec
def eventonight_consumers(kernel):
    """Subscribe to domain events on the bus.

    Called once when the kernel starts (in every process, so a plugin whose
    consumers cannot be built is left out everywhere, before its routes are
    added). Return a list of :class:`eventonight.hooks.Consumer`. The kernel declares one durable queue
    per plugin (``<queue_prefix>.<plugin>``) bound to the patterns and consumes
    each plugin's queue on its own connection and thread, so a slow plugin
    delays only itself. It delivers each message to every consumer whose
    pattern matches, acknowledges only after the handler returned, skips
    envelope ids the consumer already processed, stops a handler after
    ``consumer_timeout_seconds``, retries a failed message after a growing
    delay (``consumer_retry_delays``) and after ``consumer_max_attempts``
    failures moves it to ``<queue>.dead-letter`` (``eventonight dlq``).
    Messages already waiting are handled together in one transaction (up to
    ``consumer_prefetch``), falling back to one message per transaction if that
    fails; ``Consumer(..., batch=True)`` receives them as one list::

        @hookimpl
        def eventonight_consumers(kernel):
            async def greet(event, uow):
                await uow.collection("hello_greetings").insert_one({"userId": event.payload["userId"]})

            return [Consumer("greet", ("user.created",), greet)]
    """


@hookspec
def eventonight_scheduled_jobs(kernel):
    """Declare periodic jobs.

    Return a list of :class:`eventonight.hooks.ScheduledJob`. Each job runs in
    one process of the cluster at a time (a lease in MongoDB decides which),
    at most once per ``interval_seconds``. Exceptions are logged and the job
    runs again at its next interval::

        @hookimpl
        def eventonight_scheduled_jobs(kernel):
            return [ScheduledJob("hello.cleanup", 3600, cleanup)]  # async def cleanup(kernel)
    """


@hookspec
def eventonight_startup(kernel):
    """Called once after the database, indexes and keys are ready.

    May be a coroutine. Leaves the plugin out when it raises (a plugin that
    cannot start does not serve half a feature; list it as required to stop
    the process instead)::

        @hookimpl
        async def eventonight_startup(kernel):
            await kernel.transaction(lambda uow: uow.collection("hello_state").update_one(
                {"_id": "boot"}, {"$inc": {"count": 1}}, upsert=True))
    """


@hookspec
def eventonight_shutdown(kernel):
    """Called once when the process stops, in reverse call order.

    May be a coroutine. Isolated: exceptions are logged and do not stop other
    plugins' shutdown::

        @hookimpl
        async def eventonight_shutdown(kernel):
            await my_client.close()
    """


@hookspec
def eventonight_domain_event(event, kernel):
    """Observe every domain event recorded anywhere in the platform.

    Called by the outbox relay for each :class:`eventonight.hooks.DomainEvent`
    right after the broker confirmed it, in record order, so a third-party
    plugin can react without a queue of its own. Delivery is at least once (a
    relay that crashes between the confirm and marking the record sent calls
    it again); use ``event.id`` to de-duplicate. Isolated: an observer that
    raises is logged with its plugin's name, the other observers still see the
    event, and the outbox is not held back. Keep it quick: the relay waits::

        @hookimpl
        def eventonight_domain_event(event):
            if event.event_type == "user.created":
                metrics.users_created += 1
    """


@hookspec
def eventonight_committed(events, kernel):
    """React in this process to the domain events of a transaction the moment it committed.

    Called right after a unit of work that recorded events commits, in the process
    that ran it, with that transaction's :class:`eventonight.hooks.DomainEvent`
    list in record order, before the outbox relay has sent them: the way to reach
    what this process holds itself (open streams, a cache) without waiting for the
    broker. Local and at most once: events committed in another process never come
    here, and a process that stops between the commit and this call never makes
    it; anything that must happen belongs in a consumer. The same events still
    reach the broker, so a plugin that acts on them both ways de-duplicates (by
    ``event.id``, or by what the payload identifies). A plain function, not a
    coroutine: it runs inside the committing call, which must not wait for it
    (start a task if there is work to await); do not change the events. Isolated:
    an implementation that raises (or is a coroutine, which is closed unawaited)
    is logged with its plugin's name, the others are still called, and the
    committing caller never sees it: its transaction has committed::

        @hookimpl
        def eventonight_committed(events):
            for event in events:
                if event.event_type == "chat.message.created":
                    rooms_here.push(event.payload)
    """


@hookspec
def eventonight_commands():
    """Add subcommands to the ``eventonight`` command line.

    Return a list of ``(name, help, run)`` where ``run`` is
    ``async def run(kernel, argv: list[str]) -> int``; the kernel is started
    (database ready, plugins loaded) before ``run`` is awaited and stopped
    after. The return value is the exit status::

        @hookimpl
        def eventonight_commands():
            return [("hello-count", "count greetings", count_greetings)]
    """


@hookspec
def eventonight_demo_data(kernel):
    """Create demonstration data through the plugin's own use cases.

    Called by ``eventonight seed`` and by ``eventonight serve --demo`` after
    startup, in call order (a plugin whose data others build on, such as
    users, marks its implementation ``tryfirst=True``). Must be idempotent:
    running it twice creates nothing new. May be a coroutine. Return a list
    of lines to print (e.g. demo accounts and passwords) or None::

        @hookimpl(trylast=True)
        async def eventonight_demo_data(kernel):
            return ["hello: nothing to seed"]
    """


@hookspec
def eventonight_draining(kernel):
    """The web process stops: end long-lived responses now.

    Called when the process has stopped accepting connections and before it
    waits for open requests to finish (aiohttp's ``on_shutdown``), so a plugin
    holding streams (server-sent events, long polls) can close them promptly
    instead of being cancelled after the shutdown timeout. May be a coroutine.
    Isolated::

        @hookimpl
        def eventonight_draining(kernel):
            streams.close_all()
    """
