"""Run wake's benchmarks and write bench/RESULTS.md.

    python -m bench                      # every case, 5 runs each (medians)
    python -m bench --runs 3 --cases noop,hashing
    python -m bench --scale 10,100,500   # the app counts of the scale case

Needs a Docker engine and the base image (scripts/ensure-env.sh, wake base bootstrap).
Work files live in $WAKE_BENCH_DIR (default /var/tmp/wake-bench) and are reused.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

from . import cases, scale, support

CASES = ("noop", "hashing", "incremental", "scale", "profile")
RESULTS = support.ROOT / "bench" / "RESULTS.md"


def table(rows: list[cases.Row]) -> str:
    lines = ["| case | wake | time | the alternative | time | alternative / wake |",
             "|---|---|---:|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.case} | `{r.wake}` | {r.wake_s:.3f} s | {r.other} | "
                     f"{r.other_s:.3f} s | **{r.ratio:.1f}x** |")
    notes = [f"- {r.case}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def scale_table(rows: list[scale.ScaleRow]) -> str:
    lines = ["| apps | stages | `doit list --all` | no-op `doit build` | per app (no-op) | "
             "Docker API calls (no-op) |", "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.apps} | {r.stages} | {r.list_s:.2f} s | {r.noop_s:.2f} s | "
                     f"{r.noop_s / r.apps * 1000:.1f} ms | {r.api_calls} |")
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        slope = (last.noop_s - first.noop_s) / (last.apps - first.apps) * 1000
        lines.append(f"\nGrowth: {slope:.1f} ms per extra app between {first.apps} and "
                     f"{last.apps} apps. Up to 600 stages wake inspects each stage's image "
                     "(constant cost per stage, whatever the engine holds); above that it "
                     "lists the engine's images once.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: "
                        + ", ".join(CASES))
    parser.add_argument("--scale", default="10,100,500", help="app counts for the scale case")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(chosen) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    sizes = tuple(int(n) for n in args.scale.split(","))

    support.WORK.mkdir(parents=True, exist_ok=True)
    os.environ["WAKE_HOME"] = str(support.WORK / "home")
    for var in ("WAKE_WORKSPACE", "WAKE_PLATFORMS_PATH", "WAKE_REGISTRY", "WAKE_NO_CACHE"):
        os.environ.pop(var, None)
    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if ca.is_file():
        os.environ.setdefault("WAKE_CA_BUNDLE", str(ca))

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    rows: list[cases.Row] = []
    sections = []
    with support.git_server(support.WORK / "git", {
            "cache-buster": support.ROOT / "examples" / "bestsiteever-cache-buster"}) as url:
        if "noop" in chosen:
            say("no-op checks ...")
            rows += cases.noop(args.runs, url)
        if "hashing" in chosen:
            say("tree hashing ...")
            rows += cases.hashing(args.runs)
        if "incremental" in chosen:
            say("incremental rebuild vs cold build (the cold builds take minutes) ...")
            rows += cases.incremental(args.runs, url)
    if rows:
        sections.append("## wake against what a user would otherwise run\n\n" + table(rows))
    if "scale" in chosen:
        say(f"scale {sizes} (the first run builds the synthetic apps: many minutes) ...")
        sections.append("## Scale: tiny apps with 3 processes each\n\n"
                        + scale_table(scale.scale(args.runs, sizes)))
    if "profile" in chosen:
        say(f"profiling the no-op of {max(sizes)} apps ...")
        out = support.ROOT / "bench" / f"profile-noop-{max(sizes)}.txt"
        scale.profile(max(sizes), out)
        sections.append(f"## Profile\n\nA pyinstrument profile of the no-op build of "
                        f"{max(sizes)} apps (in-process doit run) is in `{out.name}`.")

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report = "\n\n".join([
        "# wake benchmarks",
        f"Measured {stamp} by `python -m bench --runs {args.runs}`: medians of "
        f"{args.runs} runs, each wake figure beside its alternative measured in the same "
        "run. Ratios are what matter; absolute times are for context (machines are noisy). "
        "Every command is timed end to end as a user runs it, Python start-up included.",
        f"Machine: {support.machine()}.",
        *sections]) + "\n"
    args.output.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
