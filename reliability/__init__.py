"""The reliability and security suite behind ``make reliability`` (not part of ``make test``).

Each part is a module of this package with ``NAME``, ``TITLE`` and ``run(quick: bool) -> Result``;
``python -m reliability [PART ...] [--quick]`` runs them, writes each one's figures to
``bench/results/reliability/<part>.json`` and regenerates ``docs/reliability.md`` from every result
file present. ``quick`` is the small version that ``make test`` runs as a smoke test
(``tests/unit/test_reliability_smoke.py``); the full version is what the docs report.
"""
