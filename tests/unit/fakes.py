"""Fakes shared by unit tests: a wake Agent over a py-consul-shaped fake client."""

from __future__ import annotations

from typing import Any

from wake.consul import Agent


def agent_over(fake: Any, address: str = "10.213.0.2:8500", token: str | None = None
               ) -> Agent:
    """A real wake.consul.Agent (so its error translation runs) whose SDK client is
    `fake`, an object shaped like py-consul's (agent, status, operator, health, kv...)."""
    agent = Agent.__new__(Agent)
    agent.address, agent.timeout, agent._client, agent.token = address, 5.0, fake, token
    return agent
