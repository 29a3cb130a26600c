"""Interactive API documentation at ``/api/docs``: Swagger UI from a pinned Python package (no CDN,
the platform works offline), reading the same ``/api/openapi.json`` the clients use."""

from __future__ import annotations

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

#: Files of the bundle the page loads; nothing else of the package is served.
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
    "init.js": "text/javascript",
}
# Swagger UI sets inline styles and shows inline SVG images; scripts come from here only.
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>eventonight API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/init.js"></script>
</body>
</html>
"""
# A file, not an inline script: the page's policy allows scripts from this origin only.
INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    persistAuthorization: false
  });
};
"""


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", headers={"Content-Security-Policy": CSP})


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    body = INIT.encode() if name == "init.js" else (swagger_ui_path / name).read_bytes()
    return web.Response(
        body=body,
        content_type=ASSETS[name],
        headers={"Cache-Control": "public, max-age=86400", "Content-Security-Policy": CSP},
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/api/docs", page), web.get("/api/docs/{name}", asset)]
