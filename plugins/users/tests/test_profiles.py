"""Profiles: views, updates, interests, password change, deletion, search, avatars, domain events."""

from aiohttp import FormData

from eventonight.hooks import hookimpl, hookspec
from eventonight.hooks.testing import Settings, bearer


class TagCatalogue:
    """A plugin providing a tag catalogue through the kernel hook (as the events plugin does)."""

    @hookimpl
    def eventonight_tag_catalogue(self, kernel):
        return {"music-style": ["techno", "jazz"], "venue": ["club", "open-air"]}


async def test_public_view_hides_private_fields_and_owner_sees_all(platform, register):
    p = await platform()
    alice = await register(p.client, "alice", name="Alice Moreau")
    user_id = alice["user"]["id"]
    update = {"account": {"gender": "female", "birthDate": "1990-05-17", "darkMode": True, "language": "fr"}}
    response = await p.client.put(f"/api/users/{user_id}", json=update, headers=bearer(alice["accessToken"]))
    assert response.status == 200, await response.text()

    public = await (await p.client.get(f"/api/users/{user_id}")).json()
    assert public["account"] == {"username": "alice"}
    assert public["createdAt"].endswith("Z") and "T" in public["createdAt"]
    assert public["profile"]["name"] == "Alice Moreau"
    stranger = await register(p.client, "mallory")
    seen = await (await p.client.get(f"/api/users/{user_id}", headers=bearer(stranger["accessToken"]))).json()
    assert seen == public
    own = await (await p.client.get(f"/api/users/{user_id}", headers=bearer(alice["accessToken"]))).json()
    assert own["account"]["gender"] == "female" and own["account"]["birthDate"] == "1990-05-17"
    assert own["account"]["darkMode"] is True and own["account"]["email"] == "alice@example.org"
    assert (await p.client.get("/api/users/does-not-exist")).status == 404


async def test_only_the_owner_may_change_a_profile(platform, register):
    p = await platform()
    alice = await register(p.client, "alice")
    mallory = await register(p.client, "mallory")
    target = f"/api/users/{alice['user']['id']}"
    body = {"profile": {"bio": "hacked"}}
    assert (await p.client.put(target, json=body)).status == 401
    assert (await p.client.put(target, json=body, headers=bearer(mallory["accessToken"]))).status == 403
    assert (await p.client.delete(target, headers=bearer(mallory["accessToken"]))).status == 403
    password = {"currentPassword": "correct horse", "newPassword": "x" * 10, "confirmPassword": "x" * 10}
    assert (
        await p.client.put(f"{target}/password", json=password, headers=bearer(mallory["accessToken"]))
    ).status == 403
    own = await (await p.client.get(target, headers=bearer(alice["accessToken"]))).json()
    assert own["profile"]["bio"] == ""


async def test_update_validation_and_uniqueness(platform, register, settings):
    # Without a tag catalogue (no events plugin) interests are short free strings.
    p = await platform(settings_override=Settings(**{**settings.model_dump(), "disabled_plugins": ["events"]}))
    alice = await register(p.client, "alice")
    await register(p.client, "bob")
    target, auth = f"/api/users/{alice['user']['id']}", bearer(alice["accessToken"])
    for body, status in [
        ({"account": {"username": "bob"}}, 409),
        ({"account": {"email": "BOB@example.org"}}, 409),
        ({"account": {"birthDate": "2999-01-01"}}, 400),
        ({"account": {"language": "english"}}, 400),
        ({"profile": {"contacts": ["not a url"]}}, 400),
        ({"profile": {"bio": "x" * 501}}, 400),
        ({"account": {"interests": ["x" * 41]}}, 400),
        ({"unknown": 1}, 400),
    ]:
        response = await p.client.put(target, json=body, headers=auth)
        assert response.status == status, (body, await response.text())
    ok = await p.client.put(
        target,
        json={
            "account": {"username": "alice2", "interests": ["late nights", "vinyl"]},
            "profile": {"name": "Alice M.", "bio": "dj", "contacts": ["https://example.org/alice"]},
        },
        headers=auth,
    )
    body = await ok.json()
    assert ok.status == 200
    assert body["account"]["username"] == "alice2" and body["account"]["interests"] == ["late nights", "vinyl"]
    assert body["profile"]["contacts"] == ["https://example.org/alice"]
    cleared = await p.client.put(target, json={"account": {"gender": "other"}}, headers=auth)
    assert (await cleared.json())["account"]["gender"] == "other"
    cleared = await p.client.put(target, json={"account": {"gender": None}}, headers=auth)
    assert (await cleared.json())["account"]["gender"] is None


async def test_interests_must_come_from_the_tag_catalogue_when_there_is_one(platform, register):
    p = await platform(extra_plugins=[("tags", TagCatalogue())])
    alice = await register(p.client, "alice")
    target, auth = f"/api/users/{alice['user']['id']}", bearer(alice["accessToken"])
    response = await p.client.put(target, json={"account": {"interests": ["techno", "polka"]}}, headers=auth)
    assert response.status == 400
    assert "polka" in (await response.json())["message"]
    response = await p.client.put(target, json={"account": {"interests": ["techno", "club"]}}, headers=auth)
    assert (await response.json())["account"]["interests"] == ["techno", "club"]


async def test_password_change_revokes_other_sessions(platform, register):
    p = await platform()
    c = p.client
    first = await register(c, "alice")
    user_id = first["user"]["id"]
    second = await (await c.post("/api/users/login", json={"login": "alice", "password": "correct horse"})).json()
    path = f"/api/users/{user_id}/password"
    wrong = {"currentPassword": "nope nope", "newPassword": "brand new pw", "confirmPassword": "brand new pw"}
    assert (await c.put(path, json=wrong, headers=bearer(first["accessToken"]))).status == 403
    mismatch = {"currentPassword": "correct horse", "newPassword": "brand new pw", "confirmPassword": "other pw!"}
    assert (await c.put(path, json=mismatch, headers=bearer(first["accessToken"]))).status == 400
    good = {"currentPassword": "correct horse", "newPassword": "brand new pw", "confirmPassword": "brand new pw"}
    assert (await c.put(path, json=good, headers=bearer(first["accessToken"]))).status == 204

    assert (await c.post("/api/users/refresh", json={"refreshToken": second["refreshToken"]})).status == 401
    assert (await c.get(f"/api/users/{user_id}", headers=bearer(second["accessToken"]))).status == 401
    assert (await c.post("/api/users/refresh", json={"refreshToken": first["refreshToken"]})).status == 200
    assert (await c.post("/api/users/login", json={"login": "alice", "password": "correct horse"})).status == 401
    assert (await c.post("/api/users/login", json={"login": "alice", "password": "brand new pw"})).status == 200


async def test_deleting_an_account(platform, register, bus_tap):
    tap = await bus_tap("user.#")
    p = await platform()
    c = p.client
    alice = await register(c, "alice")
    user_id, auth = alice["user"]["id"], bearer(alice["accessToken"])
    assert (await c.delete(f"/api/users/{user_id}", headers=auth)).status == 204
    assert (await c.get(f"/api/users/{user_id}")).status == 404
    assert (await c.post("/api/users/refresh", json={"refreshToken": alice["refreshToken"]})).status == 401
    assert (await c.put(f"/api/users/{user_id}", json={}, headers=auth)).status == 401
    assert (await c.post("/api/users/login", json={"login": "alice", "password": "correct horse"})).status == 401
    [deleted] = await tap.wait_for("user.deleted")
    assert deleted["payload"] == {"userId": user_id}
    # The username is free again.
    await register(c, "alice")


async def test_domain_events_leave_through_the_broker(platform, register, bus_tap):
    tap = await bus_tap("user.#")
    p = await platform()
    alice = await register(p.client, "alice", role="organization", name="Alice's Club")
    user_id, auth = alice["user"]["id"], bearer(alice["accessToken"])
    [created] = await tap.wait_for("user.created")
    assert set(created) == {"id", "eventType", "occurredAt", "payload"}
    assert created["payload"] == {
        "userId": user_id,
        "role": "organization",
        "username": "alice",
        "name": "Alice's Club",
        "avatarUrl": None,
    }
    # A private setting changes nothing public: no event. A name change does.
    await p.client.put(f"/api/users/{user_id}", json={"account": {"darkMode": True}}, headers=auth)
    await p.client.put(f"/api/users/{user_id}", json={"profile": {"name": "Alice Club"}}, headers=auth)
    [updated] = await tap.wait_for("user.updated")
    assert updated["payload"]["name"] == "Alice Club"
    assert "email" not in updated["payload"]
    await p.client.put(f"/api/users/{user_id}", json={"profile": {"bio": "Open Fridays"}}, headers=auth)
    await p.client.put(f"/api/users/{user_id}", json={"profile": {"name": "Alice's"}}, headers=auth)
    # Events arrive in record order: had darkMode or bio emitted one, it would sit between these two.
    updates = await tap.wait_for("user.updated", count=2)
    assert [u["payload"]["name"] for u in updates] == ["Alice Club", "Alice's"]


async def test_search_by_prefix_and_role_with_pagination(platform, register):
    p = await platform()
    c = p.client
    await register(c, "nightowls", role="organization", name="Night Owls Collective")
    await register(c, "nightshade", name="Nina Shade")
    await register(c, "owlbert", name="Bert Night")
    await register(c, "jazzcellar", role="organization", name="The Jazz Cellar")

    async def search(query):
        response = await c.get(f"/api/users/search?{query}")
        assert response.status == 200, await response.text()
        return await response.json()

    names = lambda page: [u["account"]["username"] for u in page["items"]]  # noqa: E731
    assert names(await search("prefix=night")) == ["nightowls", "nightshade", "owlbert"]
    assert names(await search("prefix=NIGHT&role=organization")) == ["nightowls"]
    assert names(await search("prefix=cellar")) == ["jazzcellar"]
    assert names(await search("prefix=.*")) == []
    page = await search("prefix=night&limit=2")
    assert page["total"] == 3 and page["hasMore"] is True and len(page["items"]) == 2
    assert (await search("prefix=night&limit=2&offset=2"))["hasMore"] is False
    assert all("email" not in u["account"] for u in page["items"])
    assert (await c.get("/api/users/search?limit=21")).status == 400
    assert (await c.get("/api/users/search?role=admin")).status == 400


def _image_form() -> FormData:
    form = FormData()
    form.add_field("file", b"\x89PNG\r\n\x1a\n...", filename="me.png", content_type="image/png")
    return form


class ImageHooks:
    """The image hooks as the media plugin defines them, for a plugin that stands in for it."""

    @hookspec(firstresult=True)
    def media_store_image(self, kernel, kind, entity_id, request):
        """Store an uploaded image."""

    @hookspec(firstresult=True)
    def media_delete_image(self, kernel, kind, entity_id):
        """Delete a stored image."""


class ImageStore:
    """A third-party image store replacing the media plugin: it defines and implements the image hooks."""

    def __init__(self):
        self.stored = {}

    @hookimpl
    def eventonight_hookspecs(self):
        return ImageHooks

    @hookimpl
    async def media_store_image(self, kernel, kind, entity_id, request):
        reader = await request.multipart()
        part = await reader.next()
        self.stored[(kind, entity_id)] = await part.read()
        return {"url": f"https://img.example/{kind}/{entity_id}.png"}

    @hookimpl
    async def media_delete_image(self, kernel, kind, entity_id):
        return self.stored.pop((kind, entity_id), None) is not None


async def test_avatar_without_a_media_plugin_is_501(platform, register, settings):
    p = await platform(settings_override=Settings(**{**settings.model_dump(), "disabled_plugins": ["media"]}))
    alice = await register(p.client, "alice")
    path, auth = f"/api/users/{alice['user']['id']}/avatar", bearer(alice["accessToken"])
    response = await p.client.post(path, data=_image_form(), headers=auth)
    assert response.status == 501
    assert "media plugin" in (await response.json())["message"]
    assert (await p.client.delete(path, headers=auth)).status == 501
    assert (await p.client.get(f"/api/users/{alice['user']['id']}")).status == 200


async def test_avatar_goes_through_the_image_hook(platform, register, bus_tap, settings):
    tap = await bus_tap("user.updated")
    store = ImageStore()
    without_media = Settings(**{**settings.model_dump(), "disabled_plugins": ["media"]})
    p = await platform(extra_plugins=[("images", store)], settings_override=without_media)
    alice = await register(p.client, "alice")
    mallory = await register(p.client, "mallory")
    path, auth = f"/api/users/{alice['user']['id']}/avatar", bearer(alice["accessToken"])
    assert (await p.client.post(path, data=_image_form(), headers=bearer(mallory["accessToken"]))).status == 403
    response = await p.client.post(path, data=_image_form(), headers=auth)
    assert response.status == 200
    url = f"https://img.example/avatar/{alice['user']['id']}.png"
    assert (await response.json())["profile"]["avatarUrl"] == url
    [event] = await tap.wait_for("user.updated")
    assert event["payload"]["avatarUrl"] == url
    assert (await p.client.delete(path, headers=auth)).status == 204
    assert (await (await p.client.get(f"/api/users/{alice['user']['id']}")).json())["profile"]["avatarUrl"] is None
    assert store.stored == {}


class Badge:
    @hookimpl(optionalhook=True)
    def users_public_profile(self, user_id, profile):
        return {"badge": f"early-bird:{profile['account']['username']}"}


class BrokenExtension:
    @hookimpl(optionalhook=True)
    async def users_public_profile(self, user_id):
        raise RuntimeError("extension bug")


async def test_plugins_extend_the_public_profile_and_a_failing_one_is_left_out(platform, register):
    p = await platform(extra_plugins=[("badge", Badge()), ("broken", BrokenExtension())])
    alice = await register(p.client, "alice")
    response = await p.client.get(f"/api/users/{alice['user']['id']}")
    assert response.status == 200
    assert (await response.json())["extensions"] == {"badge": {"badge": "early-bird:alice"}}


async def test_without_extensions_the_profile_has_no_extensions_key(platform, register):
    p = await platform()
    alice = await register(p.client, "alice")
    assert "extensions" not in await (await p.client.get(f"/api/users/{alice['user']['id']}")).json()
