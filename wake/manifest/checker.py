"""Validating a parsed manifest: every problem with its JSON path and a fix, collected
rather than stopping at the first, so a user fixes a file in one pass."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from .. import cron
from ..errors import Problem, printable
from .model import (
    BAD_REF_RE,
    CONTROL_RE,
    CRON_KEYS,
    DEFAULT_CHDIR,
    DEFAULT_CPU,
    DEFAULT_CRON_TIMEOUT,
    DEFAULT_DEADLINE,
    DEFAULT_HEALTH_PATH,
    DEFAULT_MEMORY_MB,
    DEFAULT_STOP_TIMEOUT,
    DEFAULT_USER,
    ENV_NAME_RE,
    HEALTH_KEYS,
    MAX_CPU,
    MAX_CRON_TIMEOUT,
    MAX_INSTANCES,
    MAX_INT_DIGITS,
    MAX_MEMORY_MB,
    MAX_SECONDS,
    MIN_CPU,
    MIN_MEMORY_MB,
    NAME_MAX,
    NAME_RE,
    PROCESS_KEYS,
    REPO_KEYS,
    RESERVED_PATHS,
    SURROGATE_RE,
    TOP_KEYS,
    UNSAFE_PATH_RE,
    USERS,
    CronJob,
    Manifest,
    Process,
    Repo,
)


class _HugeNumber:
    """A JSON integer with more than MAX_INT_DIGITS digits, kept unconverted."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))
        self.negative = text.startswith("-")

    def __str__(self) -> str:
        return f"{'-' if self.negative else ''}(a {self.digits}-digit number)"


def _parse_int(text: str) -> int | _HugeNumber:
    return int(text) if len(text) <= MAX_INT_DIGITS else _HugeNumber(text)


class _Pairs(dict[str, Any]):
    """A JSON object that remembers keys given more than once."""

    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _Pairs:
    obj = _Pairs()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            int: "a number", float: "a number", type(None): "null",
            _HugeNumber: "a number"}.get(
                type(value) if not isinstance(value, dict) else dict, type(value).__name__)


class _Checker:
    """Walks the parsed JSON, collecting Problems instead of stopping at the first."""

    def __init__(self, known_platforms: set[str] | None) -> None:
        self.problems: list[Problem] = []
        self.known_platforms = known_platforms

    def add(self, path: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(path, message, fix))

    # -- generic shapes -------------------------------------------------------

    def obj(self, value: Any, path: str, allowed: tuple[str, ...] | None) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, f"must be an object, got {_type_name(value)}",
                     "write it as { ... }")
            return None
        for key in getattr(value, "duplicates", ()):
            self.add(_join(path, key), "is given more than once",
                     "keep one; JSON readers silently use the last")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    close = difflib.get_close_matches(key, allowed, n=1)
                    fix = (f"did you mean {close[0]!r}?" if close
                           else f"remove it; allowed here: {', '.join(allowed)}")
                    self.add(_join(path, key), "unknown key", fix)
        return value

    def string(self, value: Any, path: str, fix: str = "", *,
               one_line: bool = False) -> str | None:
        """A non-empty string that can be written as UTF-8 and holds no NUL; with
        `one_line`, no control characters at all (no line breaks, tabs, escapes)."""
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {_type_name(value)}", fix or "quote it")
            return None
        if SURROGATE_RE.search(value):
            self.add(path, "contains a lone UTF-16 surrogate (a \\ud800-\\udfff escape "
                     "without its pair), which is not text",
                     "remove that \\u escape, or write the character itself")
            return None
        if "\0" in value:
            self.add(path, "contains a NUL character (\\u0000)", "remove it")
            return None
        if one_line and (bad := CONTROL_RE.search(value)):
            self.add(path, f"contains the control character {bad.group()!r}",
                     "write it on one line, without line breaks, tabs or escapes")
            return None
        if not value.strip():
            self.add(path, "must not be empty", fix or "give it a value or remove the key")
            return None
        return value

    def name(self, value: Any, path: str, what: str) -> str | None:
        text = self.string(value, path)
        if text is None:
            return None
        if len(text) > NAME_MAX:
            self.add(path, f"{what} {text!r} is {len(text)} characters; at most {NAME_MAX}",
                     "shorten it (it becomes an image, container and DNS name)")
            return None
        if not NAME_RE.fullmatch(text):
            suggestion = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:NAME_MAX]
            self.add(path, f"{what} {text!r} cannot be an image, container and DNS name",
                     "use lowercase letters, digits and '-', not starting or ending with '-'"
                     + (f", e.g. {suggestion!r}" if suggestion else ""))
            return None
        return text

    def abs_path(self, value: Any, path: str) -> str | None:
        text = self.string(value, path, "give an absolute path such as /opt/app")
        if text is None:
            return None
        if not text.startswith("/"):
            self.add(path, f"{text!r} is not an absolute path", f"write /{text.lstrip('./')}")
            return None
        if ".." in PurePosixPath(text).parts:
            self.add(path, f"{text!r} contains '..'", "write the path without '..'")
            return None
        bad = UNSAFE_PATH_RE.search(text)
        if bad:
            what = "whitespace" if bad.group().isspace() else repr(bad.group())
            self.add(path, f"{text!r} contains {what}, which Docker would expand, split or "
                     "unquote in WORKDIR and COPY",
                     "use a plain path: no whitespace, control characters, quotes, '$' or "
                     "'\\'")
            return None
        # PurePosixPath keeps a leading '//', which Linux treats as '/'.
        return str(PurePosixPath("/" + text.lstrip("/")))

    def cpu(self, value: Any, path: str) -> float | None:
        allowed = f"between {MIN_CPU:g} and {MAX_CPU} cpus"
        if isinstance(value, _HugeNumber):
            self.add(path, f"{value} cpus is outside the allowed range",
                     f"give {allowed}, e.g. 1 or 0.5")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, f"must be a number, got {_type_name(value)}",
                     "write cpus as a number, e.g. 1 or 0.5")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.add(path, f"must be a finite number of cpus, got {value}",
                     f"give {allowed}, e.g. 1 or 0.5")
            return None
        # Compared as given: float(10**400) would overflow.
        if value < MIN_CPU:
            self.add(path, f"{value} cpus is below Docker's minimum of {MIN_CPU:g}",
                     f"give {allowed}, e.g. 0.5")
            return None
        if value > MAX_CPU:
            self.add(path, f"{value:g} cpus is above the maximum of {MAX_CPU}",
                     f"give {allowed}")
            return None
        return float(value)

    def memory(self, value: Any, path: str) -> int | None:
        allowed = f"between {MIN_MEMORY_MB} and {MAX_MEMORY_MB} (16 TiB)"
        if isinstance(value, _HugeNumber):
            self.add(path, f"{value} MB is outside the allowed range",
                     f"give the memory in megabytes, {allowed}, e.g. 512")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, f"must be a whole number of megabytes, got {_type_name(value)}",
                     "write e.g. 512")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.add(path, f"must be a finite number of megabytes, got {value}",
                     "write the memory in MB, e.g. 512")
            return None
        if isinstance(value, float) and not value.is_integer():
            self.add(path, f"must be a whole number of megabytes, got {value}",
                     f"write {int(value)} or {int(value) + 1}")
            return None
        if value < MIN_MEMORY_MB:
            self.add(path, f"{value} MB is below the minimum of {MIN_MEMORY_MB} MB",
                     f"set at least {MIN_MEMORY_MB} (memory is in megabytes)")
            return None
        if value > MAX_MEMORY_MB:
            self.add(path, f"{value:g} MB is above the maximum of {MAX_MEMORY_MB} MB (16 TiB)",
                     f"give the memory in megabytes, {allowed}")
            return None
        return int(value)

    def field_or(self, data: dict[str, Any], key: str, path: str, default: Any,
                 check: Callable[[Any, str], Any]) -> Any:
        if key not in data:
            return default
        return check(data[key], _join(path, key))

    # -- the manifest ---------------------------------------------------------

    def manifest(self, data: Any, source: Path) -> Manifest | None:
        top = self.obj(data, "", TOP_KEYS)
        if top is None:
            return None
        name = None
        if "name" not in top:
            self.add("name", "is required", f"add \"name\": \"{_guess_name(source)}\"")
        else:
            name = self.name(top["name"], "name", "app name")
        platform = self.field_or(top, "platform", "", None, self.platform)
        owner = self.field_or(top, "owner", "", (), self.owner)
        repos = self.field_or(top, "repos", "", (), self.repos)
        processes = self.field_or(top, "processes", "", (), self.processes)
        cron_jobs = self.field_or(top, "cron_jobs", "", (), self.cron_jobs)
        env = self.field_or(top, "env", "", (), self.env)
        dependencies = self.field_or(top, "dependencies", "", (), self.dependencies)
        build = self.field_or(top, "build", "", None, self.build_command)
        build_env = self.field_or(top, "build_env", "", (), self.env)
        build_secrets = self.field_or(top, "build_secrets", "", (), self.secret_names)
        user = self.field_or(top, "user", "", DEFAULT_USER, self.user)
        # (An empty "processes" object gets its own message.)
        if "processes" not in top and not top.get("cron_jobs"):
            self.add("processes", "an app needs at least one process or cron job",
                     'add "processes": {"web": {"run": "..."}}')
        if processes and cron_jobs:
            clash = {p.name for p in processes} & {c.name for c in cron_jobs}
            for dup in sorted(clash):
                self.add("cron_jobs", f"cron job name {dup!r} is also a process name",
                         "give the cron job another \"name\" (each gets its own image)")
        if build_secrets:
            for secret in sorted(set(build_secrets) & {k for k, _ in (*(env or ()),
                                                                       *(build_env or ()))}):
                self.add("build_secrets", f"{secret} is also in \"env\" or \"build_env\", "
                         "whose values are stored in images", f"keep {secret} only in "
                         "build_secrets and its value in the builder's environment")
        if name and dependencies and name in dependencies:
            self.add("dependencies", f"the app {name!r} lists itself", "remove it")
        if name is None or self.problems:
            return None
        return Manifest(name=name, source=source, platform=platform, owner=owner or (),
                        repos=repos or (), processes=processes or (),
                        cron_jobs=cron_jobs or (), env=env or (),
                        dependencies=dependencies or (), build=build,
                        build_env=build_env or (), build_secrets=build_secrets or (),
                        user=user or DEFAULT_USER)

    def build_command(self, value: Any, path: str) -> str | None:
        return self.string(value, path, 'give one shell command, e.g. "npm run assets"',
                           one_line=True)

    def user(self, value: Any, path: str) -> str | None:
        if value not in USERS:
            self.add(path, f"must be one of {', '.join(map(repr, USERS))}, got {value!r}"[:200],
                     f'"{DEFAULT_USER}" (the default) runs release images as an unprivileged '
                     'user; "root" opts out')
            return None
        return str(value)

    def platform(self, value: Any, path: str) -> str | None:
        if isinstance(value, str) and "@" in value:  # python@3.13: a version of a platform
            name, _, version = value.partition("@")
            if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._]{0,31}", version):
                self.add(path, f"{value!r}: {version!r} is not a version",
                         'write the platform and a version it offers, e.g. "python@3.13" '
                         "(wake platforms lists them)")
                return None
            found = self.platform(name, path)
            return None if found is None else f"{found}@{version}"
        text = self.name(value, path, "platform")
        if text is None or self.known_platforms is None or text in self.known_platforms:
            return text
        close = difflib.get_close_matches(text, sorted(self.known_platforms), n=1)
        self.add(path, f"unknown platform {text!r}",
                 f"did you mean {close[0]!r}?" if close else
                 f"use one of: {', '.join(sorted(self.known_platforms))}, or remove the key "
                 "to detect it")
        return None

    def owner(self, value: Any, path: str) -> tuple[str, ...] | None:
        if isinstance(value, str):
            self.add(path, "must be a list of strings", f'write ["{value}"]')
            return None
        if not isinstance(value, list):
            self.add(path, f"must be a list of strings, got {_type_name(value)}",
                     'write e.g. ["you@example.com"]')
            return None
        owners = [self.string(v, _join(path, i), one_line=True) for i, v in enumerate(value)]
        return tuple(o for o in owners if o is not None)

    def repos(self, value: Any, path: str) -> tuple[Repo, ...] | None:
        data = self.obj(value, path, None)
        if data is None:
            return None
        repos = []
        for target, spec in data.items():
            where = _join(path, target)
            checked_target = self.abs_path(target, where)
            if checked_target == "/":
                self.add(where, "cannot clone over /", "use e.g. /opt/<repo-name>")
                checked_target = None
            elif checked_target is not None:
                for reserved in RESERVED_PATHS:
                    if checked_target == reserved or checked_target.startswith(reserved + "/"):
                        self.add(where, f"{checked_target} is where wake puts the app itself",
                                 "clone the repo somewhere else, e.g. /opt/<repo-name>")
                        checked_target = None
                        break
                    if reserved.startswith(checked_target + "/"):
                        self.add(where, f"{checked_target} holds {reserved}, where wake puts "
                                 "the app itself", "clone the repo into a folder of its own, "
                                 "e.g. /opt/<repo-name>")
                        checked_target = None
                        break
            url, ref = None, None
            if isinstance(spec, dict):
                fields = self.obj(spec, where, REPO_KEYS)
                if fields is not None:
                    if "url" not in fields:
                        self.add(_join(where, "url"), "is required", "add the git URL")
                    else:
                        url = self.repo_url(fields["url"], _join(where, "url"))
                    if "ref" in fields:
                        ref = self.repo_ref(fields["ref"], _join(where, "ref"))
                        if ref is None:
                            url = None
            else:
                url = self.repo_url(spec, where)
            if checked_target and url:
                repos.append(Repo(target=checked_target, url=url, ref=ref))
        return tuple(sorted(repos, key=lambda r: r.target))

    def repo_url(self, value: Any, path: str) -> str | None:
        text = self.string(value, path, 'give a git URL, or {"url": ..., "ref": ...}')
        if text is None:
            return None
        if text.startswith("-"):
            self.add(path, f"URL {text!r} starts with '-', which git reads as an option",
                     "give a real URL (https://, ssh://, git://, git@host:path or a path)")
            return None
        transport = text.split("::", 1)[0].lower() if "::" in text else ""
        if transport in ("ext", "fd"):
            self.add(path, f"the {transport}:: transport runs arbitrary commands",
                     "use https://, ssh://, git:// or a local path")
            return None
        if any(c.isspace() for c in text) or CONTROL_RE.search(text):
            self.add(path, "URL contains whitespace or control characters", "remove them")
            return None
        if _dash_host(text.split("::", 1)[-1]):
            self.add(path, f"URL {text!r} has a user or host starting with '-', which ssh "
                     "would read as an option", "give the real host name")
            return None
        return text

    def repo_ref(self, value: Any, path: str) -> str | None:
        text = self.string(value, path, "give a branch, tag or commit")
        if text is None:
            return None
        if text.startswith("-") or BAD_REF_RE.search(text):
            self.add(path, f"ref {text!r} is not a branch, tag or commit name",
                     "remove leading '-', spaces, control characters and any of "
                     "~ ^ : ? * [ \\ .. @{")
            return None
        return text

    def processes(self, value: Any, path: str) -> tuple[Process, ...] | None:
        data = self.obj(value, path, None)
        if data is None:
            return None
        if not data:
            self.add(path, "is empty", 'add a process, e.g. "web": {"run": "..."}')
        result = []
        for pname, spec in data.items():
            where = _join(path, pname)
            name = self.name(pname, where, "process name")
            fields = self.obj(spec, where, PROCESS_KEYS)
            if fields is None:
                continue
            run = None
            if "run" not in fields:
                self.add(_join(where, "run"), "is required", "add the command that starts it")
            else:
                run = self.string(fields["run"], _join(where, "run"))
            chdir = self.field_or(fields, "chdir", where, DEFAULT_CHDIR, self.abs_path)
            cpu = self.field_or(fields, "cpu", where, DEFAULT_CPU, self.cpu)
            memory = self.field_or(fields, "memory", where, DEFAULT_MEMORY_MB, self.memory)
            instances = self.field_or(fields, "instances", where, 1, self.instances)
            health = self.field_or(fields, "health", where,
                                   (DEFAULT_HEALTH_PATH, 0.0, DEFAULT_DEADLINE), self.health)
            stop = self.field_or(fields, "stop_timeout", where, DEFAULT_STOP_TIMEOUT,
                                 lambda v, at: self.seconds(v, at, 0, whole=True))
            if (name is not None and run is not None
                    and None not in (chdir, cpu, memory, instances, health, stop)):
                checked, grace, deadline = health or (None, 0.0, DEFAULT_DEADLINE)
                result.append(Process(name=name, run=run, chdir=chdir, cpu=cpu,
                                      memory=memory, instances=instances,
                                      health_path=checked, grace=grace, deadline=deadline,
                                      stop_timeout=stop))
        return tuple(sorted(result, key=lambda p: p.name))

    def instances(self, value: Any, path: str) -> int | None:
        if (isinstance(value, bool) or not isinstance(value, int)
                or not 0 <= value <= MAX_INSTANCES):
            self.add(path, f"must be a whole number from 0 to {MAX_INSTANCES}, got "
                     f"{printable(repr(value))[:40]}", "write e.g. 2")
            return None
        return value

    def seconds(self, value: Any, path: str, low: float, whole: bool = False,
                high: int = MAX_SECONDS) -> Any:
        kind = "whole number" if whole else "number"
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or (whole and not isinstance(value, int))
                or not (isinstance(value, int) or math.isfinite(value))
                or not low <= value <= high):
            self.add(path, f"must be a {kind} of seconds from {low:g} to {high}, got "
                     f"{printable(repr(value))[:40]}", "write e.g. 30")
            return None
        return int(value) if whole else float(value)

    def health(self, value: Any, path: str) -> Any:
        """{"path", "grace", "deadline"} -> (path, grace, deadline); false -> () (no HTTP
        check: passing means running); None on a problem."""
        if value is False:
            return ()
        if not isinstance(value, dict):
            self.add(path, f"must be an object or false, got {_type_name(value)}",
                     'write {"path": "/_health"}, or false for a process without an HTTP '
                     "check")
            return None
        data = self.obj(value, path, HEALTH_KEYS)
        if data is None:
            return None
        where = _join(path, "path")
        health_path = data.get("path", DEFAULT_HEALTH_PATH)
        if (not isinstance(health_path, str) or not health_path.startswith("/")
                or len(health_path) > 200 or not health_path.isascii()
                or any(c.isspace() or ord(c) < 33 or ord(c) == 127 for c in health_path)):
            self.add(where, f"must be a URL path starting with '/', got "
                     f"{printable(repr(health_path))[:60]}", 'write e.g. "/_health"')
            health_path = None
        grace = self.field_or(data, "grace", path, 0.0, lambda v, at: self.seconds(v, at, 0))
        deadline = self.field_or(data, "deadline", path, DEFAULT_DEADLINE,
                                 lambda v, at: self.seconds(v, at, 1))
        if None in (health_path, grace, deadline):
            return None
        return (health_path, float(grace), float(deadline))

    def cron_jobs(self, value: Any, path: str) -> tuple[CronJob, ...] | None:
        if not isinstance(value, list):
            self.add(path, f"must be a list, got {_type_name(value)}",
                     'write [{"run": "*/10 * * * * command"}]')
            return None
        result = []
        seen: set[str] = set()
        for index, spec in enumerate(value):
            where = _join(path, index)
            fields = self.obj(spec, where, CRON_KEYS)
            if fields is None:
                continue
            name = self.field_or(fields, "name", where, f"cron-{index + 1}",
                                 lambda v, p: self.name(v, p, "cron job name"))
            if name is not None:
                if name in seen:
                    self.add(_join(where, "name"), f"cron job name {name!r} is used twice",
                             "give each cron job its own name")
                seen.add(name)
            line = None
            if "run" not in fields:
                self.add(_join(where, "run"), "is required",
                         'add e.g. "*/10 * * * * /opt/app/bin/task"')
            else:
                text = self.string(fields["run"], _join(where, "run"))
                if text is not None and any(c in text for c in "\n\r\0"):
                    self.add(_join(where, "run"), "contains a line break",
                             "write the cron line on one line")
                elif text is not None:
                    try:
                        line = cron.parse(text)
                    except cron.CronSyntaxError as exc:
                        self.add(_join(where, "run"), f"bad cron line: {exc}",
                                 "write five schedule fields then the command, "
                                 'e.g. "*/10 * * * * bin/task"')
            chdir = self.field_or(fields, "chdir", where, DEFAULT_CHDIR, self.abs_path)
            cpu = self.field_or(fields, "cpu", where, DEFAULT_CPU, self.cpu)
            memory = self.field_or(fields, "memory", where, DEFAULT_MEMORY_MB, self.memory)
            timeout = self.field_or(fields, "timeout", where, DEFAULT_CRON_TIMEOUT,
                                    lambda v, at: self.seconds(v, at, 1, whole=True,
                                                               high=MAX_CRON_TIMEOUT))
            if None not in (name, line, chdir, cpu, memory, timeout):
                assert line is not None
                result.append(CronJob(name=name, schedule=line.schedule, command=line.command,
                                      chdir=chdir, cpu=cpu, memory=memory, timeout=timeout))
        return tuple(result)

    def env(self, value: Any, path: str) -> tuple[tuple[str, str], ...] | None:
        data = self.obj(value, path, None)
        if data is None:
            return None
        result = []
        for key, val in data.items():
            where = _join(path, key)
            if not ENV_NAME_RE.fullmatch(key):
                fixed = re.sub(r"[^A-Za-z0-9_]", "_", key)
                if not fixed or fixed[0].isdigit():
                    fixed = "_" + fixed
                self.add(where, f"{key!r} is not a valid environment variable name",
                         f"use letters, digits and '_', not starting with a digit, "
                         f"e.g. {fixed!r}")
                continue
            if isinstance(val, bool) or not isinstance(val, str | int | float):
                self.add(where, f"value must be a string, got {_type_name(val)}",
                         "quote it: environment values are strings")
                continue
            if not isinstance(val, str):
                self.add(where, f"value must be a string, got the number {val}",
                         f'quote it: "{val}"')
                continue
            if "\n" in val or "\r" in val:
                # A Dockerfile ENV cannot hold one: it would end the instruction.
                self.add(where, "value contains a line break, which an image's environment "
                         "cannot be given", "write it on one line (e.g. separate items with "
                         "spaces or commas)")
                continue
            if SURROGATE_RE.search(val) or "\0" in val:
                self.string(val, where)  # says which
                continue
            result.append((key, val))
        return tuple(sorted(result))

    def secret_names(self, value: Any, path: str) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.add(path, f"must be a list of environment variable names, got "
                     f"{_type_name(value)}", 'write e.g. ["NPM_TOKEN"]')
            return None
        names: list[str] = []
        for index, item in enumerate(value):
            where = _join(path, index)
            if not isinstance(item, str) or not ENV_NAME_RE.fullmatch(item):
                self.add(where, f"{printable(repr(item))[:40]} is not an environment variable "
                         "name", "use letters, digits and '_', not starting with a digit, "
                         "e.g. \"NPM_TOKEN\" (the value stays in the builder's environment)")
            elif item in names:
                self.add(where, f"{item!r} is listed twice", "remove one")
            else:
                names.append(item)
        return tuple(names)

    def dependencies(self, value: Any, path: str) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.add(path, f"must be a list of app names, got {_type_name(value)}",
                     'write e.g. ["accounts", "search"]')
            return None
        names = []
        for index, item in enumerate(value):
            name = self.name(item, _join(path, index), "app name")
            if name is None:
                continue
            if name in names:
                self.add(_join(path, index), f"{name!r} is listed twice", "remove one")
                continue
            names.append(name)
        return tuple(names)


def _dash_host(url: str) -> bool:
    """Whether the user or host of an ssh://-style or scp-style git URL starts with '-'."""
    if url.startswith("-"):  # after a transport:: prefix
        return True
    if "://" in url:
        authority = url.split("://", 1)[1].split("/", 1)[0]
    elif re.match(r"^[^/]*:", url):  # user@host:path
        authority = url.split(":", 1)[0]
    else:
        return False
    user, _, host = authority.rpartition("@")
    return host.lstrip("[").startswith("-") or user.startswith("-")


def _guess_name(source: Path) -> str:
    guess = re.sub(r"[^a-z0-9-]+", "-", source.resolve().parent.name.lower()).strip("-")
    return guess[:NAME_MAX] or "myapp"
