"""Benchmark scripts: run each as a module from the repository root, e.g.
`python -m benchmarks.pipeline_benchmark` (the Makefile's `benchmarks` target runs them all)."""
