"""Hypothesis settings of the fuzz tests: a fixed, derandomized sample in CI
(the same examples every run, a bounded time), a longer random campaign on
demand: INSTRACK_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz_submissions.py"""

import os

from hypothesis import HealthCheck, settings

_CAMPAIGN = os.environ.get("INSTRACK_FUZZ_EXAMPLES")


def fuzz(ci_examples: int, campaign_share: float = 1.0) -> settings:
    """`ci_examples` per test in CI; when INSTRACK_FUZZ_EXAMPLES is set, that
    many times `campaign_share` (for slow tests), from a random seed."""
    return settings(
        max_examples=max(1, int(int(_CAMPAIGN) * campaign_share)) if _CAMPAIGN else ci_examples,
        derandomize=not _CAMPAIGN,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
