"""The one way wake waits for something: `wait_until(predicate, timeout, what)`.

Every wait in the package (a Consul leader, a service passing, a dockerd answering, an
agent joining) goes through here, so each has a bound, a poll interval, and a timeout
message that says what was awaited and what was last seen. Built on tenacity (a
maintained retry library) rather than another hand-written deadline loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

from .errors import WakeError

T = TypeVar("T")


class Pending(WakeError):
    """Raised by a predicate to say "not yet, and here is why" (shown on timeout)."""


def wait_until(predicate: Callable[[], T | None], timeout: float, what: str,
               interval: float = 1.0, retry_on: tuple[type[BaseException], ...] = (),
               hint: str = "") -> T:
    """Call `predicate` until it returns something other than None/False; return that.

    A `Pending` (or one of `retry_on`, e.g. a Consul that does not answer yet) means
    "try again"; any other exception ends the wait at once. After `timeout` seconds,
    raise WakeError("{what}: not within N s (last: ...)"), plus `hint`.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout), wait=wait_fixed(interval), reraise=False,
        retry=(retry_if_exception_type((Pending, *retry_on))
               | retry_if_result(lambda value: value is None or value is False)))
    try:
        result = retrying(predicate)
        assert result is not None and result is not False
        return result
    except RetryError as exc:
        last = exc.last_attempt
        seen = ""
        if last.failed:
            error = last.exception()
            seen = f" (last: {error})" if error is not None else ""
        message = f"{what}: not within {timeout:g} s{seen}"
        raise WakeError(f"{message}; {hint}" if hint else message) from None
