"""The chat page and its static files (packaged in api/static, served by name from an allow-list of types)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@router.get("/", response_class=HTMLResponse)
def page() -> HTMLResponse:
    return HTMLResponse(resources.files("api").joinpath("static/index.html").read_text(encoding="utf-8"))


@router.get("/static/{name}")
def static(name: str) -> Response:
    suffix = name[name.rfind("."):] if "." in name else ""
    if "/" in name or suffix not in STATIC_TYPES:
        raise HTTPException(404, "not found")
    path = resources.files("api").joinpath(f"static/{name}")
    if not path.is_file():
        raise HTTPException(404, "not found")
    return Response(path.read_bytes(), media_type=STATIC_TYPES[suffix])
