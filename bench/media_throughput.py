"""Media: upload and fetch throughput (MB/s) of a ~1 MB image through the API vs the minio client directly.

Run by hand: ``.venv/bin/python bench/media_throughput.py``. Both paths use the same
S3 endpoint (moto's server mode on loopback) in the same run.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import urllib.request

from _common import free_port, start_eventonight, start_mongo, wait_http
from minio import Minio
from moto.server import ThreadedMotoServer
from PIL import Image

ROUNDS = 20


def noise_png() -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (600, 580), os.urandom(600 * 580 * 3)).save(out, format="PNG")
    return out.getvalue()


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "benchboundary7f3a"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def request(url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    with urllib.request.urlopen(req) as response:
        return response.read()


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    moto.start()
    endpoint = "{}:{}".format(*moto.get_host_and_port())
    mongo = start_mongo()
    port = free_port()
    web = start_eventonight(
        "web",
        mongo.uri,
        port,
        media_s3_endpoint=endpoint,
        media_s3_access_key="bench",
        media_s3_secret_key="bench",
        media_s3_secure="false",
        media_s3_bucket="bench-media",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health")
        registered = json.loads(request(
            f"{base}/api/users/register",
            json.dumps({"username": "bench", "email": "b@example.org", "password": "bench password", "role": "member"}).encode(),
            {"Content-Type": "application/json"},
        ))  # fmt: skip
        auth = {"Authorization": f"Bearer {registered['accessToken']}"}
        user_id = registered["user"]["id"]
        image = noise_png()
        mb = len(image) / 1e6
        client = Minio(endpoint, access_key="bench", secret_key="bench", secure=False)
        if not client.bucket_exists("direct"):
            client.make_bucket("direct")

        start = time.perf_counter()
        for i in range(ROUNDS):
            client.put_object("direct", f"img{i}.png", io.BytesIO(image), len(image), "image/png")
        direct_up = ROUNDS * mb / (time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(ROUNDS):
            response = client.get_object("direct", f"img{i}.png")
            response.read()
            response.close()
            response.release_conn()
        direct_down = ROUNDS * mb / (time.perf_counter() - start)

        body, content_type = multipart(image)
        start = time.perf_counter()
        for _ in range(ROUNDS):
            stored = json.loads(
                request(f"{base}/api/media/avatar/{user_id}", body, {**auth, "Content-Type": content_type}, "PUT")
            )
        api_up = ROUNDS * mb / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(ROUNDS):
            request(base + stored["url"])
        api_down = ROUNDS * mb / (time.perf_counter() - start)

        print(f"image: {len(image) / 1e6:.2f} MB PNG, {ROUNDS} rounds, sequential")
        print(f"upload  direct {direct_up:6.1f} MB/s  API {api_up:6.1f} MB/s  API/direct {api_up / direct_up:.2f}")
        print(
            f"fetch   direct {direct_down:6.1f} MB/s  API {api_down:6.1f} MB/s  API/direct {api_down / direct_down:.2f}"
        )
    finally:
        web.terminate()
        web.wait(10)
        mongo.stop()
        moto.stop()


if __name__ == "__main__":
    main()
