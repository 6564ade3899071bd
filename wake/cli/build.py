"""`wake` commands about builds: init, manifest check, detect, platforms, base, config,
build, plan, prune, graph, explain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import engine, manifest, settings
from ..build import base, platforms
from ..errors import WakeError
from .common import _overrides, _session


def cmd_init(args: argparse.Namespace) -> int:
    from ..build.scaffold import init

    result = init(Path(args.folder), force=args.force)
    apps = ", ".join(f"{app.name} ({app.platform.name}, {path})" for path, app in result.apps)
    if result.one_app_at_root:
        app = result.apps[0][1]
        print(f"one app, the folder itself: {app.name} ({app.platform.name})")
    else:
        print(f"{len(result.apps)} app{'s' if len(result.apps) != 1 else ''}: {apps}")
    for path in result.written:
        print(f"wrote {path}")
    for path in result.unchanged:
        print(f"kept {path} (already as wake init writes it)")
    first = result.apps[0][1].name
    print(f"next, in {result.folder}:")
    print("  doit list                 # the tasks: build:APP, deploy:APP, platform stages")
    print(f"  doit build:{first:<14} # build {first}'s images (only what changed)")
    print(f"  doit deploy:{first:<13} # deploy it to the current cluster (wake clusters add ...)")
    return 0


def cmd_manifest_check(args: argparse.Namespace) -> int:
    registry = platforms.load_all()
    found = manifest.load(Path(args.path), known_platforms=registry)
    detection = platforms.detect(found.root, found.platform, registry)
    print(found.summary())
    print(f"  builds as: {detection.describe()}")
    print("ok")
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    path = Path(args.path)
    root = path.parent if path.is_file() else path
    if not root.is_dir():
        raise WakeError(f"{path}: no such folder")
    declared = None
    if (root / manifest.MANIFEST_NAME).is_file():
        declared = manifest.load(root, known_platforms=platforms.load_all()).platform
    detection = platforms.detect(root, declared)
    # Tab-separated: platform@version, what decided the platform, what decided the version.
    print(f"{detection.platform.label}\t{detection.reason}\t{detection.version_reason}")
    return 0


def cmd_platforms(args: argparse.Namespace) -> int:
    registry = platforms.load_all()
    print("Detection order (first match wins; manifest.json \"platform\" overrides):")
    for number, platform in enumerate(platforms.detection_order(registry), 1):
        files = ", ".join(platform.detect_files) or "(declared in manifest.json only)"
        print(f"  {number}. {platform.name:<8} {files:<48} "
              f"{platform.directory}")
    return 0


def cmd_base_bootstrap(args: argparse.Namespace) -> int:
    config = settings.load({"base_image": args.image})
    # --suite alone names that suite's base image ([base_images], else debian:SUITE-slim).
    image = config.base_image if args.image or not args.suite else \
        config.base_image_for(args.suite)
    result = base.bootstrap(engine.connect(), image, mirror=args.mirror,
                            suite=args.suite, force=args.force)
    print(result)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    print(f"WAKE_HOME   {settings.wake_home()}")
    print(settings.load().describe())
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from ..build.session import Session
    from ..run import run_doit

    settings.load(_overrides(args))  # fail early, before doit starts
    session = Session(only=tuple(args.apps), overrides=tuple(sorted(_overrides(args).items())),
                      verbose=args.verbose, nocache=args.no_cache)
    targets = [f"build:{app}" for app in args.apps] or ["build"]
    options = ["--continue"] if args.keep_going else []
    return run_doit(["run", *options, *targets], args.apps, _overrides(args), session=session)


def cmd_plan(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from ..build.plan import make_plan, render_text
    from ..build.session import quiet_builder

    session = _session(args)
    steps = make_plan(quiet_builder(session))
    deploy, cluster_name = _deploy_plan(session, args)
    if args.json:
        print(json.dumps({"build": [asdict(s) for s in steps], "deploy": deploy,
                          "cluster": cluster_name}, indent=2))
        return 0
    print(render_text(steps))
    if deploy is not None and cluster_name:
        from ..deploy.deployer import render_preview

        print()
        print(render_preview(deploy, cluster_name))
    return 0


def _deploy_states(session: Any, args: argparse.Namespace) -> dict[str, tuple[str, str]] | None:
    """deploy:<app> nodes for `wake graph`, when a cluster is chosen."""
    from ..cluster import clusters
    from ..deploy import deployer

    state = clusters.load()
    name = clusters.chosen_name(state, args.cluster)
    if not name or (args.depth and args.depth < 3):
        return None
    return deployer.states(session, state.get(name))


def _deploy_plan(session: Any, args: argparse.Namespace) -> tuple[list[Any] | None,
                                                                  str | None]:
    """The deploy section of `wake plan`: only when a cluster is chosen; a cluster that
    does not answer is said, not fatal (the build plan stands on its own)."""
    from ..cluster import clusters
    from ..deploy import deployer
    from ..deploy.target import Target

    state = clusters.load()
    name = clusters.chosen_name(state, args.cluster)
    if not name:
        return None, None
    try:
        target = Target.open(state.get(name))
    except WakeError as exc:
        return [{"app": "*", "error": str(exc)}], name
    try:
        session.materializer.base_id_fallback = target.base_image_id
        found = []
        for app in [a.name for a in session.workspace.apps
                    if not args.apps or a.name in args.apps]:
            try:
                found.append(deployer.preview(session, target, app))
            except WakeError as exc:
                found.append({"app": app, "error": str(exc)})
        return found, name
    finally:
        target.close()


def cmd_graph(args: argparse.Namespace) -> int:
    from ..build.drawing import check_output, draw, format_for, write_output

    chosen = format_for(args.output, args.format)
    if args.output and args.output != "-":
        check_output(Path(args.output))  # before the (slow) drawing
    session = _session(args)
    text, count = draw(session, chosen, args.depth, _deploy_states(session, args))
    if args.output and args.output != "-":
        write_output(Path(args.output), text)
        print(f"wrote {args.output} ({chosen}, {count} stages)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from ..build.explain import explain

    print(explain(args.app, args.stage, _overrides(args)))
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from ..build import prune
    from ..errors import UsageError

    if args.keep < 0:
        raise UsageError(f"--keep {args.keep}: give 0 or more images to keep per stage")
    session = _session(args)
    for app in args.apps:
        session.workspace.app(app)  # an unknown app is an error before anything goes
    protected, note = _release_guards(args)
    print(note)
    verdicts = prune.plan(session, protected, args.keep, args.apps)
    chosen = prune.removal_order(verdicts)
    kept = len(verdicts) - len(chosen)
    total = prune.megabytes(sum(v.image.size for v in chosen))
    if args.dry_run:
        for v in chosen:
            print(f"would remove  {v.image.name}  {v.image.stage}  "
                  f"{prune.megabytes(v.image.size)}  {v.why}")
        print(f"would remove {len(chosen)} image{'' if len(chosen) == 1 else 's'} "
              f"({total} as listed; layers shared between images count in each), "
              f"keep {kept}")
        return 0
    done = prune.apply(session.materializer.client, verdicts, print)
    failed = [r for r in done if r.error]
    gone = len(done) - len(failed)
    print(f"removed {gone} image{'' if gone == 1 else 's'} "
          f"({prune.megabytes(sum(r.image.size for r in done if not r.error))} as listed), "
          f"kept {kept}" + (f", could not remove {len(failed)} (see above)" if failed else ""))
    return 1 if failed else 0


def _release_guards(args: argparse.Namespace) -> tuple[dict[str, str], str]:
    """The images the chosen cluster's releases use, and a line saying where they came
    from. A cluster that does not answer stops the prune unless --no-cluster."""
    from ..cluster import clusters
    from ..deploy import store

    state = clusters.load()
    name = clusters.chosen_name(state, args.cluster)
    if not name:
        return {}, "cluster: none configured; no release images to keep for one"
    if args.no_cluster:
        return {}, f"cluster: {name} not asked (--no-cluster); its release images may go"
    cluster = state.get(name)
    try:
        agent = cluster.answering(wait=5.0)
        guards = store.release_images(agent)
    except WakeError as exc:
        raise WakeError(f"cluster {name} could not be read ({exc}), so prune cannot tell "
                        "which images its releases use; try again when it answers, or "
                        "pass --no-cluster to prune without keeping them") from None
    releases = len(set(guards.values()))
    return guards, (f"cluster: {name}: keeping the images of {releases} "
                    f"release{'' if releases == 1 else 's'}")
