"""Embed chunks, store vectors and metadata, update incrementally, save and load atomically."""
