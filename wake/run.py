"""Run wake's doit tasks in-process (the `wake build` command)."""

from __future__ import annotations

from typing import Any

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain

from .build.session import Session
from .errors import FAILURE
from .tasks import DOIT_CONFIG, FailedRun, build_tasks, deploy_tasks


def run_doit(doit_args: list[str], apps: list[str],
             overrides: dict[str, Any] | None = None, session: Session | None = None) -> int:
    session = session or Session(only=tuple(apps),
                                 overrides=tuple(sorted((overrides or {}).items())))
    # Bad input (wake.toml, a manifest, config.toml) is reported as wake reports it, exit 2,
    # before doit starts (and writes its .doit.db); the tasks reuse what is loaded here.
    session.settings, session.workspace  # noqa: B018

    def task_build():  # type: ignore[no-untyped-def]
        yield from build_tasks(session)

    def task_deploy():  # type: ignore[no-untyped-def]
        yield from deploy_tasks(session)

    namespace = {"task_build": task_build, "task_deploy": task_deploy,
                 "DOIT_CONFIG": DOIT_CONFIG}
    try:
        code: int = DoitMain(ModuleTaskLoader(namespace)).run(doit_args)
    except FailedRun:  # tasks failed and others ran on (--continue)
        return FAILURE
    return code
