"""Benchmarks against floors: ``python -m bench`` (see README, "Tests and benchmarks")."""
