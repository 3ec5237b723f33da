"""The call graph of a tf-keras model: every layer call in topological order, nested models
expanded into their own layers, Sequential and functional models alike.

A tensor is named by a key (layer, node index, tensor index), Keras' own ``_keras_history``; the
inputs of a nested model are the tensors its caller passed in, so a graph spans model boundaries.

Example:
    >>> graph = walk(model)                                   # doctest: +SKIP
    >>> [(n.layer.name, len(n.inputs)) for n in graph.nodes][:3]   # doctest: +SKIP
    [('conv2d', 1), ('batch_normalization', 1), ('tf.__operators__.add', 2)]
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Graph", "GraphNode", "walk"]


@dataclass(frozen=True)
class GraphNode:
    """One layer call: the layer, the keys of its input and output tensors and their shapes."""

    layer: object
    inputs: tuple
    outputs: tuple
    input_shapes: tuple
    output_shapes: tuple

    @property
    def name(self) -> str:
        return self.layer.name


@dataclass(frozen=True)
class Graph:
    """Layer calls in topological order, and the keys of the model's input and output tensors."""

    nodes: tuple
    inputs: tuple
    outputs: tuple

    def producers(self) -> dict:
        """Output key -> the node that produces it."""
        return {key: node for node in self.nodes for key in node.outputs}


def _key(tensor):
    history = tensor._keras_history
    return (id(history.layer), history.node_index, history.tensor_index)


def _shape(tensor):
    return tuple(None if d is None else int(d) for d in tensor.shape)


def _flat(structure):
    import tensorflow as tf

    return tf.nest.flatten(structure)


def walk(model) -> Graph:
    """The call graph of a built functional or Sequential tf-keras ``model`` (see module docstring).

    Raises ValueError for models without a static graph (subclassed models), naming the model.
    """
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(
            f"model {model.name!r} is a subclassed model without a static layer graph; the "
            "graph theory needs a functional or Sequential model"
        )
    alias = {}
    nodes = []
    _walk_into(model, alias, nodes)

    def resolve(key):
        while key in alias:
            key = alias[key]
        return key

    resolved = tuple(
        GraphNode(
            n.layer,
            tuple(resolve(k) for k in n.inputs),
            n.outputs,
            n.input_shapes,
            n.output_shapes,
        )
        for n in nodes
    )
    inputs = tuple(resolve(_key(t)) for t in model.inputs)
    outputs = tuple(resolve(_key(t)) for t in _flat(model.outputs))
    return Graph(resolved, inputs, outputs)


def _walk_into(model, alias, nodes):
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if node.is_input:
                continue
            layer = node.layer
            inputs = [_key(t) for t in node.keras_inputs]
            outputs = [_key(t) for t in _flat(node.outputs)]
            if getattr(layer, "_is_graph_network", False):
                # a nested model: its input tensors are the caller's, its outputs are ours
                for inner, outer in zip(layer.inputs, inputs, strict=True):
                    alias[_key(inner)] = outer
                _walk_into(layer, alias, nodes)
                for inner, outer in zip(_flat(layer.outputs), outputs, strict=True):
                    alias[outer] = _key(inner)
                continue
            nodes.append(
                GraphNode(
                    layer,
                    tuple(inputs),
                    tuple(outputs),
                    tuple(_shape(t) for t in node.keras_inputs),
                    tuple(_shape(t) for t in _flat(node.outputs)),
                )
            )
