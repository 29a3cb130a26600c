"""Hook specifications: the contract between the kernel and every plugin.

Every hook receives arguments by keyword, so an implementation may accept only
the arguments it needs. Implementations may be plain functions or coroutines;
the kernel awaits coroutine results one implementation at a time (pluggy has no
async hooks). Implementations are called last-registered-first; built-in
plugins are registered in the fixed order documented in ``docs/plugins.md``.

``kernel`` is the running :class:`eventonight.kernel.Kernel`: settings,
``uow()``, the token service, the plugin manager and the per-plugin settings.
"""

from __future__ import annotations

from eventonight.hooks.markers import hookspec


@hookspec
def eventonight_settings():
    """Contribute a settings class.

    Called once while the kernel starts, before any other hook. Return a
    ``pydantic_settings.BaseSettings`` subclass (conventionally with
    ``env_prefix="EVENTONIGHT_<PLUGIN>_"``) or ``None``. The kernel instantiates
    it and makes the instance available as ``kernel.plugin_settings[<plugin
    name>]``. Invalid values stop the startup with pydantic's message.
    """


@hookspec
def eventonight_models():
    """Declare the plugin's persistent models and their indexes.

    Called at startup. Return a list of odmantic ``Model`` classes; the kernel
    creates the indexes each declares in ``model_config["indexes"]`` (odmantic
    ``Index`` or ``pymongo.IndexModel``, e.g. a ``2dsphere`` index) before any
    request is served. Creating an index that exists is a no-op.
    """


@hookspec
def eventonight_routes(kernel):
    """Add HTTP routes.

    Called once when the web application is built. Return a list of
    ``aiohttp.web.RouteDef`` (``web.get(path, handler)`` …). Paths should live
    under ``/api/<plugin>``; handlers raise :class:`eventonight.kernel.ApiError`
    (or aiohttp HTTP exceptions) for 4xx answers, which the kernel renders as
    ``{"statusCode", "error", "message"}``.
    """


@hookspec
def eventonight_openapi(kernel):
    """Contribute to the OpenAPI 3.1 document served at ``/api/openapi.json``.

    Return a dict with optional ``paths``, ``components`` (merged key by key
    into ``components``) and ``tags``. A path contributed twice is a startup
    error naming both plugins.
    """


@hookspec
def eventonight_consumers(kernel):
    """Subscribe to domain events on the bus.

    Called when a worker process starts. Return a list of
    :class:`eventonight.hooks.Consumer`. The kernel declares one durable queue
    per plugin (``<queue_prefix>.<plugin>``) bound to the patterns, delivers
    each message to every consumer whose pattern matches, acknowledges only
    after the handler returned, skips envelope ids the consumer already
    processed, and after ``consumer_max_attempts`` failures moves the message
    to ``<queue>.dead-letter``. Messages already waiting are handled together
    in one transaction (up to ``consumer_prefetch``), falling back to one
    message per transaction if that fails; ``Consumer(..., batch=True)``
    receives them as one list (see :class:`eventonight.hooks.Consumer`).
    """


@hookspec
def eventonight_scheduled_jobs(kernel):
    """Declare periodic jobs.

    Return a list of :class:`eventonight.hooks.ScheduledJob`. Each job runs in
    one process of the cluster at a time (a lease in MongoDB decides which),
    at most once per ``interval_seconds``. Exceptions are logged and the job
    runs again at its next interval.
    """


@hookspec
def eventonight_startup(kernel):
    """Called once after the database, indexes and keys are ready.

    May be a coroutine. Raising here stops the process (a plugin that cannot
    start must say so loudly, not serve half a feature).
    """


@hookspec
def eventonight_shutdown(kernel):
    """Called once when the process stops, in reverse registration order.

    May be a coroutine. Exceptions are logged and do not stop other plugins'
    shutdown.
    """


@hookspec
def eventonight_domain_event(event, kernel):
    """Observe every domain event recorded anywhere in the platform.

    Called by the outbox relay for each :class:`eventonight.hooks.DomainEvent`
    right after the broker confirmed it, in record order, so a third-party
    plugin can react without a queue of its own. Delivery is at least once (a
    relay that crashes between the confirm and marking the record sent calls
    it again); use ``event.id`` to de-duplicate. Exceptions are logged and do
    not hold the outbox back. Keep it quick: the relay waits for it.
    """


@hookspec
def eventonight_commands():
    """Add subcommands to the ``eventonight`` command line.

    Return a list of ``(name, help, run)`` where ``run`` is
    ``async def run(kernel, argv: list[str]) -> int``; the kernel is started
    (database ready, plugins loaded) before ``run`` is awaited and stopped
    after. The return value is the exit status.
    """


@hookspec
def eventonight_demo_data(kernel):
    """Create demonstration data through the plugin's own use cases.

    Called by ``eventonight seed`` and by ``eventonight serve --demo`` after
    startup, in plugin registration order (users before events …). Must be
    idempotent: running it twice creates nothing new. May be a coroutine.
    Return a list of lines to print (e.g. demo accounts and passwords) or None.
    """


@hookspec
def eventonight_tag_catalogue(kernel):
    """Contribute to the catalogue of event tags.

    Return ``{category: [tag, ...]}`` (e.g. ``{"music-style": ["techno", ...]}``)
    or None. The kernel merges all contributions; ``kernel.tag_catalogue()``
    returns the merged catalogue, empty when no plugin provides one (callers
    then accept free-form tags). The events plugin implements it; a third
    party may add categories or tags.
    """


@hookspec(firstresult=True)
def eventonight_store_image(kernel, kind, entity_id, request):
    """Store an uploaded image for ``kind`` (``"avatar"`` or ``"poster"``) of ``entity_id``.

    Called by the plugin that owns the entity after it checked that the caller
    may change it. ``request`` is the aiohttp request whose multipart body
    holds one file; the implementation validates it (4xx ``ApiError`` on bad
    input) and stores it. Return ``{"url": str, ...}`` (extra keys such as
    ``thumbnailUrl`` allowed). The first non-None result wins (callers use
    ``eventonight.kernel.hookcall.afirst_result``, which awaits coroutine
    implementations before judging them); when none answers the caller
    answers 501.
    """


@hookspec(firstresult=True)
def eventonight_delete_image(kernel, kind, entity_id):
    """Delete the stored image for ``kind`` of ``entity_id``.

    Return True when an image was deleted, False when there was none; None
    (no implementation) means no media plugin is installed.
    """


@hookspec(firstresult=True)
def eventonight_may_change_image(kernel, kind, entity_id, user_id):
    """May ``user_id`` change the image ``kind`` of ``entity_id``?

    Asked by the media plugin before a direct upload or deletion through
    ``/api/media/{kind}/{entityId}``. The plugin that owns the entity answers
    (users: the account's owner; events: the creator or a collaborator).
    Return True or False; None means no plugin owns this kind of entity, and
    the media plugin answers 404. May be a coroutine.
    """


@hookspec
def eventonight_draining(kernel):
    """The web process stops: end long-lived responses now.

    Called when the process has stopped accepting connections and before it
    waits for open requests to finish (aiohttp's ``on_shutdown``), so a plugin
    holding streams (server-sent events, long polls) can close them promptly
    instead of being cancelled after the shutdown timeout. May be a coroutine.
    """
