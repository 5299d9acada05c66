"""Settings for `bench/wrk_bench.py`'s server: production's (cpor.settings, from the same
environment), serving the benchmark's bare views beside the site (bench.bare_views). Nothing else
changes, so the pages are measured as production runs them."""

from cpor.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_views"
