"""Benchmarks run by hand or `make bench`: measured figures, printed with units."""
