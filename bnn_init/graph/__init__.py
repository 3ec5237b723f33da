"""The adapter from tf-keras graphs to the graph theory of `bnn_init.theory.maps`: walk a model,
map its layers (`register_layer` for your own), measure its tensors, predict them (`GraphTheory`),
and ``describe(model, x)`` the whole graph."""

from .describe import GraphDescription, LayerDescription, describe
from .registry import NodeMap, Unmapped, map_for, register_layer
from .theory import Chained, GraphTheory
from .walk import Graph, GraphNode, walk

__all__ = [
    "Chained",
    "Graph",
    "GraphDescription",
    "GraphNode",
    "GraphTheory",
    "LayerDescription",
    "NodeMap",
    "Unmapped",
    "describe",
    "map_for",
    "register_layer",
    "walk",
]
