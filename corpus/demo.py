"""The demo archive bundled with the package: our own invented articles, JSONL and scraped text."""

from __future__ import annotations

from pathlib import Path


def demo_dir() -> Path:
    return Path(__file__).resolve().parent / "demo"
