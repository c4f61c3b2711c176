"""Single points of failure: the one-pass DFS agrees with removing each node and edge by brute force."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from netwarden.discover.topology import _cuts


def _brute(g: nx.Graph, part: list[str]) -> tuple[dict[str, list[str]], dict[tuple[str, str], list[str]]]:
    sub = g.subgraph(part).copy()

    def cut_off(h: nx.Graph) -> list[str]:
        pieces = sorted((sorted(c) for c in nx.connected_components(h)), key=lambda c: (-len(c), c[0]))
        return sorted(n for p in pieces[1:] for n in p)

    nodes = {}
    for n in nx.articulation_points(sub):
        h = sub.copy()
        h.remove_node(n)
        nodes[n] = cut_off(h)
    edges = {}
    for u, v in nx.bridges(sub):
        h = sub.copy()
        h.remove_edge(u, v)
        edges[(min(u, v), max(u, v))] = cut_off(h)
    return nodes, dict(sorted(edges.items()))


graphs = st.integers(2, 14).flatmap(
    lambda n: st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=2 * n).map(
        lambda pairs: (n, pairs)
    )
)


@settings(max_examples=300)
@given(graphs)
def test_one_pass_equals_brute_force(spec: tuple[int, list[tuple[int, int]]]) -> None:
    n, pairs = spec
    g: nx.Graph = nx.Graph()
    g.add_nodes_from(f"d{i:02d}" for i in range(n))
    g.add_edges_from((f"d{a:02d}", f"d{b:02d}") for a, b in pairs if a != b)
    for comp in nx.connected_components(g):
        part = sorted(comp)
        if len(part) < 2:
            continue
        assert _cuts(g, part) == _brute(g, part)


def test_a_chain_and_an_isolated_device() -> None:
    g: nx.Graph = nx.Graph([("a", "b"), ("b", "c"), ("c", "d")])
    g.add_node("lonely")
    nodes, edges = _cuts(g, ["a", "b", "c", "d"])
    assert nodes == {"b": ["a"], "c": ["d"]}
    # Equal halves: the one holding the first name stays, the other is cut off.
    assert edges == {("a", "b"): ["a"], ("b", "c"): ["c", "d"], ("c", "d"): ["d"]}
