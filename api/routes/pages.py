"""The chat page and its static files (packaged in api/static, served by name from an allow-list of types)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
DOCS_ASSETS = "/static-offline-docs"  # where fastapi-offline mounts the Swagger UI and ReDoc files


@router.get("/", response_class=HTMLResponse)
def page() -> HTMLResponse:
    return HTMLResponse(resources.files("api").joinpath("static/index.html").read_text(encoding="utf-8"))


@router.get("/favicon.ico")
def favicon() -> Response:
    """The page icon (an SVG: browsers go by the content type, not the name); without it every page load logs a
    404 in the browser's console."""
    return static("favicon.svg")


@router.get("/static/{name}")
def static(name: str) -> Response:
    suffix = name[name.rfind("."):] if "." in name else ""
    if "/" in name or suffix not in STATIC_TYPES:
        raise HTTPException(404, "not found")
    path = resources.files("api").joinpath(f"static/{name}")
    if not path.is_file():
        raise HTTPException(404, "not found")
    return Response(path.read_bytes(), media_type=STATIC_TYPES[suffix])


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc from the packaged script, without Google Fonts; its one outside request (the Redocly logo, which
    it hides when missing) is refused by the page's content policy, so nothing leaves the machine."""
    root = request.scope.get("root_path", "")
    page = get_redoc_html(openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - ReDoc",
                          redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js", with_google_fonts=False,
                          redoc_favicon_url=f"{root}/favicon.ico")
    page.headers["Content-Security-Policy"] = "img-src 'self' data: blob:"
    return page
