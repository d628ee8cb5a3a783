"""``python -m bench``: run every benchmark and write bench/RESULTS.md (see bench/report.py)."""

from bench.report import main

main()
