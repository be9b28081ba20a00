"""Settings.from_env: values from NEWSQA_* variables, and a clear error naming the variable for a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.settings import Settings


@pytest.mark.parametrize(("variable", "value"), [
    ("NEWSQA_PORT", "eighty"), ("NEWSQA_TOP_K", "5.0"), ("NEWSQA_DENSE_WEIGHT", "0,7"),
    ("NEWSQA_CHUNK_TOKENS", "200 tokens"), ("NEWSQA_RATE_LIMIT", "none"), ("NEWSQA_MAX_BODY_BYTES", "25MB"),
])
def test_a_value_that_is_not_a_number_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ValueError) as info:
        Settings.from_env({variable: value})
    assert str(info.value) == f"{variable} must be a number, got {value!r}"


def test_an_unknown_backend_is_refused_from_the_environment_and_from_an_override() -> None:
    with pytest.raises(ValueError, match=r"NEWSQA_BACKEND must be auto, torch or onnx-int8, got 'gpu'"):
        Settings.from_env({"NEWSQA_BACKEND": "gpu"})
    with pytest.raises(ValueError, match="NEWSQA_BACKEND"):
        Settings.from_env({}, backend="cuda")


def test_good_values_are_typed_empty_ones_ignored_and_overrides_win(tmp_path: Path) -> None:
    settings = Settings.from_env({"NEWSQA_PORT": "9001", "NEWSQA_DENSE_WEIGHT": "0.5", "NEWSQA_TOP_K": "",
                                  "NEWSQA_INDEX": str(tmp_path / "env-index"), "HOME": str(tmp_path)},
                                 index_dir=tmp_path / "flag-index", host=None)
    assert (settings.port, settings.dense_weight, settings.top_k) == (9001, 0.5, Settings.top_k)
    assert settings.index_dir == tmp_path / "flag-index" and settings.host == Settings.host
    assert Settings.from_env({"HOME": str(tmp_path)}).index_dir == tmp_path / ".local/share/newsqa/index"


def test_ranking_settings_become_ranking_params() -> None:
    from qa.ranking import RankingParams

    assert Settings.from_env({}).ranking_params() == RankingParams()  # the defaults are the measured weights
    params = Settings.from_env({"NEWSQA_DENSE_WEIGHT": "0.45", "NEWSQA_FUSION": "rrf"}).ranking_params()
    assert (params.article_dense_weight, params.fusion) == (0.45, "rrf")
    assert params.chunk_dense_weight == RankingParams.chunk_dense_weight  # chunk-level fusion keeps its own weight
    with pytest.raises(ValueError, match=r"NEWSQA_DENSE_WEIGHT must be between 0 and 1, got 1\.5"):
        Settings.from_env({"NEWSQA_DENSE_WEIGHT": "1.5"}).ranking_params()
    with pytest.raises(ValueError, match=r"NEWSQA_FUSION must be 'score' or 'rrf', got 'sum'"):
        Settings.from_env({"NEWSQA_FUSION": "sum"}).ranking_params()
