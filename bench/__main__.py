"""Run wake's benchmarks and write bench/RESULTS.md.

    python -m bench                      # every case, 5 runs each (medians)
    python -m bench --runs 3 --cases noop,hashing
    python -m bench --scale 10,100,500   # the app counts of the scale case
    python -m bench --runs 3 --cases deploy

Needs a Docker engine and the base image (scripts/ensure-env.sh, wake base bootstrap);
the deploy case needs a current cluster (`wake clusters use`; a local one) and installs
docker-compose if it is missing. Work files live in $WAKE_BENCH_DIR (default
/var/tmp/wake-bench) and are reused. RESULTS.md keeps the sections of the cases not run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shlex
import sys
from pathlib import Path

from . import cases, deploys, incremental, scale, sizes, support

CASES = ("noop", "hashing", "incremental", "sizes", "scale", "profile", "deploy")
RESULTS = support.ROOT / "bench" / "RESULTS.md"


def table(rows: list[cases.Row]) -> str:
    lines = ["| case | wake | time | the alternative | time | alternative / wake |",
             "|---|---|---:|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.case} | `{r.wake}` | {r.wake_s:.3f} s | {r.other} | "
                     f"{r.other_s:.3f} s | **{r.ratio:.1f}x** |")
    notes = [f"- {r.case}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def incremental_rows(results: list[incremental.Result]) -> list[cases.Row]:
    rows = []
    for r in results:
        source = incremental.CASES[r.app][0]
        pulled = sorted(n.rsplit(":", 1)[-1] for n, a in r.fresh_actions.items()
                        if a == "pulled" and n.startswith("build:"))
        built = sorted(n.rsplit(":", 1)[-1] for n, a in r.fresh_actions.items() if a == "built")
        rows.append(cases.Row(
            f"one file edited ({source}), {r.app}, warm engine", f"doit build:{r.app}",
            r.warm_wake, "`docker build` of a lock-file-first multi-stage Dockerfile, warm "
            "layer cache", r.warm_docker))
        if r.fresh_wake is None or r.fresh_docker is None:
            continue
        rows.append(cases.Row(
            f"one file edited, {r.app}, fresh engine + registry", f"doit build:{r.app}",
            r.fresh_wake, "`docker pull` of the previous image and of its build stage + "
            "`docker build --cache-from` both + `docker push` of both", r.fresh_docker,
            f"{r.app} on a fresh engine: wake pulled {', '.join(pulled) or 'nothing'} of the "
            f"app (dependencies included, not reinstalled) and built and pushed "
            f"{', '.join(built)}; the Dockerfile pushed its new image and build stage, the "
            "next run's cache"))
    return rows


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


def deploy_section(noop: cases.Row, rollouts: list[deploys.Rollout]) -> str:
    # The run with the median total (the lower middle of an even count): its parts add up.
    mid = sorted(rollouts, key=lambda r: r.total_s)[(len(rollouts) - 1) // 2]
    total = mid.total_s

    def part(what: str, seconds: float, how: str) -> str:
        return f"| {what} | {seconds:.1f} s | {seconds / total:.0%} | {how} |"

    transfer = (f"{mid.pulls} pulls: each `pulling` line to its `started` line" if mid.pulls
                else "0 on a local cluster: the host's engine is the build engine, so no "
                "image is pushed or pulled")
    lines = [
        table([noop]), "",
        f"One-file rollout: `doit deploy:{deploys.SITE}` after appending a comment to "
        f"config.ru ({deploys.SITE} is bestsiteever copied into the bench folder, with cpu "
        "shares cut to fit beside it on the local host; the edit changes every process's "
        "release image, so all 3 instances are replaced, start-first, one after another). "
        "The split of the run with the median total, from the deploy's output lines, each "
        "stamped as it arrived:", "",
        "| part | time | share | measured as |", "|---|---:|---:|---|",
        part(f"the whole `doit deploy:{deploys.SITE}`", total, "wall time of the command"),
        part(f"build ({mid.stages_built} stages built)", mid.build_s,
             f"the first build task's line to the `deploy:{deploys.SITE}` task's line"),
        part("push / pull", mid.transfer_s, transfer),
        part(f"start to passing ({len(mid.instances)} new instances)", mid.passing_s,
             "each instance's `started` line to its `passing` line, summed"),
        part("wake's own time", mid.own_s, "the rest"),
        part(f"- of it: taking the {mid.stops} old instances out", mid.stop_s,
             "out of Consul, the drain wait, docker stop: wake's figures on its "
             "`out of Consul, stopped` lines"),
        part("- of it: everything else", mid.own_s - mid.stop_s,
             "Python and doit start-up, Consul reads, the plan, creating containers, "
             "release records"), "",
        "Start to passing per instance: " + ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in mid.instances)
        + f". The deploy's own figure: {mid.wake_says_s:.1f} s from its first line to "
        "`is current`. Each run's total (build): "
        + ", ".join(f"{r.total_s:.1f} s ({r.build_s:.1f} s)" for r in rollouts) + "."]
    return "\n".join(lines)


STAMP = re.compile(r"^_?Measured (?P<when>.+?) by `(?P<command>[^`]+)`", re.MULTILINE)


def merge(old: str, header: str, sections: list[str]) -> str:
    """The report: `header`, then each section of the old report with this run's version
    of it where there is one (same `## ` title), then this run's new sections. An old
    section without its own "Measured" line gets the one of the old report's header."""
    def titled(text: str) -> tuple[str, dict[str, str]]:
        parts = re.split(r"^(?=## )", text, flags=re.MULTILINE)
        return parts[0], {part.splitlines()[0]: part.rstrip() for part in parts[1:]}

    old_header, kept = titled(old)
    stamp = STAMP.search(old_header)
    for title, body in kept.items():
        if stamp and not STAMP.search(body):
            rest = body[len(title):].lstrip("\n")
            kept[title] = (f"{title}\n\n_Measured {stamp['when']} by "
                           f"`{stamp['command']}`._\n\n{rest}")
    kept.update(titled("\n\n".join(sections))[1])
    return "\n\n".join([header.rstrip(), *kept.values()]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: "
                        + ", ".join(CASES))
    parser.add_argument("--scale", default="10,100,500", help="app counts for the scale case")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "bench",
                          *(sys.argv[1:] if argv is None else argv)])
    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(chosen) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    app_counts = tuple(int(n) for n in args.scale.split(","))

    support.WORK.mkdir(parents=True, exist_ok=True)
    # The deploy case deploys to the user's current cluster (their clusters.json).
    user_home = os.environ.get("WAKE_HOME") or str(Path.home() / ".wake")
    os.environ["WAKE_HOME"] = str(support.WORK / "home")
    for var in ("WAKE_WORKSPACE", "WAKE_PLATFORMS_PATH", "WAKE_REGISTRY", "WAKE_NO_CACHE"):
        os.environ.pop(var, None)
    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if ca.is_file():
        os.environ.setdefault("WAKE_CA_BUNDLE", str(ca))

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    measured = f"_Measured {stamp} by `{command}`._\n\n"
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
            say("one file edited: wake vs a lock-file-first Dockerfile, warm and fresh "
                "engines (minutes) ...")
            rows += incremental_rows(incremental.measure(args.runs))
        if "sizes" in chosen:
            say("release image sizes beside the same base + runtime packages by hand ...")
            sections.append("## Image sizes\n\n" + measured + sizes.table(sizes.measure(url)))
        if "deploy" in chosen:
            say("deploys: a no-op beside docker-compose, then one-file rollouts ...")
            noop, rollouts = deploys.deploy(args.runs, url, {"WAKE_HOME": user_home})
            sections.append("## Deploy to a local cluster\n\n" + measured
                            + deploy_section(noop, rollouts))
    if rows:
        sections.insert(0, "## wake against what a user would otherwise run\n\n" + measured
                        + table(rows))
    if "scale" in chosen:
        say(f"scale {app_counts} (the first run builds the synthetic apps: many minutes) ...")
        sections.append("## Scale: tiny apps with 3 processes each\n\n" + measured
                        + scale_table(scale.scale(args.runs, app_counts)))
    if "profile" in chosen:
        say(f"profiling the no-op of {max(app_counts)} apps ...")
        out = support.ROOT / "bench" / f"profile-noop-{max(app_counts)}.txt"
        scale.profile(max(app_counts), out)
        sections.append(f"## Profile\n\n{measured}A pyinstrument profile of the no-op build of "
                        f"{max(app_counts)} apps (in-process doit run) is in `{out.name}`.")

    header = "\n\n".join([
        "# wake benchmarks",
        "Each section says when and by which command it was measured (sections of cases "
        "not run since stay as they were): medians of `--runs` runs, each wake figure "
        "beside its alternative measured in the same run. Ratios are what matter; absolute "
        "times are for context (machines are noisy). Every command is timed end to end as "
        "a user runs it, Python start-up included.",
        f"Machine (at {stamp}): {support.machine()}."])
    old = args.output.read_text() if args.output.is_file() else ""
    report = merge(old, header, sections)
    args.output.write_text(report)
    print("\n\n".join([header, *sections]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
