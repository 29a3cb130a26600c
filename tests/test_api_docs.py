"""Interactive API documentation at /api/docs, loaded in a real headless browser (issue 15)."""

import asyncio
import shutil
import tempfile

import pytest

from eventonight.hooks.testing import free_port

BROWSER_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


async def test_the_docs_page_renders_every_plugins_operations_offline_in_chromium(platform):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("Chromium is needed for this test: apt-get install chromium (scripts/test does it as root)")
    port = free_port()
    await platform(public_port=port)
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=20000",
            "--dump-dom", f"http://127.0.0.1:{port}/api/docs",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        dom, _ = await asyncio.wait_for(process.communicate(), 120)
    page = dom.decode()
    # Swagger UI fetched the document and rendered it: operations of the kernel and of plugins.
    assert 'class="swagger-ui' in page, page[:2000]
    for summary in ("Register a member or organization", "Liveness", "Order tickets"):
        assert summary in page, summary
    assert "opblock-tag" in page and "users" in page and "ticketing" in page


async def test_the_docs_files_come_from_the_platform_with_a_policy_that_lets_them_run(platform):
    p = await platform()
    page = await p.client.get("/api/docs")
    assert page.status == 200 and page.content_type == "text/html"
    assert (
        "script-src" not in page.headers["Content-Security-Policy"]
        and "'self'" in page.headers["Content-Security-Policy"]
    )
    text = await page.text()
    assert "http" not in text.replace("http-equiv", ""), "no CDN: every file is served from here"
    script = await p.client.get("/api/docs/swagger-ui-bundle.js")
    assert script.status == 200 and script.content_type == "text/javascript" and len(await script.read()) > 100_000
    assert (await p.client.get("/api/docs/index.j2")).status == 404, "only the page's own files"
    assert (await p.client.get("/api/docs/..%2Fsetup.py")).status == 404
