"""dangol's benchmarks: each module is one benchmark, run with `python -m bench.<name>`.

They measure the product as it is (service layer, HTTP server, readers) against a
baseline taken in the same run on the same machine, and report medians over repeats.
See BENCHMARKS.md for the commands and the figures."""
