"""Images through the API into a local directory and into S3 (moto's server, driven by the minio client)."""

import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import FormData
from minio import Minio
from moto.server import ThreadedMotoServer
from PIL import Image

from eventonight.hooks.testing import free_port, wait_until

KNOWN = ("events_users",)


def image(width=64, height=48, fmt="PNG", color=(200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format=fmt)
    return out.getvalue()


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: random pixels."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, format="PNG")
    return out.getvalue()


def form(*files) -> FormData:
    data = FormData()
    for name, content, content_type in files:
        data.add_field("file", content, filename=name, content_type=content_type)
    return data


def png_form(content=None, name="me.png") -> FormData:
    return form((name, content if content is not None else image(), "image/png"))


async def body(response, status=200):
    assert response.status == status, await response.text()
    return await response.json()


@pytest.fixture(scope="session")
def s3():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture
def use_s3(s3, monkeypatch, run_id):
    bucket = f"media-{run_id}-{datetime.now(UTC).strftime('%H%M%S%f')}"
    for key, value in {
        "S3_ENDPOINT": s3,
        "S3_ACCESS_KEY": "testing",
        "S3_SECRET_KEY": "testing",
        "S3_BUCKET": bucket,
        "S3_SECURE": "false",
    }.items():
        monkeypatch.setenv(f"EVENTONIGHT_MEDIA_{key}", value)
    return Minio(s3, access_key="testing", secret_key="testing", secure=False), bucket


async def test_avatar_upload_serve_and_cache_headers(platform, account):
    p = await platform()
    alice = await account(p, "alice", known_in=())
    response = await p.client.post(f"/api/users/{alice.id}/avatar", data=png_form(), headers=alice.headers)
    url = (await body(response))["profile"]["avatarUrl"]
    assert url.startswith(f"/api/media/avatar/{alice.id}/") and url.endswith(".png")
    served = await p.client.get(url)
    assert served.status == 200 and served.headers["Content-Type"] == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    assert Image.open(io.BytesIO(await served.read())).size == (64, 48)
    again = await p.client.get(url, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status == 304
    assert (await p.client.get("/api/media/avatar/nobody/nothing.png")).status == 404
    assert (await p.client.get("/api/media/../../etc/passwd")).status == 404


async def test_direct_upload_makes_a_thumbnail_downscales_and_reaches_the_profile(platform, account):
    p = await platform()
    alice = await account(p, "alice", known_in=())
    stored = await body(
        await p.client.post(f"/api/media/avatar/{alice.id}", data=png_form(image(3000, 1000)), headers=alice.headers),
        201,
    )
    assert (stored["width"], stored["height"]) == (2048, 683)
    thumb = await p.client.get(stored["thumbnailUrl"])
    assert max(Image.open(io.BytesIO(await thumb.read())).size) == 256

    async def profile_updated():
        user = await body(await p.client.get(f"/api/users/{alice.id}"))
        return user["profile"]["avatarUrl"] == stored["url"]

    await wait_until(profile_updated)  # media.image.stored -> users consumer


async def test_rejections_change_nothing(platform, account, monkeypatch, tmp_path):
    monkeypatch.setenv("EVENTONIGHT_MEDIA_MAX_BYTES", str(64 * 1024))
    p = await platform()
    alice = await account(p, "alice", known_in=())
    mallory = await account(p, "mallory", known_in=())
    target = f"/api/media/avatar/{alice.id}"
    cases = [
        (png_form(b"<?php echo 'not an image'; ?>" * 10, name="innocent.png"), alice, 415),
        (png_form(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50), alice, 415),
        (form(("photo.gif", b"GIF89a" + b"\x00" * 100, "image/gif")), alice, 415),
        (png_form(noise_png(300, 300)), alice, 413),
        (png_form(), mallory, 403),
        (form(), alice, 400),
        (form(("a.png", image(), "image/png"), ("b.png", image(), "image/png")), alice, 400),
    ]
    for data, who, status in cases:
        response = await p.client.post(target, data=data, headers=who.headers)
        assert response.status == status, (status, await response.text())
        assert (await response.json())["statusCode"] == status
    assert (await p.client.post(target, json={"file": "x"}, headers=alice.headers)).status == 400
    # An unknown kind: 404 naming the kinds there are (documented in the OpenAPI, unlike a 405).
    unknown = await p.client.post(f"/api/media/banner/{alice.id}", data=png_form(), headers=alice.headers)
    assert unknown.status == 404 and "avatar" in (await unknown.json())["message"]
    assert (await p.client.post(target, data=png_form())).status == 401
    media_dir = p.kernel.settings.data_dir / "media"
    assert not media_dir.exists() or not any(f.is_file() for f in media_dir.rglob("*")), "no partial objects"
    assert await p.kernel.read.collection("media_images").count_documents({}) == 0


async def test_replacing_gives_a_new_url_and_removes_the_old_object(platform, account):
    p = await platform()
    alice = await account(p, "alice", known_in=())
    first = await body(
        await p.client.post(
            f"/api/media/avatar/{alice.id}", data=png_form(image(color=(1, 2, 3))), headers=alice.headers
        ),
        201,
    )
    second = await body(
        await p.client.put(
            f"/api/media/avatar/{alice.id}", data=png_form(image(color=(9, 9, 9))), headers=alice.headers
        )
    )
    assert second["url"] != first["url"]
    assert (await p.client.get(first["url"])).status == 404
    assert (await p.client.get(first["thumbnailUrl"])).status == 404
    assert (await p.client.get(second["url"])).status == 200
    assert (await p.client.delete(f"/api/media/avatar/{alice.id}", headers=alice.headers)).status == 204
    assert (await p.client.get(second["url"])).status == 404
    assert (await p.client.delete(f"/api/media/avatar/{alice.id}", headers=alice.headers)).status == 404


async def test_images_are_deleted_with_their_user_or_event(platform, account):
    p = await platform()
    club = await account(p, "club", role="organization", known_in=KNOWN)
    date = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    event = await body(
        await p.client.post(
            "/api/events",
            json={"title": "Night", "date": date, "location": {"city": "Oslo"}, "status": "DRAFT"},
            headers=club.headers,
        ),
        201,
    )  # a draft: only drafts are deleted
    poster = await body(
        await p.client.post(f"/api/events/{event['id']}/poster", data=png_form(image(800, 1200)), headers=club.headers)
    )
    assert poster["posterUrl"].startswith(f"/api/media/poster/{event['id']}/")
    avatar = await body(await p.client.post(f"/api/users/{club.id}/avatar", data=png_form(), headers=club.headers))
    avatar_url = avatar["profile"]["avatarUrl"]

    assert (await p.client.delete(f"/api/events/{event['id']}", headers=club.headers)).status == 204

    async def poster_gone():
        return (await p.client.get(poster["posterUrl"])).status == 404

    await wait_until(poster_gone)
    assert (await p.client.delete(f"/api/users/{club.id}", headers=club.headers)).status == 204

    async def avatar_gone():
        return (await p.client.get(avatar_url)).status == 404

    await wait_until(avatar_gone)
    assert await p.kernel.read.collection("media_images").count_documents({}) == 0


async def test_s3_store_through_the_minio_client(platform, account, use_s3):
    minio, bucket = use_s3
    p = await platform()
    alice = await account(p, "alice", known_in=())
    stored = await body(
        await p.client.post(
            f"/api/media/avatar/{alice.id}", data=png_form(image(500, 300, fmt="PNG")), headers=alice.headers
        ),
        201,
    )
    assert minio.bucket_exists(bucket), "the bucket is created when missing"
    keys = sorted(o.object_name for o in minio.list_objects(bucket, recursive=True))
    assert keys == sorted(
        [stored["url"].removeprefix("/api/media/"), stored["thumbnailUrl"].removeprefix("/api/media/")]
    )
    served = await p.client.get(stored["url"])
    assert served.status == 200 and served.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(await served.read())).size == (500, 300)

    jpeg = image(200, 100, fmt="JPEG")
    replaced = await body(
        await p.client.put(
            f"/api/media/avatar/{alice.id}", data=form(("x.jpg", jpeg, "image/jpeg")), headers=alice.headers
        )
    )
    assert replaced["url"].endswith(".jpg") and replaced["contentType"] == "image/jpeg"
    keys = sorted(o.object_name for o in minio.list_objects(bucket, recursive=True))
    assert len(keys) == 2 and all(k.endswith(".jpg") for k in keys), "the old objects are gone"
    bad = await p.client.put(
        f"/api/media/avatar/{alice.id}", data=png_form(b"not an image at all, promise"), headers=alice.headers
    )
    assert bad.status == 415
    assert len(list(minio.list_objects(bucket, recursive=True))) == 2
    assert (await p.client.delete(f"/api/media/avatar/{alice.id}", headers=alice.headers)).status == 204
    assert list(minio.list_objects(bucket, recursive=True)) == []


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"--xyz\r\nContent-Disposition form-data; name=file\r\n\r\nabc\r\n--xyz--\r\n", 400),  # no colon
        (b"--xyz\r\n" + b"X: " + b"a" * 70_000 + b"\r\n\r\nabc\r\n--xyz--\r\n", 400),  # a header line too long
        (b"garbage without any boundary", 400),
        # Never closed: what arrived is read as the file, and it is no image.
        (b"--xyz\r\nContent-Disposition: form-data; name=file; filename=a.png\r\n\r\nabc", 415),
    ],
)
async def test_malformed_multipart_bodies_are_4xx_on_avatar_and_poster_uploads(platform, account, raw, status):
    p = await platform()
    club = await account(p, "mpclub", role="organization", known_in=KNOWN)
    date = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    created = await p.client.post(
        "/api/events", json={"title": "Night", "date": date, "location": {"city": "Oslo"}}, headers=club.headers
    )
    event = await body(created, 201)
    headers = {**club.headers, "Content-Type": "multipart/form-data; boundary=xyz"}
    for path in (f"/api/users/{club.id}/avatar", f"/api/events/{event['id']}/poster"):
        response = await p.client.post(path, data=raw, headers=headers)
        assert response.status == status, (path, response.status, await response.text())
        message = (await response.json())["message"]
        assert "multipart" in message or status == 415
    profile = await (await p.client.get(f"/api/users/{club.id}")).json()
    assert profile["profile"]["avatarUrl"] is None, "nothing stored"


def png_bomb(width: int, height: int, grey: bool = True) -> bytes:
    """A valid PNG of width x height blank pixels that compresses to almost nothing (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + width * (1 if grey else 3))  # filter byte + pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if grey else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


async def test_decompression_bombs_are_refused_from_their_header_and_big_photos_are_decoded_reduced(platform, account):
    import asyncio

    p = await platform()
    alice = await account(p, "bombed", known_in=())
    grey = png_bomb(10_950, 10_950)  # the 113 KB, 120-megapixel file of the report
    rgb = png_bomb(9_000, 6_556, grey=False)  # 59 Mpx RGB
    assert len(grey) < 200_000 and len(rgb) < 400_000
    path = f"/api/media/avatar/{alice.id}"
    answers = await asyncio.gather(
        *(p.client.post(path, data=png_form(bomb), headers=alice.headers) for bomb in (grey, rgb, grey, rgb))
    )
    for answer in answers:
        assert answer.status == 413 and "pixels" in (await answer.json())["message"]
    # A real 20-megapixel photo is fine: decoded at a reduced scale, stored at 2048 on its longer side.
    photo = io.BytesIO()
    Image.linear_gradient("L").resize((5_000, 4_000)).convert("RGB").save(photo, format="JPEG", quality=80)
    stored = await body(
        await p.client.post(path, data=form(("p.jpg", photo.getvalue(), "image/jpeg")), headers=alice.headers), 201
    )
    assert (stored["width"], stored["height"]) == (2048, 1638)
