"""The badges example against the real stack, with the users plugin installed beside it."""

import eventonight_badges.plugin as badges
import eventonight_badges_newcomer as newcomer

from eventonight.hooks.testing import publish_event, wait_until

PLUGINS = [("badges", badges), ("badges_newcomer", newcomer)]


async def _register(p, username):
    response = await p.client.post(
        "/api/users/register",
        json={
            "username": username,
            "email": f"{username}@example.org",
            "password": "a long password 1",
            "role": "member",
        },
    )
    assert response.status == 201, await response.text()
    return (await response.json())["user"]["id"]


async def _badges(p, user_id):
    return (await (await p.client.get(f"/api/badges/users/{user_id}")).json())["badges"]


async def test_badges_from_both_plugins_reach_the_route_the_profile_and_the_bus(platform, bus_tap, settings):
    tap = await bus_tap("badges.#")
    p = await platform(extra_plugins=PLUGINS)
    user_id = await _register(p, "ada")  # user.created: the newcomer plugin's rule
    publish_event(settings, "interactions.like.created", {"userId": user_id, "eventId": "e1"})  # our own rule
    await wait_until(lambda: _badges_equal(p, user_id, ["fan", "newcomer"]), 15)

    profile = await (await p.client.get(f"/api/users/{user_id}")).json()
    assert profile["extensions"] == {"badges": {"badges": ["fan", "newcomer"]}}
    awarded = await tap.wait_for("badges.awarded", 2)
    assert sorted(m["payload"]["badge"] for m in awarded) == ["fan", "newcomer"]


async def _badges_equal(p, user_id, expected):
    return await _badges(p, user_id) == expected


async def test_a_badge_is_awarded_once_however_often_it_is_earned(platform, settings):
    p = await platform(extra_plugins=PLUGINS)
    for _ in range(3):
        publish_event(settings, "interactions.like.created", {"userId": "u1", "eventId": "e1"})
    sentinel = publish_event(settings, "interactions.like.created", {"userId": "u2", "eventId": "e1"})
    await wait_until(lambda: _badges_equal(p, "u2", ["fan"]), 15)
    assert sentinel and await _badges(p, "u1") == ["fan"]
    assert await p.kernel.read.collection("badges_awards").count_documents({"userId": "u1"}) == 1


async def test_without_the_badges_plugin_its_partner_loads_and_profiles_are_unchanged(platform):
    p = await platform(extra_plugins=[("badges_newcomer", newcomer)])
    assert "badges_newcomer" in p.kernel.plugins.loaded, p.kernel.plugins.failed
    user_id = await _register(p, "bobby")
    profile = await (await p.client.get(f"/api/users/{user_id}")).json()
    assert "extensions" not in profile
    assert (await p.client.get(f"/api/badges/users/{user_id}")).status == 404
