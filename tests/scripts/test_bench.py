"""scripts/bench.py, the benchmarks' harness: the result file's one layout, the verdict, the
machine record's keys and a measurement in a fresh process. No timing is checked."""

from __future__ import annotations

import argparse
import json
import os

import pytest

from scripts import bench


def test_a_verdict_is_met_missed_or_not_run(capsys):
    assert bench.verdict("ratio", 3.92, 2.5, "x")["met"] is True
    assert bench.verdict("step / bound", 1.4, 1.3, "x", higher=False)["met"] is False
    assert bench.verdict("share", 0.6, 0.6, higher=False)["met"] is True  # the edge counts
    assert bench.verdict("not measured", None, 1.2, "x") == {
        "name": "not measured",
        "value": None,
        "target": 1.2,
        "unit": "x",
        "higher_is_better": True,
        "met": None,
    }
    assert capsys.readouterr().out.splitlines() == [
        "target ratio: >= 2.5x: met (3.92x)",
        "target step / bound: <= 1.3x: MISSED (1.4x)",
        "target share: <= 0.6: met (0.6)",
        "target not measured: >= 1.2x: not run",
    ]


def test_the_common_arguments():
    parser = argparse.ArgumentParser()
    bench.add_common_args(parser, ["fp32", "bf16"], default=["fp32"], many=True)
    args = parser.parse_args(["--precision", "fp32", "bf16", "--threads", "2", "--json", "a"])
    assert (args.precision, args.threads, str(args.json)) == (["fp32", "bf16"], 2, "a")
    parser = argparse.ArgumentParser()
    bench.add_common_args(parser, threads=False)
    with pytest.raises(SystemExit):
        parser.parse_args(["--precision", "fp32"])


def square(x: int) -> dict:
    return {"x": x * x, "pid": os.getpid()}


def test_a_measurement_runs_in_a_process_of_its_own():
    out = bench.fresh(square, 3)
    assert out["x"] == 9 and out["pid"] != os.getpid()


def test_the_result_file_has_one_layout_and_the_machine_record_its_keys(tmp_path):
    machine = bench.Machine("cpu", ["fp32"], threads=1)
    record = machine.record()
    for key in ("python", "torch", "optuna", "transformers", "numpy", "hpsearch", "cpu"):
        assert key in record, key
    assert record["torch_threads"] == 1 and list(record["gemm_flops"]) == ["fp32"]
    assert set(record["memory_bandwidth"]) == {"sum", "copy", "matvec"}
    assert len(record["load_average_before"]) == len(record["load_average_after"]) == 3
    assert record["other_cpu_share"] >= 0.0
    args = argparse.Namespace(json=tmp_path / "out.json", threads=1)
    verdicts = [bench.verdict("speed-up", 1.5, 1.2, "x")]
    bench.save(args.json, "bench_x", args, record, [{"name": "a"}], verdicts, {"n": 3})
    saved = json.loads(args.json.read_text())
    assert list(saved) == [
        "benchmark", "created", "machine", "args", "setup", "results", "verdicts"
    ]  # fmt: skip
    assert saved["benchmark"] == "bench_x" and saved["args"]["json"] == str(args.json)
    assert saved["verdicts"][0]["met"] is True and saved["setup"] == {"n": 3}
    by_name = bench.save(None, "bench_x", args, record, {"a": {"x": 1}}, [])
    assert by_name["results"] == [{"name": "a", "x": 1}]  # nothing written without a path
