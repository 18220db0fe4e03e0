"""Benchmarks: `make bench` (or `python -m bench [name ...]`). Each prints ratios against a
floor measured in the same run, on the same machine: the hello-world route, WeasyPrint
alone, a raw sqlite3 insert. No timing assertions live in tests; they live here."""
