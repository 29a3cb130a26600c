"""Pages of notifications a web process keeps: served while the user's counter keeps its version,
and equal to a fresh read after every change that shows on them."""

from bson import ObjectId
from eventonight_notification.application.fanout import notify
from eventonight_notification.infrastructure.settings import NotificationSettings
from eventonight_notification.infrastructure.store import Store

from eventonight.hooks.testing import bearer

API = "/api/notifications"
PAGES = [(20, 0, "false"), (5, 0, "false"), (5, 5, "false"), (20, 0, "true"), (3, 2, "true")]


def _follows(followed: str, fans: range) -> list[tuple[str, dict]]:
    return [("interactions.follow.created", {"followerId": f"fan{i}", "followedId": followed}) for i in fans]


async def test_a_kept_page_is_served_until_something_it_shows_changes(platform):
    p = await platform(consumers=False)
    kernel, club = p.kernel, "club"
    headers = bearer(p.token(club, "organization"))
    notifications = kernel.read.collection("notification_notifications")

    async def served(limit: int, offset: int, unread: str) -> tuple[list[dict], int]:
        response = await p.client.get(API, params={"limit": limit, "offset": offset, "unread": unread}, headers=headers)
        assert response.status == 200, await response.text()
        body = await response.json()
        return [(i["id"], i["read"], i["metadata"]["actor"]["userId"]) for i in body["items"]], body["total"]

    async def fresh(limit: int, offset: int, unread: str) -> tuple[list[dict], int]:
        docs, total = await Store(kernel.read).page(club, unread == "true", limit, offset)  # keeps nothing
        return [(str(d["_id"]), d["read"], d["metadata"]["actor"]["userId"]) for d in docs], total

    async def all_current() -> None:
        for page in PAGES:
            assert await served(*page) == await fresh(*page), page

    async def batch(fans: range) -> None:
        await kernel.transaction(lambda uow: notify(_follows(club, fans), Store(uow), uow))

    await batch(range(12))
    await all_current()
    await all_current()  # served from what the process kept

    # Behind the plugin's back (no version change): the kept page is what is served.
    newest = (await served(20, 0, "false"))[0][0][0]
    await notifications.update_one({"_id": ObjectId(newest)}, {"$set": {"metadata.actor.userId": "edited"}})
    assert (await served(20, 0, "false"))[0][0][2] != "edited"
    assert (await fresh(20, 0, "false"))[0][0][2] == "edited"

    # Every change through the plugin is shown: new notifications, one read, all read.
    await batch(range(12, 15))
    await all_current()
    assert (await p.client.post(f"{API}/{newest}/read", headers=headers)).status == 204
    await all_current()
    # A counter that drifted to 0 (stored by an older version): marking one read still shows.
    await kernel.read.collection("notification_unread").update_one({"_id": club}, {"$set": {"n": 0}})
    second = (await served(20, 0, "false"))[0][1][0]
    assert (await p.client.post(f"{API}/{second}/read", headers=headers)).status == 204
    await all_current()
    assert (await p.client.post(f"{API}/read-all", headers=headers)).status == 200
    await all_current()
    assert all(read for _, read, _ in (await served(20, 0, "false"))[0])

    # The user deleted, and (the same id) notified again: the counter is new, its version too,
    # even where the pages kept before the deletion were read at the counter's first version.
    await kernel.transaction(lambda uow: Store(uow).forget_user(club))
    await batch(range(12))
    await all_current()
    await kernel.transaction(lambda uow: Store(uow).forget_user(club))
    assert await served(20, 0, "false") == ([], 0)
    await batch(range(20, 32))  # as many as before: only the ids tell the pages apart
    await all_current()
    assert len((await served(20, 0, "false"))[0]) == 12


async def test_pages_kept_per_process_default_to_1000_and_are_set_by_the_environment(platform, monkeypatch):
    assert NotificationSettings().pages_kept == 1000  # README.md
    monkeypatch.setenv("EVENTONIGHT_NOTIFICATION_PAGES_KEPT", "0")
    p = await platform(consumers=False)
    club = "club"
    await p.kernel.transaction(lambda uow: notify(_follows(club, range(3)), Store(uow), uow))
    headers = bearer(p.token(club, "organization"))
    assert (await (await p.client.get(API, headers=headers)).json())["total"] == 3
    # Keeping none, a change behind the plugin's back shows at once.
    await p.kernel.read.collection("notification_notifications").delete_many({"user_id": club})
    assert (await (await p.client.get(API, headers=headers)).json())["items"] == []
