"""Checksums of a generation's files, recorded in the manifest at write time and verified when loaded.

A truncated or altered vector or BM25 file must be a clear error, never silently wrong answers.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from threading import Lock

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


# Files verified before, by (path, inode, size, mtime): an index's files are written once and then only read, so
# a generation that reuses a segment or the vectors' base file verifies only what is new (at 10^6 chunks hashing
# every file again took seconds per update). A file changed on disk gets a new size or mtime and is hashed again.
_VERIFIED: dict[tuple[str, int, int, int], str] = {}
_VERIFIED_LOCK = Lock()


def _checked_digest(path: Path) -> str:
    st = os.stat(path)
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    with _VERIFIED_LOCK:
        known = _VERIFIED.get(key)
    if known is None:
        known = digest(path)
        with _VERIFIED_LOCK:
            if len(_VERIFIED) > 100_000:
                _VERIFIED.clear()
            _VERIFIED[key] = known
    return known


def verify(index_dir: Path, expected: dict[str, str], prefix: str) -> None:
    """Raise IndexCorrupt when a recorded file under `prefix` is missing or differs from its checksum."""
    for name, want in expected.items():
        if not name.startswith(prefix):
            continue
        path = index_dir / name
        if not path.is_file():
            raise IndexCorrupt(f"index file {path} is missing. The index cannot be trusted; run: "
                               f"newsqa rebuild --index {index_dir}")
        if _checked_digest(path) != want:
            raise IndexCorrupt(f"index file {path} does not match the checksum recorded when it was written "
                               f"(truncated or changed on disk). Run: newsqa rebuild --index {index_dir}")
