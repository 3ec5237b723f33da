"""The adapter from tf-keras graphs to the graph theory of `bnn_init.theory.maps`."""

from .registry import NodeMap, Unmapped, map_for, register_layer
from .theory import Chained, GraphTheory
from .walk import Graph, GraphNode, walk

__all__ = [
    "Chained",
    "Graph",
    "GraphNode",
    "GraphTheory",
    "NodeMap",
    "Unmapped",
    "map_for",
    "register_layer",
    "walk",
]
