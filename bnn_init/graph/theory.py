"""The mean-field theory of a whole Keras graph: the per-operation maps of `bnn_init.theory.maps`
composed along the model's call graph.

Two kinds of prediction, both from measured moments (`bnn_init.theory.moments.Moments`, keyed by
the tensor keys of `walk`):

- **local**: each layer's map applied to the measured moments of its own inputs (does this layer
  do what the theory says?);
- **chained**: the maps composed from the model's inputs on (where does the network drift from
  the theory?). A layer without a sound map (`registry.Unmapped`) re-anchors the chain on its
  measured output, and the prediction says so.

A sum is mapped as a sum of independent branches only when every pair of its inputs is independent
over units: one of them passes through a random weight layer after the last tensor they share
(Yang & Schoenholz 2017 treat residual shortcuts this way); otherwise it is unmapped.

Example:
    >>> theory = GraphTheory(model)                         # doctest: +SKIP
    >>> theory.mapped_weight_share                          # doctest: +SKIP
    0.88
    >>> local = theory.local(measured)                      # {node index: Moments}  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from bnn_init.theory.maps import Add, Pointwise
from bnn_init.theory.pooling import MaxPool

from .registry import NodeMap, Unmapped, batch_norm_inference, map_for
from .walk import walk

__all__ = ["Chained", "GraphTheory", "pre_activation_key"]


def pre_activation_key(node, node_map):
    """The key of a layer call's monitored tensor: its pre-activation (``(output, "pre")``) when
    the layer applies a mapped activation of its own, else its output."""
    if isinstance(node_map, NodeMap) and node_map.activation is not None:
        return (node.outputs[0], "pre")
    return node.outputs[0]


def _has_kernel(layer):
    return any(len(w.shape) >= 2 for w in layer.weights)


@dataclass(frozen=True)
class Chained:
    """A chained prediction: moments per tensor key, and the layers it re-anchored at (name,
    reason)."""

    moments: dict
    reanchored: tuple


class GraphTheory:
    """The composed theory of a functional or Sequential tf-keras ``model`` (module docstring);
    BatchNorm with batch statistics (training mode, how the monitor probes) or, with
    ``batch_statistics=False``, with its moving statistics (inference mode).

    Attributes:
        graph: the call graph (`walk.Graph`).
        maps: one `registry.NodeMap` or `registry.Unmapped` per node, in graph order.
        inputs: per node, the keys its map reads: the node's inputs, and for max pooling of a
            nondecreasing function's output f(u) also u (`bnn_init.theory.pooling.MaxPool`).
    """

    def __init__(self, model, batch_statistics=True):
        self.graph = walk(model)
        self.batch_statistics = bool(batch_statistics)
        maps = self._check_sums([self._map(node) for node in self.graph.nodes])
        self.maps, self.inputs = self._max_pools_through_functions(maps)

    def _map(self, node):
        if not self.batch_statistics and type(node.layer).__name__ == "BatchNormalization":
            return batch_norm_inference(node.layer)
        return map_for(node)

    # ---------------------------------------------------------------- structure
    def _check_sums(self, maps):
        """Unmap sums whose inputs are not independent over units (module docstring)."""
        producers = {}
        for index, node in enumerate(self.graph.nodes):
            for key in node.outputs:
                producers[key] = index
        ancestors, since_weights = {}, {}

        def lineage(key):
            if key in ancestors:
                return
            index = producers.get(key)
            if index is None:  # a model input
                ancestors[key], since_weights[key] = {key}, {key}
                return
            node, node_map = self.graph.nodes[index], maps[index]
            for parent in node.inputs:
                lineage(parent)
            ancestors[key] = {key}.union(*(ancestors[p] for p in node.inputs))
            random_mixing = isinstance(node_map, NodeMap) and node_map.weight_layer
            since_weights[key] = (
                {key} if random_mixing else {key}.union(*(since_weights[p] for p in node.inputs))
            )

        checked = []
        for node, node_map in zip(self.graph.nodes, maps, strict=True):
            if isinstance(node_map, NodeMap) and isinstance(node_map.pre, Add):
                for key in node.inputs:
                    lineage(key)
                inputs = node.inputs
                dependent = [
                    (a, b)
                    for i, a in enumerate(inputs)
                    for b in inputs[i + 1 :]
                    if since_weights[a] & ancestors[b] and since_weights[b] & ancestors[a]
                ]
                if dependent:
                    node_map = Unmapped(
                        "a sum of branches that share a tensor with no random weight layer "
                        "between them: they are not independent"
                    )
            checked.append(node_map)
        return checked

    def _max_pools_through_functions(self, maps):
        """(maps, inputs): a max pooling whose input is f(u), f a nondecreasing elementwise map
        (a layer's own activation, or an activation layer), also reads u."""
        producers = {key: i for i, node in enumerate(self.graph.nodes) for key in node.outputs}
        maps, inputs = list(maps), [tuple(node.inputs) for node in self.graph.nodes]
        for index, (node, node_map) in enumerate(zip(self.graph.nodes, maps, strict=True)):
            if not (isinstance(node_map, NodeMap) and isinstance(node_map.pre, MaxPool)):
                continue
            source = producers.get(node.inputs[0])
            made = maps[source] if source is not None else None
            if not isinstance(made, NodeMap):
                continue
            producer = self.graph.nodes[source]
            if made.activation is not None:
                function, before = made.activation, pre_activation_key(producer, made)
            elif isinstance(made.pre, Pointwise) and len(producer.inputs) == 1:
                function, before = made.pre, producer.inputs[0]
            else:
                continue
            if isinstance(function, Pointwise) and getattr(
                function.function, "nondecreasing", False
            ):
                maps[index] = NodeMap(replace(node_map.pre, through=function.function))
                inputs[index] = (node.inputs[0], before)
        return tuple(maps), tuple(inputs)

    @property
    def weight_nodes(self):
        """Indices of the layer calls with a weight kernel."""
        return [i for i, node in enumerate(self.graph.nodes) if _has_kernel(node.layer)]

    @property
    def mapped_weight_share(self) -> float:
        """Share of the weight layers that have a map (1.0 for a model without any)."""
        weights = self.weight_nodes
        if not weights:
            return 1.0
        return sum(isinstance(self.maps[i], NodeMap) for i in weights) / len(weights)

    def unmapped(self):
        """(layer name, reason) for every layer call without a map."""
        return [
            (node.name, m.reason)
            for node, m in zip(self.graph.nodes, self.maps, strict=True)
            if isinstance(m, Unmapped)
        ]

    def monitored_keys(self):
        """Every tensor key the theory can use as a measurement: the model inputs, every layer
        call's output, and the pre-activations of layers with a mapped activation."""
        keys = list(self.graph.inputs)
        for node, node_map in zip(self.graph.nodes, self.maps, strict=True):
            pre = pre_activation_key(node, node_map)
            if pre not in node.outputs:
                keys.append(pre)
            keys.extend(node.outputs)
        return keys

    # ---------------------------------------------------------------- predictions
    def local(self, measured: dict) -> dict:
        """{node index: predicted moments of its monitored tensor} for every mapped layer call
        whose inputs were all measured: its map applied to its measured inputs."""
        predicted = {}
        for index, node_map in enumerate(self.maps):
            inputs = [measured.get(key) for key in self.inputs[index]]
            if isinstance(node_map, Unmapped) or any(m is None for m in inputs):
                continue
            try:
                predicted[index] = node_map.forward(*inputs)[0]
            except ValueError:  # moments the map cannot take (e.g. non-finite measurements)
                continue
        return predicted

    def chained(self, measured: dict) -> Chained:
        """Moments of every tensor composed from the measured model inputs (module docstring)."""
        state = {key: measured.get(key) for key in self.graph.inputs}
        reanchored = []
        for node, node_map, keys in zip(self.graph.nodes, self.maps, self.inputs, strict=True):
            inputs = [state.get(key) for key in keys]
            reason = node_map.reason if isinstance(node_map, Unmapped) else None
            if reason is None and any(m is None for m in inputs):
                reason = "an input has no prediction"
            if reason is None:
                try:
                    pre, out = node_map.forward(*inputs)
                except ValueError as error:
                    reason = str(error)
                else:
                    state[pre_activation_key(node, node_map)] = pre
                    for key in node.outputs:
                        state[key] = out
                    continue
            reanchored.append((node.name, reason))
            for key in node.outputs:
                state[key] = measured.get(key)
        return Chained(state, tuple(reanchored))

    def backward(self, moments: dict, anchors: dict, reanchor="broken") -> dict:
        """{key: predicted per-channel E[delta^2], or None} for every layer call's output (and
        monitored pre-activation): what the maps give from the layers downstream, before any
        re-anchoring at that key; through each map's backward factor (gradient independence,
        Schoenholz et al. 2017, sec. 4; a tensor read by several layers gets the sum of their
        contributions).

        Args:
            moments: {key: Moments} at which the backward factors are evaluated (measured for
                local predictions, chained for chained ones).
            anchors: {key: measured per-channel E[delta^2]}.
            reanchor: "broken" re-anchors a key on its anchor only where the pass has no
                prediction (downstream of a layer without a map, or the last layer);
                "all" re-anchors every anchored key (local predictions: each layer from the
                measured ones just downstream).
        """
        total, broken, predicted = {}, set(), {}

        def settle(key):
            """The prediction at ``key``, recorded; returns what propagates further upstream."""
            value = None if key in broken else total.get(key)
            predicted[key] = value
            if key in anchors and (reanchor == "all" or value is None):
                value = anchors[key]
            return value

        for node, node_map, keys in zip(
            reversed(self.graph.nodes), reversed(self.maps), reversed(self.inputs), strict=True
        ):
            out = settle(node.outputs[0])
            pre_key = pre_activation_key(node, node_map)
            inputs = [moments.get(key) for key in keys]
            if (
                isinstance(node_map, Unmapped)
                or out is None
                or any(m is None for m in inputs)
                or moments.get(pre_key) is None
            ):
                broken.update(node.inputs)
                continue
            pre = out
            if pre_key != node.outputs[0]:
                (total[pre_key],) = node_map.activation.backward(out, moments[pre_key])
                pre = settle(pre_key)
                if pre is None:
                    broken.update(node.inputs)
                    continue
            for key, delta in zip(keys, node_map.pre.backward(pre, *inputs), strict=True):
                total[key] = total.get(key, 0.0) + np.asarray(delta, dtype=float)
        return predicted
