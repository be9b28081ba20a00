"""RankingParams: the defaults are valid, out-of-range values are refused; the commentary flags of headlines."""

from __future__ import annotations

import pytest

from qa.ranking import RankingParams, commentary_flags


@pytest.mark.parametrize("change", [{"article_dense_weight": 1.2}, {"chunk_dense_weight": -0.1},
                                    {"passage_dense_weight": 2.0}, {"chunk_bm25_share": 1.5}, {"fusion": "sum"}])
def test_out_of_range_parameters_are_refused(change: dict[str, object]) -> None:
    [name] = change
    with pytest.raises(ValueError, match=f"RankingParams.{name} must be"):
        RankingParams(**change)  # type: ignore[arg-type]


def test_commentary_flags_are_per_headline_in_order() -> None:
    titles = ["Opinion: the port strike", "Dock workers strike over pay", None, "Morning briefing: strike ends"]
    assert commentary_flags(titles).tolist() == [True, False, False, True]
    assert commentary_flags([]).dtype == bool and len(commentary_flags([])) == 0
