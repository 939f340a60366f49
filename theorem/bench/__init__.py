"""Benchmarks: each module has ``main(argv) -> int`` and prints ratios measured in one run."""
