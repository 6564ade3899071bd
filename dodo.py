"""doit entry point: `doit list`, `doit build:bestsiteever`, `doit platform:ruby-compile`.

The apps are those of the workspace file wake.toml (see wake/workspace.py).
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
