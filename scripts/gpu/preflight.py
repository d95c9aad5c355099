"""The GPU check's first look: versions, the GPU, and that the bundle works; writes env.json.

Usage:
    python3 scripts/gpu/preflight.py OUTDIR --data DIR [--device cuda]

Prints and saves (``OUTDIR/env.json``) the Python packages the check uses with their
versions and where they come from (the machine, or the bundle's wheels), and the GPU. Then
checks, each on its own so that one failure does not hide the next: the bundled packages
import; ``minilm`` resolves to a model that loads with float32 weights (transformers 5
loads a float16 checkpoint as float16 unless its config says otherwise); and a few Quora
pairs of ``--data`` load and tokenize through hpsearch. Exit code 1 when a check fails.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import platform
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "peft",
    "optuna",
    "optuna-dashboard",
    "sqlalchemy",
    "pydantic",
    "pydantic-core",
    "typing-extensions",
    "datasets",
    "pyarrow",
    "fsspec",
    "huggingface-hub",
    "pandas",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "rich",
    "typer",
)
BUNDLED_MODULES = ("optuna", "optuna_dashboard", "pydantic", "datasets", "sqlalchemy")


def versions() -> dict[str, dict[str, str | None]]:
    """Each package's version and the folder it is installed in (None: not installed)."""
    found = {}
    for name in PACKAGES:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = {"version": None, "location": None}
            continue
        found[name] = {"version": dist.version, "location": str(dist.locate_file(""))}
    return found


def gpu(device: str) -> dict[str, object]:
    import torch

    info: dict[str, object] = {
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
    }
    if device == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(
            name=props.name,
            memory_gib=round(props.total_memory / 2**30, 1),
            capability=f"{props.major}.{props.minor}",
            multiprocessors=props.multi_processor_count,
            bf16=torch.cuda.is_bf16_supported(),
        )
    return info


def check_imports() -> str:
    for module in BUNDLED_MODULES:
        importlib.import_module(module)
    return "imported " + ", ".join(BUNDLED_MODULES)


def check_model() -> str:
    import torch

    from hpsearch.data.pretrained import resolve_model
    from hpsearch.train.models import build_model

    model = build_model("minilm", num_labels=2, kind="classification", num_hidden_layers=2)
    dtypes = {p.dtype for p in model.parameters()}
    if dtypes != {torch.float32}:
        raise AssertionError(f"minilm must load with float32 weights, but got {dtypes}")
    layers = model.config.num_hidden_layers
    return f"minilm = {resolve_model('minilm')}: float32 weights, {layers} layers"


def check_data(data: Path) -> str:
    from hpsearch.data.encode import DataCache
    from hpsearch.spec.validate import parse_spec

    spec = parse_spec(
        {
            "study": {"name": "preflight"},
            "task": {
                "name": "local",
                "train_file": str(data / "quora-train.tsv"),
                "validation_file": str(data / "quora-dev.tsv"),
                "text_fields": ["sentence1", "sentence2"],
                "label_field": "is_duplicate",
                "max_train_samples": 64,
                "max_eval_samples": 32,
            },
            "model": {"name": "minilm"},
        }
    )
    encoded = DataCache().encoded(spec)
    return f"Quora from {data}: {len(encoded.train)} + {len(encoded.validation)} pairs encoded"


def run_checks(checks: dict[str, Callable[[], str]]) -> dict[str, dict[str, str]]:
    results = {}
    for name, check in checks.items():
        try:
            results[name] = {"ok": "yes", "detail": check()}
        except Exception as e:  # report every check, whatever breaks it
            traceback.print_exc()
            results[name] = {"ok": "no", "detail": f"{type(e).__name__}: {e}"}
        print(f"{name}: {results[name]['ok']}: {results[name]['detail']}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="folder of quora-*.tsv")
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    args = parser.parse_args(argv)
    env = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions(),
        "gpu": gpu(args.device),
    }
    for name, where in env["packages"].items():
        print(f"{name:<18} {where['version'] or 'missing':<14} {where['location'] or ''}")
    print(json.dumps(env["gpu"]), flush=True)
    env["checks"] = run_checks(
        {
            "imports": check_imports,
            "model": check_model,
            "data": lambda: check_data(args.data),
        }
    )
    args.outdir.mkdir(parents=True, exist_ok=True)
    (args.outdir / "env.json").write_text(json.dumps(env, indent=2) + "\n")
    return 0 if all(c["ok"] == "yes" for c in env["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
