"""The parts of scripts/benchmark_speed.py, one job per module; run the benchmark through that script.

    python scripts/benchmark_speed.py --help

Modules: runs (composing, building and timing one run), plain_loop, equivalence, timing, report,
and one module per section: overhead (lightning, profile), constraints, fid, data.
"""
