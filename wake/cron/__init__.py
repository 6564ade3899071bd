"""Cron jobs on a cluster: their schedules (`syntax`, `times`), the record of every run in
Consul (`runs`), starting and watching run containers (`runner`), and the scheduler that
runs inside the cluster (`scheduler`; docs/cron.md)."""

from .syntax import MACROS, CronLine, CronSyntaxError, parse

__all__ = ["MACROS", "CronLine", "CronSyntaxError", "parse"]
