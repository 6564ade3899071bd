"""doit entry point for wake: `doit list`, `doit build:APP`, `doit deploy:APP`.

The apps are those of the workspace: the wake.toml here, else the app whose manifest.json
is here (see wake's docs/workspace.md). `wake init` writes this file.
"""

from wake.tasks import DOIT_CONFIG, build_tasks, deploy_tasks, graph_task

__all__ = ["DOIT_CONFIG"]  # doit reads it from this module


def task_build():  # type: ignore[no-untyped-def]
    """wake's build graph: platform stages, app stages, one release image per process."""
    yield from build_tasks()


def task_deploy():  # type: ignore[no-untyped-def]
    """deploy each app to the current cluster: doit deploy:APP (a no-op when nothing changed)"""
    yield from deploy_tasks()


def task_graph():  # type: ignore[no-untyped-def]
    """draw the build graph: doit graph --format svg|dot|html --output FILE"""
    return graph_task()
