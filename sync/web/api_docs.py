"""Interactive API documentation, off unless ``CLINIC_SYNC_API_DOCS`` is on (SPEC §8).

FastAPI's own ``/docs`` and ``/redoc`` pull Swagger UI and ReDoc from a CDN (floating
versions, no integrity check) onto the admin's origin; the app turns both off. With the
setting on, Swagger UI is served from the ``swagger-ui-bundle`` package — a pinned
copy, nothing fetched from elsewhere — at ``/admin/api-docs``, to signed-in users only
(the session cookie is scoped to ``/admin``), under the admin UI's content security
policy widened only by ``script-src 'self'`` and ``connect-src 'self'`` (Swagger UI is a
script; it fetches ``/openapi.json``). ReDoc is not served. ``/docs`` sends there.
"""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from swagger_ui_bundle import swagger_ui_path

from sync.store.users import WebSession
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import signed_in_for
from sync.web.admin.views import SECURITY_HEADERS

__all__ = ["DOCS_PATH", "DOCS_SECURITY_HEADERS", "api_docs_router"]

DOCS_PATH = "/admin/api-docs"
DOCS_SECURITY_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"]
    + "; script-src 'self'; connect-src 'self'",
}
_BUNDLE = Path(swagger_ui_path)
_OWN = Path(__file__).with_name("api_docs_assets")
# The only files served, and from where: no path from the request reaches the disk.
_ASSETS = {
    "swagger-ui.css": (_BUNDLE, "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (_BUNDLE, "text/javascript; charset=utf-8"),
    "swagger-ui-standalone-preset.js": (_BUNDLE, "text/javascript; charset=utf-8"),
    "favicon-32x32.png": (_BUNDLE, "image/png"),
    "init.js": (_OWN, "text/javascript; charset=utf-8"),
}
_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>clinic-sync API</title>
<link rel="stylesheet" href="{DOCS_PATH}/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="{DOCS_PATH}/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_PATH}/assets/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/assets/swagger-ui-standalone-preset.js"></script>
<script src="{DOCS_PATH}/assets/init.js"></script>
</body>
</html>
"""


def api_docs_router(context: AdminContext) -> APIRouter:
    """The documentation page, its assets, and ``/docs`` pointing at it."""
    router = APIRouter(include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]

    @router.get("/docs")
    def docs() -> Response:
        return RedirectResponse(DOCS_PATH, status_code=303)

    @router.get(DOCS_PATH)
    def page(_web: signed_in) -> Response:
        return HTMLResponse(_PAGE, headers=DOCS_SECURITY_HEADERS)

    @router.get(DOCS_PATH + "/assets/{name}")
    def asset(_web: signed_in, name: str) -> Response:
        if name not in _ASSETS:
            raise HTTPException(404, "no such asset")
        folder, media_type = _ASSETS[name]
        body = (folder / name).read_bytes()
        headers = {**DOCS_SECURITY_HEADERS, "Cache-Control": "private, max-age=3600"}
        return Response(body, media_type=media_type, headers=headers)

    return router
