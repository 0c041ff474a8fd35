"""Start-up cost: importing Floe and running the CLI, against a bare Python interpreter.

Each contender is a fresh ``python`` process (so nothing is cached in memory between runs), timed
from start to exit; the baseline is ``python -c pass`` on the same interpreter, in the same run,
alternating with the others. What is reported is the median and the time added to the baseline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from bench.stats import alternate

# What a person or a script starts, as Python code run by a fresh interpreter.
CONTENDERS = {
    "python -c pass (baseline)": "pass",
    "import floe": "import floe",
    "from floe import Client": "from floe import Client",
    "floe.Client() (no request)": "import floe; floe.Client(service_uri='http://127.0.0.1:9', token='x').close()",
    "floe --help": "import sys; sys.argv = ['floe', '--help']\nfrom floe.cli.main import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
    "floe version": "import sys; sys.argv = ['floe', 'version']\nfrom floe.cli.main import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
}

# Modules a plain ``import floe`` must not load (they come in on first use).
HEAVY = (
    "icechunk",
    "zarr",
    "numpy",
    "xarray",
    "boto3",
    "botocore",
    "azure.storage.blob",
    "google.auth",
    "rich",
)


def _run(code: str) -> Callable[[], object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}

    def run() -> None:
        subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return run


def _loaded_by(statement: str) -> list[str]:
    """Which of :data:`HEAVY` a fresh interpreter has loaded after ``statement``."""
    code = f"{statement}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return out.split()


def startup(ctx: Any) -> dict[str, Any]:
    """Median wall time of each contender, and what it adds to ``python -c pass``."""
    rounds = 5 if ctx.quick else 15
    samples = alternate({name: _run(code) for name, code in CONTENDERS.items()}, rounds=rounds)
    baseline = samples["python -c pass (baseline)"].median
    result: dict[str, Any] = {}
    for name, sample in samples.items():
        result[name] = {
            **sample.as_dict(),
            "added_ms": round((sample.median - baseline) * 1000, 1),
            "ratio": round(sample.median / baseline, 2),
        }
    result["heavy modules loaded by import floe"] = _loaded_by("import floe")
    result["heavy modules loaded by from floe import Client"] = _loaded_by("from floe import Client")
    return result


def markdown(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Start-up: fresh interpreter, import or CLI command, vs `python -c pass`",
        "",
        "| contender | median ms (IQR) | added ms | ratio to baseline |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        if not isinstance(r, dict):
            continue
        ms = [round(r[k] * 1000, 1) for k in ("median_s", "p25_s", "p75_s")]
        lines.append(f"| {name} | {ms[0]} ({ms[1]}-{ms[2]}) | {r['added_ms']} | {r['ratio']:.2f}x |")
    for key in ("heavy modules loaded by import floe", "heavy modules loaded by from floe import Client"):
        lines.append(f"\n{key.capitalize()}: {', '.join(results[key]) or 'none'}")
    lines.append("")
    return lines
