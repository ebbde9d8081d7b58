"""Benchmarks: timings live here, never in the test suite."""
