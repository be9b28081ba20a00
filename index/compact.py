"""An 8-bit copy of an exact index's rows, for a faster first pass of the same exact search.

The exact top-k is a memory-bound scan of n x d float32 (57,602 x 384 = 88 MB per query). The copy holds each
component as one byte (FAISS's 8-bit scalar quantiser: a quarter of the bytes; on the dev index, top 100 of
the as-of filtered rows 3.3 -> 2.2 ms). It is built in memory when a generation loads (0.2 s, 22 MB), never
saved. (FAISS's "direct" 8-bit codes would scan faster, but they quantise the query too.)

Results are exactly those of the float scan: every row's approximate score is within a bound of its exact one
(the largest rounding error per dimension, measured when the copy is built, weighted by the query), so the
exact top k lie among the rows the copy scores within twice that bound of its k-th best. Those few rows are
then scored by the float index itself (the same FAISS code, hence the same scores and order); when the first
pass did not look deep enough to be sure, the float index scans everything as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEPTH = 3  # rows the first pass returns per row wanted; measured enough for every dev question (2x: 85 %)
BLOCK = 8192  # rows decoded at a time when measuring the error: bounds the temporary float copy
# float32 sums of d terms are off by at most ~d ulps of their absolute sum; twice that, to be safe
ROUNDING = 2.0 * float(np.finfo(np.float32).eps)


class CompactRows:
    """The rows of a flat index as bytes, and how far any decoded row is from the true one per dimension."""

    def __init__(self, matrix: np.ndarray) -> None:
        import faiss

        n, dim = matrix.shape
        # per-dimension ranges: on the dev index a bound of 0.012 vs 0.018 for one range over all dimensions
        self.codes = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        self.codes.train(matrix)  # the range of each dimension
        self.codes.add(matrix)
        self.error = np.zeros(dim, dtype=np.float32)  # largest |row - decoded row| per dimension
        self.norm = 0.0  # largest |row| and |decoded row| (1 for unit vectors)
        for start in range(0, n, BLOCK):
            block = matrix[start:start + BLOCK]
            decoded = self.codes.reconstruct_n(start, len(block))
            self.error = np.maximum(self.error, np.abs(block - decoded).max(axis=0))
            self.norm = max(self.norm, float(np.sqrt(max((block * block).sum(axis=1).max(),
                                                         (decoded * decoded).sum(axis=1).max()))))

    def search(self, flat: Any, query: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest rows of flat (whose rows this copy holds): the same arrays as
        vectors.search_rows(flat, query, k, allowed)."""
        from index import vectors

        query = np.asarray(query, dtype=np.float32).reshape(-1)
        depth = min(DEPTH * k, self.codes.ntotal)
        if k <= 0 or depth <= k:
            return vectors.search_rows(flat, query, k, allowed)
        approx, rows = vectors.search_rows(self.codes, query, depth, allowed)
        if rows[-1] < 0:  # fewer allowed rows than depth: all of them were scored
            return vectors.search_rows(flat, query, k, allowed)
        threshold = approx[k - 1] - 2 * self._bound(query)
        if approx[-1] >= threshold:  # a row beyond depth might still belong in the top k
            return vectors.search_rows(flat, query, k, allowed)
        candidates = np.zeros(flat.ntotal, dtype=bool)
        candidates[rows[approx >= threshold]] = True
        return vectors.search_rows(flat, query, k, candidates)

    def _bound(self, query: np.ndarray) -> float:
        """Largest |approximate - exact| score of any row: the bytes' rounding, plus float rounding in both
        sums (of d terms whose absolute values add up to at most |q| |row|)."""
        rounding = 2 * len(query) * ROUNDING * float(np.linalg.norm(query)) * self.norm
        return float(np.abs(query) @ self.error) + rounding
