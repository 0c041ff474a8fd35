"""Floe benchmarks: ``python -m bench [--quick] [--only SECTION ...]``.

Writes ``bench/results/results.json`` and ``bench/results/results.md`` and prints the table.
Every comparison measures both contenders in the same run, alternating, and reports the
median and the interquartile range. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the real-service starters the tests use

from bench import audit_trail, sections, size, soak, startup  # noqa: E402
from services import start_moto, start_postgres  # noqa: E402

SECTIONS = ("startup", "open", "data", "services", "throughput", "size", "leases", "copy", "audit", "soak")
# run only when named (--only soak): it takes --soak-seconds per database
OPT_IN = ("soak",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes and shorter runs (under 3 minutes)"
    )
    parser.add_argument("--only", nargs="*", choices=SECTIONS, help="run only these sections")
    parser.add_argument(
        "--soak-seconds",
        type=float,
        default=600.0,
        metavar="S",
        help="how long the soak runs on each database (default 600)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results", help="where to write the results"
    )
    args = parser.parse_args(argv)
    import icechunk

    icechunk.set_logs_filter("error")  # the local-folder concurrency warning would drown the table
    chosen = args.only or [s for s in SECTIONS if s not in OPT_IN]
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="floe-bench-"))
    started = time.monotonic()
    results: dict[str, object] = {
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    moto = start_moto(work)
    postgres = start_postgres(work / "pg")
    try:
        ctx = sections.Context(work=work, quick=args.quick, moto=moto, postgres=postgres)
        if "startup" in chosen:
            results["startup"] = startup.startup(ctx)
        if "open" in chosen:
            results["open"] = sections.open_overhead(ctx)
        if "data" in chosen:
            results["data"] = sections.data_path(ctx)
        if "services" in chosen:
            results["services"] = sections.data_services(ctx)
        if "throughput" in chosen:
            results["throughput"] = sections.throughput(ctx)
        if "size" in chosen:
            results["size"] = size.size(ctx)
        if "leases" in chosen:
            results["leases"] = sections.leases(ctx)
        if "copy" in chosen:
            results["copy"] = sections.copy_repo(ctx)
        if "audit" in chosen:
            results["audit"] = audit_trail.audit_trail(ctx)
        if "soak" in chosen:
            results["soak"] = soak.soak(ctx, args.soak_seconds)
    finally:
        moto.stop()
        if postgres is not None:
            postgres.stop()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    table = sections.markdown(results)
    if "startup" in results:
        table += "\n" + "\n".join(startup.markdown(results["startup"]))
    if "size" in results:
        table += "\n" + "\n".join(size.markdown(results["size"]))
    if "audit" in results:
        table += "\n" + "\n".join(audit_trail.markdown(results["audit"]))
    if "soak" in results:
        table += "\n" + "\n".join(soak.markdown(results["soak"]))
    (args.out / "results.md").write_text(table)
    print(table)
    print(f"\n(wrote {args.out / 'results.json'} and results.md in {results['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
