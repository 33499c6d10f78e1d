"""The reliability bench's generated bad input at the issue's size (``colony bench reliability``
reports the same figures; ``test_reliability.py`` runs the command at a tenth of it)."""

from __future__ import annotations

import pytest

from benchmarks.fuzz import fuzz

pytestmark = pytest.mark.integration  # real DuckDB files


@pytest.mark.slow
def test_ten_thousand_generated_cases_end_in_a_clear_error_or_a_result() -> None:
    result = fuzz(10_000)
    assert result["fuzz_cases"] >= 10_000  # the floor, run here in full
    assert result["unhandled_examples"] == [] and result["unhandled_exceptions"] == 0
    assert result["integrity_problems"] == []
    assert result["unclear_rejections"] == 0, result["unclear_examples"]
    assert result["rejections"] > 0  # the cases do reach the checks
