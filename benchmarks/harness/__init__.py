"""benchmarks/bench.py's parts: the rows (plan), their data (datasets), the measurements run in worker
processes (measures, protocol), the medians (stats), the table and plot (report)."""
