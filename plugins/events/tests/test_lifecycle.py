"""Creating, editing, publishing, cancelling, completing and deleting events; visibility and roles."""

from datetime import UTC, datetime, timedelta

from eventonight.hooks import Conflict, hookimpl
from eventonight.hooks.testing import wait_until


def future(days=10) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def complete(**overrides) -> dict:
    body = {
        "title": "Warehouse Techno Night",
        "description": "All night long",
        "date": future(),
        "location": {"name": "Tresor", "city": "Berlin", "country": "DE", "lat": 52.51, "lon": 13.42},
        "tags": ["techno", "club-night"],
        "status": "PUBLISHED",
    }
    body.update(overrides)
    return body


async def test_only_organizations_create_events(platform, account):
    p = await platform()
    member = await account(p, "alice")
    assert (await p.client.post("/api/events", json=complete())).status == 401
    assert (await p.client.post("/api/events", json=complete(), headers=member.headers)).status == 403
    org = await account(p, "club", role="organization")
    response = await p.client.post("/api/events", json=complete(), headers=org.headers)
    assert response.status == 201, await response.text()
    event = await response.json()
    assert event["status"] == "PUBLISHED" and event["creatorId"] == org.id
    assert event["date"].endswith("Z")


async def test_published_events_need_title_future_date_and_location(platform, account):
    p = await platform()
    org = await account(p, "club", role="organization")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    cases = [
        (complete(title=""), "title"),
        (complete(date=past), "date"),
        (complete(location=None), "location"),
        (complete(location={"name": "somewhere"}), "location"),
        (complete(tags=["polka"]), "tags"),
    ]
    for body, field in cases:
        response = await p.client.post("/api/events", json=body, headers=org.headers)
        assert response.status == 400, body
        assert (
            field in {d["field"] for d in (await response.json()).get("details", [])}
            or field in (await response.json())["message"]
        )
    for body in (complete(date="2027-01-01T20:00:00"), complete(location={"lat": 10}), complete(extra=1)):
        assert (await p.client.post("/api/events", json=body, headers=org.headers)).status == 400
    # A city without coordinates is enough; so is a draft with nothing but a title.
    assert (
        await p.client.post("/api/events", json=complete(location={"city": "Paris"}), headers=org.headers)
    ).status == 201
    assert (await p.client.post("/api/events", json={"title": "Idea"}, headers=org.headers)).status == 201
    assert await p.kernel.read.collection("events_events").count_documents({}) == 2


async def test_drafts_are_invisible_to_others_and_lifecycle_transitions(platform, account):
    p = await platform()
    c = p.client
    org = await account(p, "club", role="organization")
    partner = await account(p, "partner", role="organization")
    stranger = await account(p, "stranger")
    draft = await (
        await c.post("/api/events", json={"title": "Secret", "collaborators": [partner.id]}, headers=org.headers)
    ).json()
    path = f"/api/events/{draft['id']}"
    assert draft["status"] == "DRAFT"
    assert (await c.get(path)).status == 404
    assert (await c.get(path, headers=stranger.headers)).status == 404
    assert (await c.get(path, headers=partner.headers)).status == 200
    assert (await c.put(path, json={"title": "x"}, headers=stranger.headers)).status == 404

    # Incomplete: cannot be published yet.
    assert (await c.post(f"{path}/publish", headers=org.headers)).status == 400
    update = {"date": future(), "location": {"city": "Berlin", "lat": 52.5, "lon": 13.4}, "tags": ["jazz"]}
    response = await c.put(path, json=update, headers=partner.headers)
    assert response.status == 200, await response.text()
    published = await c.post(f"{path}/publish", headers=partner.headers)
    assert published.status == 200 and (await published.json())["status"] == "PUBLISHED"
    assert (await c.get(path)).status == 200
    assert (await c.post(f"{path}/publish", headers=org.headers)).status == 409

    # Published: strangers now get 403 on edits; collaborators cannot cancel, delete or change collaborators.
    assert (await c.put(path, json={"title": "x"}, headers=stranger.headers)).status == 403
    assert (await c.post(f"{path}/cancel", headers=partner.headers)).status == 403
    assert (await c.delete(path, headers=partner.headers)).status == 403
    assert (await c.put(path, json={"collaborators": []}, headers=partner.headers)).status == 403
    # Editing a published event keeps it publishable.
    assert (await c.put(path, json={"location": None}, headers=org.headers)).status == 400

    cancelled = await c.post(f"{path}/cancel", headers=org.headers)
    assert (await cancelled.json())["status"] == "CANCELLED"
    assert (await c.post(f"{path}/cancel", headers=org.headers)).status == 409
    assert (await c.post(f"{path}/publish", headers=org.headers)).status == 409
    assert (await c.put(path, json={"title": "again"}, headers=org.headers)).status == 409
    assert (await c.get(path)).status == 404
    assert (await c.get(path, headers=org.headers)).status == 200

    # Once published, an event is cancelled, never erased (followers, likers, ticket holders knew it).
    refused = await c.delete(path, headers=org.headers)
    assert refused.status == 409 and "cancel" in (await refused.json())["message"]
    assert (await c.get(path, headers=org.headers)).status == 200


async def test_only_drafts_are_deleted_a_published_event_is_cancelled_instead(platform, account):
    p = await platform()
    c = p.client
    org = await account(p, "club", role="organization")
    draft = await (await c.post("/api/events", json={"title": "Maybe"}, headers=org.headers)).json()
    assert (await c.delete(f"/api/events/{draft['id']}", headers=org.headers)).status == 204
    assert (await c.get(f"/api/events/{draft['id']}", headers=org.headers)).status == 404
    live = await (await c.post("/api/events", json=complete(), headers=org.headers)).json()
    assert live["status"] == "PUBLISHED"
    assert (await c.delete(f"/api/events/{live['id']}", headers=org.headers)).status == 409
    shown = await c.get(f"/api/events/{live['id']}")
    assert shown.status == 200 and (await shown.json())["status"] == "PUBLISHED", "nothing changed"


async def test_collaborators_must_be_known_organizations(platform, account):
    p = await platform()
    org = await account(p, "club", role="organization")
    member = await account(p, "alice")
    for collaborators in ([member.id], ["no-such-user"], [org.id]):
        response = await p.client.post("/api/events", json=complete(collaborators=collaborators), headers=org.headers)
        assert response.status == 400, collaborators


async def test_every_transition_is_published_on_the_broker(platform, account, bus_tap):
    tap = await bus_tap("event.#")
    p = await platform()
    c = p.client
    org = await account(p, "club", role="organization")
    partner = await account(p, "partner", role="organization")
    created = await (await c.post("/api/events", json=complete(collaborators=[partner.id]), headers=org.headers)).json()
    path = f"/api/events/{created['id']}"
    await c.put(path, json={"title": "Renamed"}, headers=org.headers)
    await c.post(f"{path}/cancel", headers=org.headers)
    draft = await (await c.post("/api/events", json={"title": "Draft"}, headers=org.headers)).json()
    await c.delete(f"/api/events/{draft['id']}", headers=org.headers)
    [deleted] = await tap.wait_for("event.deleted")
    assert deleted["payload"]["eventId"] == draft["id"] and deleted["payload"]["status"] == "DRAFT"
    for event_type in ("event.created", "event.published", "event.updated", "event.cancelled"):
        [message] = [m for m in await tap.wait_for(event_type) if m["payload"]["eventId"] == created["id"]]
        payload = message["payload"]
        assert payload["eventId"] == created["id"] and payload["creatorId"] == org.id
        assert payload["collaboratorIds"] == [partner.id] and payload["city"] == "Berlin"
        assert set(payload) == {
            "eventId",
            "title",
            "date",
            "creatorId",
            "collaboratorIds",
            "status",
            "city",
            "posterUrl",
        }
    assert tap.of_type("event.updated")[0]["payload"]["title"] == "Renamed"
    assert tap.of_type("event.cancelled")[0]["payload"]["status"] == "CANCELLED"


async def test_past_published_events_are_completed_by_the_scheduled_job(platform, account, bus_tap):
    from eventonight_events.plugin import services

    tap = await bus_tap("event.completed")
    p = await platform()
    org = await account(p, "club", role="organization")
    created = await (await p.client.post("/api/events", json=complete(), headers=org.headers)).json()
    draft = await (await p.client.post("/api/events", json={"title": "draft"}, headers=org.headers)).json()
    # Let time pass: move the event's date into the past, as the clock eventually would.
    past = datetime.now(UTC) - timedelta(hours=1)
    await p.kernel.read.collection("events_events").update_many({}, {"$set": {"date": past}})
    assert await services(p.kernel).commands.complete_due() == 1
    assert (await (await p.client.get(f"/api/events/{created['id']}")).json())["status"] == "COMPLETED"
    assert (await (await p.client.get(f"/api/events/{draft['id']}", headers=org.headers)).json())["status"] == "DRAFT"
    [message] = await tap.wait_for("event.completed")
    assert message["payload"]["eventId"] == created["id"]
    assert await services(p.kernel).commands.complete_due() == 0
    assert (await p.client.post(f"/api/events/{created['id']}/cancel", headers=org.headers)).status == 409


async def test_deleted_organization_leaves_collaborator_lists(platform, account):
    p = await platform()
    org = await account(p, "club", role="organization")
    partner = await account(p, "partner", role="organization")
    created = await (
        await p.client.post("/api/events", json=complete(collaborators=[partner.id]), headers=org.headers)
    ).json()
    own = await (await p.client.post("/api/events", json=complete(), headers=partner.headers)).json()
    assert (await p.client.delete(f"/api/users/{partner.id}", headers=partner.headers)).status == 204

    async def removed():
        event = await (await p.client.get(f"/api/events/{created['id']}")).json()
        return event["collaborators"] == []

    await wait_until(removed)
    assert (await p.client.get(f"/api/events/{own['id']}")).status == 404


async def test_poster_without_media_plugin_is_501(platform, account, settings):
    from eventonight.hooks.testing import Settings

    p = await platform(settings_override=Settings(**{**settings.model_dump(), "disabled_plugins": ["media"]}))
    org = await account(p, "club", role="organization")
    other = await account(p, "other", role="organization")
    created = await (await p.client.post("/api/events", json=complete(), headers=org.headers)).json()
    path = f"/api/events/{created['id']}/poster"
    assert (await p.client.post(path, data=b"x", headers=other.headers)).status == 403
    response = await p.client.post(path, data=b"x", headers=org.headers)
    assert response.status == 501 and "media plugin" in (await response.json())["message"]


class NoShanties:
    """A third party's veto on publishing, through the hook the events plugin defines."""

    def __init__(self):
        self.seen = []

    @hookimpl(optionalhook=True)
    def events_validate_publish(self, event):
        self.seen.append(event["title"])
        if "shanty" in event["title"].lower():
            raise Conflict("no sea shanties on this platform", field="title")


async def test_a_plugin_can_veto_publishing_and_nothing_is_stored(platform, account):
    veto = NoShanties()
    p = await platform(extra_plugins=[("no-shanties", veto)])
    org = await account(p, "club", role="organization")
    refused = await p.client.post("/api/events", json=complete(title="Sea Shanty Night"), headers=org.headers)
    assert refused.status == 409
    assert (await refused.json())["details"][0]["field"] == "title"
    assert await p.kernel.read.collection("events_events").count_documents({}) == 0

    draft = await p.client.post(
        "/api/events", json=complete(title="Shanty Rehearsal", status="DRAFT"), headers=org.headers
    )
    assert draft.status == 201, "drafts are not vetted: they are not public"
    draft_id = (await draft.json())["id"]
    assert (await p.client.post(f"/api/events/{draft_id}/publish", headers=org.headers)).status == 409
    event = await (await p.client.get(f"/api/events/{draft_id}", headers=org.headers)).json()
    assert event["status"] == "DRAFT"
    accepted = await p.client.post("/api/events", json=complete(title="Techno Night"), headers=org.headers)
    assert accepted.status == 201
    assert veto.seen == ["Sea Shanty Night", "Shanty Rehearsal", "Techno Night"]
