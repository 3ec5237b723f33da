"""``describe(model, x)``: what the graph theory says about a Keras model on a probe batch (by
default 128 standard-normal inputs).

For every layer with a weight kernel, in graph order: the measured q and c of its pre-activation,
the local prediction (its map on its measured input) and the chained one (the maps composed from
the model's input, re-anchored after layers without a map), and the chained error-signal variance
E[delta^2] relative to the last weight layer's (for a fixed random readout of the outputs,
propagated back by each map, re-anchored where a layer has no map; Schoenholz et al. 2017,
eq. 15). From the chained curves: the correlation depth scale xi_c and the
gradient depth scale xi_grad fitted over the weight layers (2017, secs. 3-4), the first layer where
correlations collapse (c >= 0.99: inputs become indistinguishable) and the last (nearest the
input) where gradients have vanished (E[delta^2] below 1e-3 of the last weight layer's).

Example:
    >>> description = describe(model, x_train[:128])          # doctest: +SKIP
    >>> description = describe(model)                          # doctest: +SKIP
    >>> print(description)                                     # doctest: +SKIP
    QuickNetSmall: graph theory maps 23 of 26 weight layers ...
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import tensorflow as tf

from .measure import moments_from, recording
from .registry import NodeMap
from .statistics import fit_correlation_depth_scale, fit_gradient_depth_scale
from .theory import GraphTheory, pre_activation_key

__all__ = ["GraphDescription", "LayerDescription", "describe", "standard_normal_probe"]

COLLAPSED = 0.99
VANISHED = 1e-3
PROBE = 128  # examples of the default probe batch


def standard_normal_probe(model, examples=PROBE, seed=0):
    """``examples`` standard-normal inputs for each of the model's inputs (float32)."""
    rng = np.random.default_rng(seed)
    shapes = [tuple(t.shape[1:]) for t in model.inputs]
    if any(d is None for shape in shapes for d in shape):
        raise ValueError(
            f"model {model.name!r} has inputs of unknown size {shapes}: pass a probe batch x"
        )
    probes = [rng.standard_normal((examples, *shape)).astype(np.float32) for shape in shapes]
    return probes[0] if len(probes) == 1 else probes


@dataclass(frozen=True)
class LayerDescription:
    """One weight layer: measured, local and chained q and c (NaN where none), chained relative
    E[delta^2], and why it has no map ("" when it has one)."""

    name: str
    measured_q: float
    measured_c: float
    local_q: float
    local_c: float
    chained_q: float
    chained_c: float
    chained_grad: float
    unmapped: str


@dataclass(frozen=True)
class GraphDescription:
    """The per-layer table and the graph's depth scales (module docstring)."""

    model: str
    layers: tuple
    mapped_weight_share: float
    xi_c: float
    xi_grad: float
    collapses_at: str | None
    vanishes_at: str | None
    reanchored: tuple

    def __str__(self):
        lines = [
            f"{self.model}: graph theory maps {self.mapped_weight_share:.0%} of "
            f"{len(self.layers)} weight layers; chained xi_c = {_scale(self.xi_c)}, xi_grad = "
            f"{_scale(self.xi_grad)}; correlations collapse at "
            f"{self.collapses_at or 'no layer'}, gradients vanish at {self.vanishes_at or 'no layer'}",
            f"{'layer':<32} {'q':>10} {'local':>10} {'chained':>10} {'c':>7} {'local':>7} "
            f"{'chained':>7} {'E[d^2]':>9}",
        ]
        for row in self.layers:
            lines.append(
                f"{row.name:<32} {row.measured_q:>10.4g} {row.local_q:>10.4g} "
                f"{row.chained_q:>10.4g} {row.measured_c:>7.3f} {row.local_c:>7.3f} "
                f"{row.chained_c:>7.3f} {row.chained_grad:>9.3g}"
                + (f"  (no map: {row.unmapped})" if row.unmapped else "")
            )
        return "\n".join(lines)


def describe(model, x=None, batch_statistics=True) -> GraphDescription:
    """The graph theory of ``model`` anchored on the probe batch ``x`` (at least 2 examples,
    paired first half with second half; None: ``PROBE`` standard-normal inputs of the model's
    input shape, seed 0), BatchNorm with batch statistics (training mode) or with
    ``batch_statistics=False`` its moving ones (inference). Raises ValueError for subclassed
    models."""
    if x is None:
        x = standard_normal_probe(model)
    examples = len(tf.nest.flatten(x)[0])
    if examples < 2:
        raise ValueError(f"x has {examples} example(s); the pair correlation needs >= 2")
    theory = GraphTheory(model, batch_statistics)
    measured, delta_square = _measure_with_readout(model, theory, x)
    local = theory.local(measured)
    chained = theory.chained(measured)
    gradients = theory.backward(chained.moments, delta_square, reanchor="broken")
    nan = float("nan")
    rows = []
    for index in theory.weight_nodes:
        node, node_map = theory.graph.nodes[index], theory.maps[index]
        key = pre_activation_key(node, node_map)
        seen, mine, chain = measured.get(key), local.get(index), chained.moments.get(key)
        grad = gradients.get(key)
        rows.append(
            LayerDescription(
                name=node.name,
                measured_q=seen.q if seen else nan,
                measured_c=seen.c if seen else nan,
                local_q=mine.q if mine else nan,
                local_c=mine.c if mine else nan,
                chained_q=chain.q if chain else nan,
                chained_c=chain.c if chain else nan,
                chained_grad=float(np.mean(grad)) if grad is not None else nan,
                unmapped="" if isinstance(node_map, NodeMap) else node_map.reason,
            )
        )
    c = np.array([row.chained_c for row in rows])
    grad = np.array([row.chained_grad for row in rows])
    last = grad[np.isfinite(grad)][-1:] if np.isfinite(grad).any() else [1.0]
    grad = grad / last[0]
    rows = [replace(row, chained_grad=float(g)) for row, g in zip(rows, grad, strict=True)]
    widths = np.array([theory.graph.nodes[i].output_shapes[0][-1] for i in theory.weight_nodes])
    with np.errstate(invalid="ignore"):
        collapsed = [row.name for row in rows if row.chained_c >= COLLAPSED]
        vanished = [row.name for row in rows if row.chained_grad < VANISHED]
    return GraphDescription(
        model=model.name,
        layers=tuple(rows),
        mapped_weight_share=theory.mapped_weight_share,
        xi_c=_meaningful(fit_correlation_depth_scale(c[np.isfinite(c)])),
        xi_grad=_meaningful(
            fit_gradient_depth_scale(grad[np.isfinite(grad)], widths[np.isfinite(grad)])
        ),
        collapses_at=collapsed[0] if collapsed else None,
        vanishes_at=vanished[-1] if vanished else None,
        reanchored=chained.reanchored,
    )


def _meaningful(scale):
    """A fitted depth scale where it describes decay (finite or infinite and positive), else NaN
    (growth, or fewer than 3 layers to fit)."""
    return scale if scale > 0 else float("nan")


def _measure_with_readout(model, theory, x):
    """Moments of every tensor and per-channel E[delta^2] for the error signal of a fixed random
    readout of the outputs (loss sum(y * r), r standard normal, seed 0): what is measured does
    not depend on labels, and only ratios of E[delta^2] are reported."""
    recorded, tensors = {}, {}
    with tf.GradientTape() as tape:
        with recording(
            theory.graph, theory.maps, recorded, theory.batch_statistics, tensors=tensors, inputs=x
        ):
            outputs = tf.nest.flatten(model(x, training=False))
        loss = 0.0
        for index, output in enumerate(outputs):
            readout = tf.random.stateless_normal(tf.shape(output), seed=(0, index))
            loss += tf.reduce_sum(tf.cast(output, tf.float32) * readout)
    keys = list(tensors)
    grads = tape.gradient(loss, [tensors[k] for k in keys])
    moments = moments_from({key: np.asarray(value) for key, value in recorded.items()})
    delta_square = {}
    for key, grad in zip(keys, grads, strict=True):
        if grad is not None:
            square = np.square(np.asarray(grad, dtype=np.float64))
            delta_square[key] = square.reshape(-1, square.shape[-1]).mean(axis=0)
    return moments, delta_square


def _scale(value):
    return "n/a (no decay to fit)" if np.isnan(value) else f"{value:.3g}"
