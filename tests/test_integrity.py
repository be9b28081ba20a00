"""Damaged index files are detected on load (checksums in the manifest) with a clear error, never wrong answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.article import Article
from corpus.chunk import Chunker
from index import store
from index.manifest import IndexCorrupt
from index.reader import IndexReader
from index.update import Writer
from tests.conftest import FakeEmbedder


def _build(path: Path) -> IndexReader:
    articles = [Article(id=f"a{i}", title=f"Story {i}", date=f"2024-03-0{i + 1}", origin=f"t:{i}",
                        text=f"The port authority in town {i} bought {i + 2} cranes. The mayor approved it.")
                for i in range(5)]
    with Writer(path, FakeEmbedder.name, Chunker(), FakeEmbedder) as w:
        w.ingest(articles)
    return IndexReader(path)


def test_manifest_records_a_checksum_for_every_generation_file(tmp_path: Path) -> None:
    reader = _build(tmp_path / "index")
    files = reader.manifest.files
    assert "vectors-1.faiss" in files and any(name.startswith("bm25-1/") for name in files)
    assert all(value.startswith("sha256:") for value in files.values())


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
@pytest.mark.parametrize("target", ["vectors-1.faiss", "bm25-1/ids.npy"])
def test_damaged_file_is_a_clear_error(tmp_path: Path, damage: str, target: str) -> None:
    path = tmp_path / "index"
    _build(path)
    victim = path / target
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # one byte in the middle: same size, different content
        middle = len(data) // 2
        victim.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    else:
        victim.unlink()
    with pytest.raises(IndexCorrupt) as err:
        IndexReader(path)
    assert str(victim) in str(err.value) and "newsqa rebuild" in str(err.value)


def test_unreadable_metadata_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "index"
    _build(path)
    for name in (store.DB_NAME + "-wal", store.DB_NAME + "-shm"):
        (path / name).unlink(missing_ok=True)
    (path / store.DB_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexCorrupt, match="cannot be read"):
        IndexReader(path)


def test_next_update_heals_a_damaged_vector_file_from_the_stored_vectors(tmp_path: Path) -> None:
    path = tmp_path / "index"
    before = _build(path)
    expected = before.vector(before.table.ids[0])
    victim = path / "vectors-1.faiss"
    data = victim.read_bytes()
    victim.write_bytes(data[:-100] + bytes(100))
    new = Article(id="b", title="Late story", date="2024-04-01", origin="t:b", text="The harbour reopened today.")
    with Writer(path, FakeEmbedder.name, Chunker(), FakeEmbedder) as w:
        w.ingest([new])
    after = IndexReader(path)
    assert after.manifest.generation == 2 and after._vectors.ntotal == after.manifest.chunks == 6
    assert (after.vector(after.table.ids[0]) == expected).all()
