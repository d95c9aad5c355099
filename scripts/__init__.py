"""The repository's scripts: benchmarks, stress tests, the GPU check and the case-study
pages. Each runs as a file (``python3 scripts/bench_trainer.py``); the package is how tests
import the pieces they check (``from scripts import bench``), with no path set by hand."""
