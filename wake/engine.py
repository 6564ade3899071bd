"""The boundary with the Docker engine: connect, build, inspect, run.

Docker SDK errors are translated to DockerError/BuildError here, so nothing
above this module sees a docker.errors exception.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import docker
import docker.errors

from .errors import BuildError, DockerError

LineSink = Callable[[str], None]


@contextmanager
def translate(action: str) -> Iterator[None]:
    """Turn Docker SDK and connection errors into a DockerError naming the action."""
    try:
        yield
    except docker.errors.APIError as exc:
        reason = exc.explanation or str(exc)
        raise DockerError(f"docker: {action}: {reason}") from None
    except docker.errors.DockerException as exc:
        raise DockerError(f"docker: {action}: {exc}") from None
    except (ConnectionError, OSError) as exc:
        raise DockerError(f"docker: {action}: cannot reach the engine ({exc})") from None


def connect(base_url: str | None = None) -> docker.DockerClient:
    """A client for DOCKER_HOST (or base_url); fails with a hint when no engine answers."""
    try:
        client = (docker.DockerClient(base_url=base_url, timeout=600) if base_url
                  else docker.from_env(timeout=600))
        client.ping()
    except docker.errors.DockerException as exc:
        where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        reason = str(exc)
        if where.startswith("unix://") and not os.path.exists(where.removeprefix("unix://")):
            reason = "no socket there"
        raise DockerError(
            f"cannot reach a Docker engine at {where} ({reason}). Start one "
            "(scripts/ensure-env.sh does) or set DOCKER_HOST") from None
    return client


def inspect(client: docker.DockerClient, ref: str) -> dict[str, Any] | None:
    """An image's attributes, or None; the low-level call (the SDK's model objects
    triple the cost, which shows when thousands of stages are checked)."""
    with translate(f"inspect image {ref}"):
        try:
            attrs: dict[str, Any] = client.api.inspect_image(ref)  # type: ignore[no-untyped-call]
            return attrs
        except docker.errors.ImageNotFound:
            return None


_STEP = re.compile(r"^Step \d+/\d+ : ")


def build(client: docker.DockerClient, context: bytes | IO[bytes], tag: str, stage: str,
          on_line: LineSink | None = None, nocache: bool = False) -> None:
    """Build an image from a context tar (classic builder), streaming output lines.

    On failure, raises BuildError naming the stage, the failing step and its output.
    """
    step = ""
    step_output: list[str] = []
    image_id: str | None = None  # from the stream; saves an inspect when present
    with translate(f"build {stage}"):
        fileobj = io.BytesIO(context) if isinstance(context, bytes) else context
        stream = client.api.build(fileobj=fileobj, custom_context=True, tag=tag, rm=True,
                                  forcerm=True, decode=True, pull=False, nocache=nocache)
        for chunk in stream:
            text = chunk.get("stream", "")
            if text:
                for line in text.splitlines():
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
                raise BuildError(f"build of {stage} failed at {step or 'the start'}\n"
                                 f"{tail}\n  error: {chunk['error'].strip()}")
    if image_id is None and inspect(client, tag) is None:
        raise BuildError(f"build of {stage} finished without an image")


def run_once(client: docker.DockerClient, image: str, command: list[str] | str,
             **kwargs: Any) -> tuple[int, str]:
    """Run a throwaway container to completion; return its exit code and output."""
    with translate(f"run {command!r} in {image}"):
        labels = {"wake.temporary": "1", **kwargs.pop("labels", {})}
        container = client.containers.run(image, command, detach=True, labels=labels,
                                          **kwargs)
        try:
            status = container.wait(timeout=600)
            output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        finally:
            container.remove(force=True)
    return int(status.get("StatusCode", 1)), output


def read_file(client: docker.DockerClient, image: str, path: str) -> bytes:
    """One file out of an image, without running it (create, copy out, remove)."""
    with translate(f"copy {path} out of {image}"):
        container = client.containers.create(image, command=["true"],
                                             labels={"wake.temporary": "1"})
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
