"""Benchmarks of prio-stream, one module per suite: `python -m benchmarks [SUITE ...]`."""
