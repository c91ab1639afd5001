"""Benchmarks of interview-bot; ``python -m benchmarks`` writes docs/PERFORMANCE.md."""
