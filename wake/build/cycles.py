"""Finding a cycle in a directed graph given as edges: the stage graph's check and
the apps' dependencies (deploy order) both name the cycle they find."""

from __future__ import annotations

import graphlib
from collections.abc import Iterable


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """A cycle of the directed edges as its nodes, the first repeated last and the
    smallest first (so the same graph always names it the same way); None if none."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for source, target in edges:
        sorter.add(target, source)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        loop = list(exc.args[1][:-1])
        start = loop.index(min(loop))
        loop = loop[start:] + loop[:start]
        return [*loop, loop[0]]
    return None
