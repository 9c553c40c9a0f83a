"""Benchmarks: timings live here, never in tests (``make bench``)."""
