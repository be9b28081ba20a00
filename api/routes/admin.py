"""The index as a whole: health, statistics, background rebuilds and their progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from api.deps import UNAVAILABLE, WRITE_ERRORS, EngineDep, JobsDep, SettingsDep, WriteAccess, WriteLock, errors
from api.models import JobOut, OverviewOut
from api.overview import overview
from qa.engine import writer

router = APIRouter()


@router.get("/api/stats", summary="What the index holds, and the log of ingest runs", responses=errors(503))
def stats(engine: EngineDep) -> dict[str, Any]:
    engine.reader.refresh()
    return engine.reader.stats()


@router.get("/api/overview", response_model=OverviewOut, responses=errors(503),
            summary="What the archive holds, with example questions (the chat page's first screen)")
def archive_overview(engine: EngineDep) -> dict[str, Any]:
    engine.reader.refresh()
    return overview(engine.reader)


@router.get("/api/health", summary="Liveness and index readiness")
def health(request: Request) -> dict[str, Any]:
    try:
        engine = request.app.state.engine.get()
        engine.reader.refresh()
    except UNAVAILABLE as exc:
        return {"status": "no-index", "detail": str(exc)}
    return {"status": "ok", "articles": engine.reader.manifest.articles,
            "generation": engine.reader.manifest.generation}


@router.post("/api/index/rebuild", response_model=JobOut, status_code=202, dependencies=[WriteAccess],
             summary="Re-chunk and re-embed everything in the background; queries use the old index meanwhile",
             responses=WRITE_ERRORS)
def rebuild(engine: EngineDep, settings: SettingsDep, jobs: JobsDep, lock: WriteLock) -> dict[str, Any]:
    def work(progress: Any) -> dict[str, Any]:
        with lock, writer(settings, get_embedder=lambda: engine.searcher.embedder, for_rebuild=True,
                          on_progress=progress) as w:
            return w.rebuild().to_dict()

    return jobs.start("rebuild", work).to_dict()


@router.get("/api/jobs/{job_id}", response_model=JobOut, summary="Progress of a background job",
            responses=errors(404))
def job(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    found = jobs.get(job_id)
    if found is None:
        raise HTTPException(404, f"no job with id '{job_id}'")
    return found.to_dict()
