"""The boundary with Docker engines: the only module that imports the docker SDK.

`connect()` gives an `Engine`: one engine's images and containers through typed methods
that raise only `DockerError` / `BuildError`, never a docker.errors or requests exception.
Everything else in wake (builds, clusters, deploys) goes through it.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import tarfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, Any


def _import_docker_without_ssh() -> None:
    """Import the docker SDK without its SSH transport.

    The SDK imports paramiko (~90 ms, a fifth of a no-op build) whatever the engine's
    address; only ssh:// engines use it. Hiding paramiko during the import makes the SDK
    leave the SSH transport out, as it does when paramiko is missing; `_ssh_transport`
    puts it back the first time an ssh:// engine is connected.
    """
    import sys

    if "docker" in sys.modules or "paramiko" in sys.modules:
        return
    sys.modules["paramiko"] = None  # type: ignore[assignment]  # import paramiko fails
    try:
        import docker  # noqa: F401
    finally:
        del sys.modules["paramiko"]


def _ssh_transport() -> None:
    """Give the docker SDK its SSH transport (see _import_docker_without_ssh)."""
    import docker.api.client
    import docker.transport

    if getattr(docker.api.client, "SSHHTTPAdapter", None) is not None:
        return
    try:
        from docker.transport import sshconn
    except ImportError:
        return  # no paramiko: the SDK's own "Install paramiko" error follows
    docker.transport.SSHHTTPAdapter = sshconn.SSHHTTPAdapter  # type: ignore[misc]
    docker.api.client.SSHHTTPAdapter = sshconn.SSHHTTPAdapter  # type: ignore[attr-defined]


_import_docker_without_ssh()

import docker  # noqa: E402 - imported above, without its SSH transport
import docker.errors  # noqa: E402
import docker.tls  # noqa: E402
import docker.types  # noqa: E402
import requests  # noqa: E402

from . import calls  # noqa: E402
from .errors import BuildError, DockerError, plain  # noqa: E402

LineSink = Callable[[str], None]
DEFAULT_TIMEOUT = 600.0
TEMPORARY_LABEL = "wake.temporary"
# On the volumes that keep a build cache between builds (the value: the folder it holds).
CACHE_LABEL = "wake.build-cache"


@contextmanager
def translate(action: str, where: str = "") -> Iterator[None]:
    """Turn Docker SDK and connection errors into a DockerError naming the action."""
    prefix = f"docker{f' ({where})' if where else ''}: {action}"
    try:
        yield
    except docker.errors.APIError as exc:
        reason = exc.explanation or str(exc)
        raise DockerError(f"{prefix}: {reason}") from None
    except docker.errors.DockerException as exc:
        raise DockerError(f"{prefix}: {exc}") from None
    except (requests.exceptions.RequestException, ConnectionError, OSError) as exc:
        raise DockerError(f"{prefix}: cannot reach the engine ({exc})") from None


@dataclass(frozen=True)
class TLSFiles:
    """A client certificate and the CA the engine's certificate must be signed by."""

    ca: str
    cert: str
    key: str


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    image: str
    status: str  # created | running | exited | ...
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[int, int] = field(default_factory=dict)  # container port -> host port
    started_at: str = ""  # RFC 3339, as the engine says
    image_id: str = ""
    exit_code: int | None = None  # once it has exited

    @property
    def started(self) -> float:
        """Unix time the container last started; 0 if it never has."""
        return epoch(self.started_at)


def epoch(stamp: str) -> float:
    """Unix time of an engine's RFC 3339 stamp (nanoseconds, Z or an offset); 0 if unreadable.

    Python before 3.11 reads at most microseconds, so the fraction is cut to six digits.
    A never-started container says year 1, which is also 0 here.
    """
    from datetime import datetime, timezone

    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,6})?\d*(Z|[+-]\d\d:\d\d)?$", stamp)
    if m is None:
        return 0.0
    when = datetime.fromisoformat(m[1] + (m[2] or "") + (m[3] or "+00:00").replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(when.timestamp(), 0.0)


def _container(c: Any) -> Container:
    attrs = c.attrs
    ports: dict[int, int] = {}
    for key, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
        for binding in bindings or []:
            if binding.get("HostPort"):
                ports[int(key.split("/")[0])] = int(binding["HostPort"])
    return Container(str(c.id), str(c.name), str(attrs["Config"]["Image"]), str(c.status),
                     dict(attrs["Config"].get("Labels") or {}), ports,
                     str((attrs.get("State") or {}).get("StartedAt", "")),
                     str(attrs.get("Image", "")),
                     int(attrs["State"]["ExitCode"]) if str(c.status) in ("exited", "dead")
                     and "ExitCode" in (attrs.get("State") or {}) else None)


def connect(base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT,
            tls: TLSFiles | None = None, version: str | None = None,
            use_ssh_client: bool = False, name: str = "") -> Engine:
    """An engine at `base_url` (else DOCKER_HOST, else the local socket), pinged now.

    `name` (a host's name) goes into error messages. `version` skips the version
    request; with TLS, requests' environment (REQUESTS_CA_BUNDLE, set on machines behind a
    TLS-intercepting proxy, would replace the engine's CA: requests#3829) is ignored.
    """
    where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    kwargs: dict[str, Any] = {"base_url": where, "timeout": timeout}
    if tls:
        kwargs["tls"] = docker.tls.TLSConfig(client_cert=(tls.cert, tls.key), ca_cert=tls.ca,
                                             verify=True)
        kwargs["version"] = "1.24"  # no request before trust_env is off (below)
    if version:
        kwargs["version"] = version
    if use_ssh_client:
        kwargs["use_ssh_client"] = True  # the system's ssh, its config and agent
    label = f"host {name}: the engine at {where}" if name else f"the Docker engine at {where}"
    if where.startswith("ssh://"):
        _ssh_transport()
    try:
        client = (docker.DockerClient(**kwargs) if base_url or tls or use_ssh_client
                  else docker.from_env(timeout=int(timeout)))
        calls.watch(client.api, "docker")
        if tls:
            client.api.trust_env = False
            api: Any = client.api
            api._version = api._retrieve_server_version()
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException,
            OSError) as exc:
        reason = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in reason and tls:
            raise DockerError(f"{label} failed TLS verification against {tls.ca} (its "
                              "certificate is not signed by that CA, or not for this "
                              "address); is --tls the folder of this engine's "
                              "certificates?") from None
        if where.startswith("unix://") and not os.path.exists(where.removeprefix("unix://")):
            reason = "no socket there"
        hint = "" if name else (". Start one (scripts/ensure-env.sh does) or set DOCKER_HOST")
        raise DockerError(f"{label} does not answer ({reason}){hint}") from None
    return Engine(client, name or where)


def answers(base_url: str, timeout: float = 3.0) -> bool:
    """Whether an engine answers a ping at `base_url` (for waits; never raises)."""
    try:
        connect(base_url, timeout=timeout).close()
    except DockerError:
        return False
    return True


_STEP = re.compile(r"^Step \d+/\d+ : ")


def split_ref(ref: str) -> tuple[str, str]:
    """'reg:5000/a/b:tag' -> ('reg:5000/a/b', 'tag'); 'a/b@sha256:x' -> ('a/b', 'sha256:x')."""
    if "@" in ref:
        repository, digest = ref.split("@", 1)
        return repository, digest
    repository, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:  # no tag, or the colon was a registry's port
        return ref, "latest"
    return repository, tag


class Engine:
    """One Docker engine. Methods raise DockerError (BuildError for builds) only."""

    def __init__(self, client: Any, where: str) -> None:
        self._client = client
        self.where = where
        self.api_calls = 0  # image and container queries (benchmarks report them)

    def __repr__(self) -> str:
        return f"Engine({self.where})"

    def close(self) -> None:
        with suppress(Exception):
            self._client.close()

    def _translate(self, action: str) -> Any:
        return translate(action, self.where)

    # --- the engine -----------------------------------------------------------------

    def capacity(self) -> tuple[int, int]:
        """(cpus, memory in bytes) as the engine reports them."""
        with self._translate("read the engine's info"):
            info = self._client.info()
        return int(info.get("NCPU", 0)), int(info.get("MemTotal", 0))

    # --- images -----------------------------------------------------------------------

    def inspect(self, ref: str) -> dict[str, Any] | None:
        """An image's attributes, or None; the low-level call (the SDK's model objects
        triple the cost, which shows when thousands of stages are checked)."""
        self.api_calls += 1
        with self._translate(f"inspect image {ref}"):
            try:
                attrs: dict[str, Any] = self._client.api.inspect_image(ref)
                return attrs
            except docker.errors.ImageNotFound:
                return None

    def images(self, label: str | None = None, name: str | None = None
               ) -> list[dict[str, Any]]:
        """Image list rows (Id, RepoTags, Labels, Size, Created), by label or name."""
        self.api_calls += 1
        with self._translate("list images"):
            rows: list[dict[str, Any]] = self._client.api.images(
                name=name, filters={"label": label} if label else None)
            return rows

    def build(self, context: bytes | IO[bytes], tag: str, stage: str,
              on_line: LineSink | None = None, nocache: bool = False,
              cache_from: list[str] | None = None) -> None:
        """Build an image from a context tar (classic builder), streaming output lines.
        `cache_from`: images whose steps the build may reuse (the classic builder then
        looks at those alone, not at the engine's other images).

        On failure, raises BuildError naming the stage, the failing step and its output.
        """
        step = ""
        step_output: list[str] = []
        image_id: str | None = None  # from the stream; saves an inspect when present
        with self._translate(f"build {stage}"):
            fileobj = io.BytesIO(context) if isinstance(context, bytes) else context
            stream = self._client.api.build(fileobj=fileobj, custom_context=True, tag=tag,
                                            rm=True, forcerm=True, decode=True, pull=False,
                                            nocache=nocache, cache_from=cache_from or None)
            for chunk in stream:
                text = chunk.get("stream", "")
                if text:
                    for line in map(plain, text.splitlines()):
                        if _STEP.match(line):
                            step, step_output = line, []
                        else:
                            step_output.append(line)
                        if on_line:
                            on_line(line)
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = str(chunk["aux"]["ID"])
                if "error" in chunk:
                    tail = "\n".join(f"    {line}" for line in step_output[-40:])
                    error = "\n".join(map(plain, chunk["error"].strip().splitlines()))
                    raise BuildError(f"build of {stage} failed at {step or 'the start'}\n"
                                     f"{tail}\n  error: {error}")
        if image_id is None and self.inspect(tag) is None:
            raise BuildError(f"build of {stage} finished without an image")

    def run_step(self, image: str, command: str, files: dict[str, bytes], mount: str,
                 tag: str, stage: str, on_line: LineSink | None = None,
                 caches: dict[str, str] | None = None) -> None:
        """A build step outside the builder: `/bin/sh -c command` in a container of
        `image`, then the container committed as `tag` with the image's own entrypoint and
        command. `files` (name -> content; build secrets) are in a volume at `mount`
        (read-only) and exported as environment variables of the step; `caches` (volume
        name -> folder) are volumes kept between builds, made when missing, and their
        folders are listed in the step's WAKE_BUILD_CACHES. No commit holds a mount or the
        step's environment; the secrets' volume and the container go whatever happens."""
        temporary = {TEMPORARY_LABEL: "1"}
        caches = caches or {}
        # Export each file as a variable of the step only, then run it as RUN would.
        script = (f"export WAKE_BUILD_CACHES={shlex.quote(' '.join(caches.values()))}; "
                  f'for f in {mount}/*; do [ -f "$f" ] && export "${{f##*/}}=$(cat "$f")"; '
                  'done; exec /bin/sh -c "$1"')
        tail: list[str] = []
        with self._translate(f"build {stage}"):
            # Mounts, not `volumes=`: the SDK writes those into the container's config as
            # VOLUME paths too, and a commit would keep them in the image.
            mounts = [docker.types.Mount(folder, name) for name, folder in caches.items()]
            for name in caches:
                try:
                    self._client.volumes.get(name)
                except docker.errors.NotFound:
                    self._client.volumes.create(name, labels={CACHE_LABEL: caches[name]})
            volume = self._client.volumes.create(labels=temporary) if files else None
            container = None
            try:
                if volume is not None:
                    # The step sees the volume read-only: a container never started fills it.
                    filler = self._client.containers.create(
                        image, ["true"], labels=temporary,
                        volumes={volume.name: {"bind": mount, "mode": "rw"}})
                    try:
                        filler.put_archive(mount, tar_files(files, mode=0o444))
                    finally:
                        filler.remove(force=True)
                    mounts.append(docker.types.Mount(mount, volume.name, read_only=True))
                config = self._client.api.inspect_image(image).get("Config") or {}
                # The step as the container's command, so the commit keeps the image's
                # (empty) entrypoint: a commit cannot set an entrypoint back to none.
                step = ["/bin/sh", "-c", script, "wake-build-step", command]
                entrypoint = config.get("Entrypoint") or None
                container = self._client.containers.create(
                    image, None if entrypoint else step,
                    entrypoint=step if entrypoint else None, labels=temporary,
                    mounts=mounts)
                container.start()
                pending = ""
                for chunk in container.logs(stream=True, follow=True):
                    pending += chunk.decode("utf-8", "replace")
                    *done, pending = pending.split("\n")
                    for line in map(plain, done):
                        tail = (tail + [line])[-40:]
                        if on_line:
                            on_line(line)
                if pending.strip():
                    tail.append(plain(pending))
                    if on_line:
                        on_line(plain(pending))
                status = container.wait()["StatusCode"]
                if status != 0:
                    shown = "\n".join(f"    {line}" for line in tail)
                    raise BuildError(f"build of {stage} failed at its last step (run by wake"
                                     f"{' with the build secrets' if files else ''}, exit "
                                     f"{status}): {command}\n{shown}")
                repository, name = split_ref(tag)
                changes = [f"CMD {json.dumps(config.get('Cmd') or [])}"]
                if entrypoint:
                    changes.append(f"ENTRYPOINT {json.dumps(entrypoint)}")
                container.commit(repository=repository, tag=name, changes=changes)
            finally:
                if container is not None:
                    container.remove(force=True)
                if volume is not None:
                    volume.remove(force=True)

    def import_tar(self, stream: IO[bytes], image: str, changes: list[str]) -> None:
        """`docker import` of a root filesystem tar stream as `image` (repo:tag)."""
        repository, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] \
            else (image, "", "latest")
        with self._translate(f"import {image}"):
            self._client.api.import_image(src=stream, repository=repository, tag=tag,
                                          changes=changes, stream_src=True)

    def tag(self, source: str, target: str) -> None:
        repository, tag = split_ref(target)
        with self._translate(f"tag {source} as {target}"):
            self._client.api.tag(source, repository, tag)

    def untag(self, ref: str) -> None:
        """Remove a tag, keeping the image's layers (and its other tags); a tag that is
        gone already is fine."""
        with self._translate(f"remove tag {ref}"), suppress(docker.errors.ImageNotFound):
            self._client.api.remove_image(ref, noprune=True)

    def remove_image(self, ref: str) -> bool:
        """Remove a tag (or an untagged image by id), never forced: an image a container
        uses stays, and DockerError says so. True when the image's own layers went; False
        when only the tag went (another tag, or an image built on it, still holds them)
        or the tag was gone already."""
        with self._translate(f"remove image {ref}"):
            try:
                answer = self._client.api.remove_image(ref, force=False, noprune=False)
            except docker.errors.ImageNotFound:
                return False
        return any("Deleted" in item for item in answer or ())

    def push(self, ref: str) -> str:
        """Push repo:tag to its registry; returns the manifest digest the registry gave."""
        repository, tag = split_ref(ref)
        digest = ""
        with self._translate(f"push {ref}"):
            for chunk in self._client.api.push(repository, tag, stream=True, decode=True):
                if "error" in chunk:
                    raise DockerError(f"push of {ref} failed: {chunk['error']}")
                digest = str((chunk.get("aux") or {}).get("Digest") or digest)
        return digest

    def pull(self, ref: str) -> None:
        """Pull repo:tag or repo@sha256:digest from its registry."""
        repository, tag = split_ref(ref)
        with self._translate(f"pull {ref}"):
            for chunk in self._client.api.pull(repository, tag, stream=True, decode=True):
                if "error" in chunk:
                    raise DockerError(f"pull of {ref} failed: {chunk['error']}")

    def identity(self) -> str:
        """Two URLs reach the same engine when this is equal: its ID (which engines on
        one machine share: it comes from /etc/docker/key.json) and its data root."""
        with self._translate("read the engine's info"):
            info = self._client.info()
        return f"{info.get('ID', '')} {info.get('DockerRootDir', '')}"

    def copy_images_to(self, target: Engine, tags: list[str], say: LineSink) -> None:
        """docker save | docker load of the tags `target` lacks (one stream: layers the
        images share travel once)."""
        missing = [t for t in tags if target.inspect(t) is None]
        if not missing:
            return
        size = sum(int((self.inspect(t) or {}).get("Size", 0)) for t in missing)
        say(f"{target.where}: loading {len(missing)} image{'s' if len(missing) > 1 else ''} "
            f"({size / 1e6:.0f} MB)")
        with self._translate(f"copy images to {target.where}"):
            # docker-py's get_image saves one image; /images/get takes several.
            api = self._client.api
            response = api._get(api._url("/images/get"), params={"names": missing},
                                stream=True)
            api._raise_for_status(response)
            for line in target._client.api.load_image(response.iter_content(1 << 20)):
                if isinstance(line, dict) and line.get("error"):
                    raise DockerError(f"{target.where}: docker load failed: {line['error']}")

    def read_file(self, image: str, path: str) -> bytes:
        """One file out of an image, without running it (create, copy out, remove)."""
        with self._translate(f"copy {path} out of {image}"):
            container = self._client.containers.create(image, command=["true"],
                                                       labels={TEMPORARY_LABEL: "1"})
            try:
                stream, _ = container.get_archive(path)
                archive = io.BytesIO(b"".join(stream))
            finally:
                container.remove(force=True)
        with tarfile.open(fileobj=archive) as tar:
            member = tar.next()
            handle = tar.extractfile(member) if member else None
            if handle is None:
                raise DockerError(f"docker: {path} in {image} is not a regular file")
            return handle.read()

    # --- containers -------------------------------------------------------------------

    def run_once(self, image: str, command: list[str] | str, env: dict[str, str] | None = None,
                 binds: dict[str, str] | None = None, labels: dict[str, str] | None = None,
                 timeout: float = 600, **options: Any) -> tuple[int, str]:
        """Run a throwaway container to completion; return its exit code and output.
        `binds` maps host folders to container folders (read-write)."""
        volumes = {host: {"bind": inside, "mode": "rw"} for host, inside in (binds or {}).items()}
        with self._translate(f"run {command!r} in {image}"):
            container = self._client.containers.run(
                image, command, detach=True, environment=env or {}, volumes=volumes,
                labels={TEMPORARY_LABEL: "1", **(labels or {})}, **options)
            try:
                status = container.wait(timeout=timeout)
                output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
            finally:
                container.remove(force=True)
        return int(status.get("StatusCode", 1)), output

    def run(self, image: str, name: str, labels: dict[str, str],
            env: dict[str, str] | None = None, command: list[str] | None = None,
            host_network: bool = False, hostname: str | None = None,
            restart: bool = True, files: dict[str, bytes] | None = None,
            cpu: float | None = None, memory_mb: int | None = None,
            ports: dict[int, tuple[str, int | None]] | None = None,
            log: tuple[str, dict[str, str]] | None = None,
            binds: dict[str, str] | None = None, network: str | None = None,
            extra_hosts: dict[str, str] | None = None) -> Container:
        """Start a long-lived container `name` (replacing a leftover of that name):
        with tini as PID 1 (signals reach the process), restarted unless stopped, with
        cpu/memory limits, `ports` published on (host address, port or None for any free
        one), a log driver and its options, on `network` (default: the engine's bridge),
        `extra_hosts` (name -> address) in its /etc/hosts, and `files` (path -> bytes,
        mode 0600) in place before it starts."""
        options: dict[str, Any] = {"init": True, "labels": labels, "environment": env or {},
                                   "hostname": hostname}
        if restart:
            options["restart_policy"] = {"Name": "unless-stopped"}
        if host_network:
            options["network_mode"] = "host"
        elif network:
            options["network"] = network
        if extra_hosts:
            options["extra_hosts"] = dict(extra_hosts)
        if cpu:
            options["nano_cpus"] = int(cpu * 1e9)
        if memory_mb:
            options["mem_limit"] = f"{memory_mb}m"
        if ports:
            options["ports"] = {f"{inside}/tcp": outside for inside, outside in ports.items()}
        if log:
            options["log_config"] = {"Type": log[0], "Config": log[1]}
        if binds:  # host path -> container path
            options["volumes"] = {host: {"bind": inside, "mode": "rw"}
                                  for host, inside in binds.items()}
        with self._translate(f"start {name}"):
            with suppress(docker.errors.NotFound):  # a leftover of a failed start
                self._client.containers.get(name).remove(force=True)
            container = self._client.containers.create(image, command=command, name=name,
                                                       **options)
            if files:
                container.put_archive("/", tar_files(files))
            container.start()
            container.reload()
            return _container(container)

    def ensure_network(self, name: str, labels: dict[str, str]) -> str:
        """A bridge network `name` (made if missing); its gateway address, which is this
        engine's host as its containers see it."""
        with self._translate(f"make network {name}"):
            try:
                network = self._client.networks.get(name)
            except docker.errors.NotFound:
                try:
                    network = self._client.networks.create(name, driver="bridge",
                                                           labels=labels)
                except docker.errors.APIError as exc:  # made meanwhile by another deploy
                    if exc.status_code != 409:
                        raise
                    network = self._client.networks.get(name)
            network.reload()
            for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
                if config.get("Gateway"):
                    return str(config["Gateway"]).split("/")[0]
        raise DockerError(f"{self.where}: network {name} has no gateway address")

    def remove_networks(self, labels: dict[str, str]) -> list[str]:
        """Remove the networks carrying `labels` (their containers gone first); names."""
        removed = []
        with self._translate("remove networks"):
            for network in self._client.networks.list(
                    filters={"label": [f"{k}={v}" for k, v in labels.items()]}):
                with suppress(docker.errors.NotFound):
                    network.remove()
                    removed.append(str(network.name))
        return removed

    def containers(self, labels: dict[str, str], all: bool = True) -> list[Container]:
        """Containers carrying every one of `labels` (running only unless `all`)."""
        self.api_calls += 1
        with self._translate("list containers"):
            found = self._client.containers.list(
                all=all, filters={"label": [f"{k}={v}" for k, v in labels.items()]})
            return [_container(c) for c in found]

    def container(self, name: str) -> Container | None:
        with self._translate(f"inspect container {name}"):
            try:
                return _container(self._client.containers.get(name))
            except docker.errors.NotFound:
                return None

    def stop(self, name: str, timeout: float) -> None:
        """Stop a container (SIGTERM, then SIGKILL after `timeout` s); it stays, stopped."""
        with self._translate(f"stop container {name}"):
            self._client.containers.get(name).stop(timeout=int(timeout))

    def start(self, name: str) -> Container:
        """Start a stopped container again."""
        with self._translate(f"start container {name}"):
            container = self._client.containers.get(name)
            container.start()
            container.reload()
            return _container(container)

    def remove(self, name: str, stop_timeout: float | None = None) -> None:
        """Remove a container (and its anonymous volumes); with `stop_timeout`, stop it
        gracefully first (SIGTERM, then SIGKILL after that many seconds)."""
        with self._translate(f"remove container {name}"):
            try:
                container = self._client.containers.get(name)
            except docker.errors.NotFound:
                return
            if stop_timeout is not None:
                with suppress(docker.errors.APIError):
                    container.stop(timeout=int(stop_timeout))
            container.remove(force=True, v=True)

    def remove_labelled(self, labels: dict[str, str], stop_timeout: float | None = None
                        ) -> list[Container]:
        """Remove every container carrying `labels`; returns what was removed."""
        removed = self.containers(labels)
        for container in removed:
            self.remove(container.id, stop_timeout)
        return removed

    def logs(self, name: str, tail: int = 50) -> str:
        """The last lines of a container's output, for a report: an app's (coloured) log
        lines come without escape sequences."""
        with self._translate(f"read the logs of {name}"):
            data: bytes = self._client.containers.get(name).logs(tail=tail)
        return "\n".join(map(plain, data.decode("utf-8", "replace").splitlines()))

    def exec_output(self, name: str, command: list[str]) -> tuple[int, bytes]:
        """Run a command in a running container; its exit code and its stdout, as bytes."""
        with self._translate(f"exec {command[:2]!r} in {name}"):
            code, output = self._client.containers.get(name).exec_run(command, stderr=False)
            return int(code), bytes(output)

    def exec_stream(self, name: str, command: list[str]) -> Iterator[bytes]:
        """Run a command in a running container and yield its stdout as it comes (until
        it ends or the caller stops reading)."""
        with self._translate(f"exec {command[:2]!r} in {name}"):
            result = self._client.containers.get(name).exec_run(command, stderr=False,
                                                                stream=True)
            yield from result.output

    def exec(self, name: str, command: list[str]) -> tuple[int, str]:
        """Run a command in a running container; its exit code and output."""
        with self._translate(f"exec {command!r} in {name}"):
            code, output = self._client.containers.get(name).exec_run(command)
            return int(code), bytes(output).decode("utf-8", "replace")


def tar_files(files: dict[str, bytes], mode: int = 0o600) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def close_all(engines: Iterable[Engine]) -> None:
    for engine in engines:
        engine.close()
