"""Checksums of a generation's files, recorded in the manifest at write time and verified when loaded.

A truncated or altered vector or BM25 file must be a clear error, never silently wrong answers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from index.manifest import IndexCorrupt


def digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


def digests(index_dir: Path, paths: list[Path]) -> dict[str, str]:
    """{path relative to the index folder: checksum} of files, and of every file inside folders."""
    out: dict[str, str] = {}
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            out[file.relative_to(index_dir).as_posix()] = digest(file)
    return out


def verify(index_dir: Path, expected: dict[str, str], prefix: str) -> None:
    """Raise IndexCorrupt when a recorded file under `prefix` is missing or differs from its checksum."""
    for name, want in expected.items():
        if not name.startswith(prefix):
            continue
        path = index_dir / name
        if not path.is_file():
            raise IndexCorrupt(f"index file {path} is missing. The index cannot be trusted; run: "
                               f"newsqa rebuild --index {index_dir}")
        if digest(path) != want:
            raise IndexCorrupt(f"index file {path} does not match the checksum recorded when it was written "
                               f"(truncated or changed on disk). Run: newsqa rebuild --index {index_dir}")
