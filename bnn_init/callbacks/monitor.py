"""``SignalPropagationMonitor``: per-layer signal propagation measured during training against the
mean-field theory (Schoenholz et al. (2017), secs. 2-5), in TensorBoard and one line per epoch."""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from bnn_init import theory as mean_field
from bnn_init.graph import GraphTheory, statistics
from bnn_init.graph.measure import moments_from
from bnn_init.graph.theory import pre_activation_key
from bnn_init.primitives.checks import check_integer

from .figure import profile_png
from .prediction import predict, verdict
from .probe import Probe, is_frozen, kernel_of, per_example_loss
from .progress import DegradationTracker, ThresholdWatch, epoch_line
from .summaries import SummaryWriter, depth_scale_tag, is_chief, layer_tag

__all__ = ["SignalPropagationMonitor"]

_PREFIX = "SignalPropagationMonitor:"


class SignalPropagationMonitor(tf.keras.callbacks.Callback):
    """Watch whether signals and gradients propagate through every layer while a model trains.

    On a fixed probe batch, for each monitored layer l = 1..L (layers with one weight kernel, in
    topological order: Larq ``QuantDense``/``QuantConv2D``, Keras ``Dense``/``Conv2D``, surrogate
    layers), the monitor measures (Schoenholz et al. 2017, sec. 2 and 4, Fig. 4):

    - ``q``: q^l = E[(z^l)^2], the second moment of the pre-activations;
    - ``c``: c^l, the mean correlation of the pre-activations of paired probe inputs (first half of
      the batch paired with the second half);
    - with labels: ``grad_var`` = E[(dE/dz^l)^2] (per example) and ``kernel_grad_norm`` =
      ||dE/dW^l||^2 (of the mean loss);
    - ``saturation``: the share of pre-activations outside the quantizer's linear range (|z| >= r);
    - ``sign_flips``: the share of latent kernel entries whose sign changed since the last log.

    The theory (``theory="auto"``: `bnn_init.theory.describe`) predicts q^l and c^l from the
    measured first layer, and the gradient variance from the measured last layer by Schoenholz et al. 2017, eq. 15.
    With ``log_dir``, measured values are written to the TensorBoard run ``log_dir/measured`` and
    the theory's under the same tags to ``log_dir/theory``: tags
    ``signal_propagation/layer_{l:02d}/{q,c,grad_var,kernel_grad_norm,saturation,sign_flips}``,
    ``signal_propagation/depth_scale/{xi_c,xi_grad}`` (fitted from the measured c^l and gradient
    decay over the hidden layers vs the theory's xi_c, xi_grad), a custom-scalars layout and an
    image ``signal_propagation/profile`` per log. The headline numbers of each epoch's log go to
    ``monitor.history`` (name -> list, like Keras' ``History.history``): ``sp_c_last``,
    ``sp_q_ratio`` (q^L / q^1), ``sp_grad_ratio`` (E[delta_1^2] / E[delta_L^2]),
    ``sp_saturation``, ``sp_sign_flips``, ``sp_xi_c``, ``sp_xi_grad``; with ``keras_logs=True``
    also into Keras ``logs`` (History, CSVLogger; Keras' progress bar then prints them too).

    At the end of each logged epoch it prints one line that says what those numbers mean
    (``verbose=0`` turns it off), and, once, when the training accuracy falls 2 points below
    the best epoch so far, whether saturation or the gradient ratio moved with it
    (`bnn_init.callbacks.progress`).

    At train begin it prints one line with the theory's verdict: chi_1, xi_c and whether the
    depth L exceeds 6 xi_c (Schoenholz et al. 2017, sec. 5), with the critical initialisation that would fix it. It
    logs at train begin (step 0 of a fresh model) and then every ``every_n_epochs`` epochs and/or
    every ``every_n_steps`` training steps; the step is the optimizer's iteration count. The
    probe runs the model with ``training=False`` (no dropout, BatchNorm in inference mode) and
    changes nothing in it. NaN or inf values are logged as such, with one warning.

    Example:
        >>> monitor = SignalPropagationMonitor(x_train[:128], y_train[:128], log_dir="logs/bnn")  # doctest: +SKIP
        >>> model.fit(x_train, y_train, epochs=5, callbacks=[monitor])   # doctest: +SKIP
        SignalPropagationMonitor: HardTanhBNN(r=1.0, sigma_w2=1.0, sigma_b2=0.0): chi_1 = 1, ...
        >>> # tensorboard --logdir logs/bnn

    Args:
        probe_x: the probe inputs (64-256 examples suit; at least 2; paired as first half with
            second half).
        probe_y: labels for the probe inputs, or None (no gradient statistics). Gradients use the
            model's compiled loss.
        log_dir: TensorBoard log directory, or None (Keras ``logs`` only). Under
            ``MultiWorkerMirroredStrategy`` only the chief writes there (every worker measures
            and fills its own ``logs``).
        theory: ``"auto"``, a `bnn_init.theory` model, or None (measurements only).
        every_n_steps: log every this many training steps (None: never by steps).
        every_n_epochs: log every this many epochs (None: never by epochs).
        layers: ``"auto"`` (every layer with one weight kernel) or a list of layers or layer names.
        verbose: 1 (default) prints one line per logged epoch; 0 does not.
        keras_logs: also put the headline numbers into Keras ``logs`` (False).
    """

    def __init__(
        self,
        probe_x,
        probe_y=None,
        log_dir=None,
        theory="auto",
        every_n_steps=None,
        every_n_epochs=1,
        layers="auto",
        verbose=1,
        keras_logs=False,
    ):
        super().__init__()
        self.probe_x = tf.convert_to_tensor(probe_x)
        if self.probe_x.shape.rank is None or self.probe_x.shape.rank < 1:
            raise ValueError(f"probe_x must be a batch of examples, got shape {self.probe_x.shape}")
        if self.probe_x.shape[0] < 2:
            raise ValueError(
                f"probe_x has {self.probe_x.shape[0]} example(s); the pair correlation needs >= 2"
            )
        self.probe_y = None if probe_y is None else tf.convert_to_tensor(probe_y)
        if self.probe_y is not None and self.probe_y.shape[:1] != self.probe_x.shape[:1]:
            raise ValueError(
                f"probe_y has {self.probe_y.shape[:1]} examples but probe_x has "
                f"{self.probe_x.shape[:1]}: they must match"
            )
        if not (theory in ("auto", None) or isinstance(theory, mean_field.MeanFieldModel)):
            raise TypeError(
                f"theory={theory!r} is not allowed: it must be 'auto', None or a bnn_init.theory "
                "model such as HardTanhBNN(...)"
            )
        if not (layers == "auto" or isinstance(layers, list | tuple)):
            raise TypeError(f"layers={layers!r} is not allowed: it must be 'auto' or a list")
        self.log_dir = log_dir
        self.theory = theory
        self.every_n_steps = (
            None if every_n_steps is None else check_integer("every_n_steps", every_n_steps)
        )
        self.every_n_epochs = (
            None if every_n_epochs is None else check_integer("every_n_epochs", every_n_epochs)
        )
        self.layers = layers
        if verbose not in (0, 1) or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0 or 1, got {verbose!r}")
        if not isinstance(keras_logs, bool):
            raise TypeError(f"keras_logs must be True or False, got {keras_logs!r}")
        self.verbose, self.keras_logs = verbose, keras_logs
        self.history = {}  # headline name -> one value per logged epoch of the last fit
        self._degradation = DegradationTracker()
        self.latest = None  # the last measurement: step, per-layer arrays, prediction, headline
        self._supports_tf_logs = True  # the monitor never reads the training logs
        self._set_up_for = None
        self._stopped = False
        self._said = set()
        self._renderer = None

    # ---------------------------------------------------------------- set-up
    def _say_once(self, key, line):
        if key not in self._said:
            self._said.add(key)
            print(f"{_PREFIX} {line}")

    def _set_up(self):
        model = self.model
        if self._set_up_for is model:
            return
        self.wait()  # what is pending for a previous model
        description = mean_field.describe(model)
        if self.layers == "auto":
            monitored = self._with_one_kernel(description.layers)
        else:
            monitored = self._resolve(self.layers)
        if not monitored:
            raise ValueError(f"model {model.name!r} has no layer with a single weight kernel")
        self._layers = monitored
        self._widths = np.array([int(kernel_of(layer).shape[-1]) for layer in monitored])
        self._frozen = np.array([is_frozen(layer) for layer in monitored])
        if self.theory == "auto":
            self._theory = description.theory
            self._theory_reason = description.reason
        else:
            self._theory = self.theory
            self._theory_reason = "given explicitly"
        self._linear_range = _linear_range(self._theory, description.linear_range)
        loss = per_example_loss(getattr(model, "loss", None))
        if self.probe_y is not None and loss is None:
            self._say_once(
                "loss", "the model has no single compiled loss: gradients are not measured"
            )
        self._graph, self._graph_reason = _graph_theory(model)
        self._nodes = self._node_of_layers(monitored)
        self._probe = Probe(model, monitored, loss, self._graph)
        self._with_labels = self.probe_y is not None and loss is not None
        writes = self.log_dir is not None and is_chief(model.distribute_strategy)
        self._writer = SummaryWriter(self.log_dir) if writes else None
        if self._writer is not None:
            self._writer.write_layout(len(monitored), [layer.name for layer in monitored])
        self._images = []  # pending image renderings (matplotlib runs beside training)
        self._previous_kernels = None
        self._warned_non_finite = False
        self._agreed_at_start = None  # layers whose local prediction held at the first log
        self._thresholds = ThresholdWatch()  # saturation and gradient ratio at the first log
        self._set_up_for = model

    def _node_of_layers(self, layers):
        """Monitored layer index -> (graph node index, key of its monitored tensor)."""
        if self._graph is None:
            return {}
        first = {}
        for index, node in enumerate(self._graph.graph.nodes):
            first.setdefault(id(node.layer), index)
        found = {}
        for position, layer in enumerate(layers):
            index = first.get(id(layer))
            if index is not None:
                node = self._graph.graph.nodes[index]
                found[position] = (index, pre_activation_key(node, self._graph.maps[index]))
        return found

    @property
    def monitored_layers(self):
        """The monitored layers, l = 1..L (known once the monitor has a model)."""
        self._set_up()
        return list(self._layers)

    def _with_one_kernel(self, layers):
        """The layers the probe can measure; the others are skipped with one warning."""
        kept, reasons = [], []
        for layer in layers:
            try:
                kernel_of(layer)
            except ValueError as err:
                reasons.append(str(err))
            else:
                kept.append(layer)
        if reasons:
            warnings.warn(
                f"{_PREFIX} skips {len(reasons)} layer(s) it cannot probe: "
                + "; ".join(reasons[:3])
                + ("; ..." if len(reasons) > 3 else ""),
                RuntimeWarning,
                stacklevel=3,
            )
        return kept

    def _resolve(self, layers):
        resolved = []
        for layer in layers:
            if isinstance(layer, str):
                layer = self.model.get_layer(layer)
            elif not isinstance(layer, tf.keras.layers.Layer):
                raise TypeError(f"layers entry {layer!r} is neither a Keras layer nor a layer name")
            kernel_of(layer)  # raises ValueError unless it has exactly one kernel
            resolved.append(layer)
        return resolved

    def _step(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return 0
        return int(tf.keras.backend.get_value(optimizer.iterations))

    # ---------------------------------------------------------------- Keras hooks
    # A callback never ends a user's run: what a hook cannot do, it reports once and stops.
    def on_train_begin(self, logs=None):
        self._guarded(self._train_begin)

    def on_train_batch_end(self, batch, logs=None):
        self._guarded(self._train_batch_end, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._guarded(self._epoch_end, epoch, logs)

    def on_train_end(self, logs=None):
        self._guarded(self.wait)

    def _guarded(self, hook, *args):
        if self._stopped:
            return
        try:
            hook(*args)
        except Exception as err:  # noqa: BLE001 (any failure: the user's training goes on)
            self._stopped = True
            warnings.warn(
                f"{_PREFIX} stops monitoring this run: {type(err).__name__}: {err}; "
                "training continues",
                RuntimeWarning,
                stacklevel=3,
            )

    def _train_begin(self):
        self._set_up()
        self.history, self._degradation = {}, DegradationTracker()  # per fit, as Keras' History
        depth = len(self._layers)
        if self._graph is not None:
            line = _graph_line(self._graph, len(self._nodes))
            print(f"{_PREFIX} {line}")
            if self._writer is not None:
                self._writer.text(self._step(), "signal_propagation/graph_theory", line)
        if self._theory is None:
            if self._graph is None:
                self._say_once(
                    "no-theory",
                    f"no theory applies ({self._theory_reason}; {self._graph_reason}); logging "
                    "measurements only",
                )
        else:
            line = verdict(self._theory, depth)
            print(f"{_PREFIX} {line}")
            if self._writer is not None:
                self._writer.text(self._step(), "signal_propagation/verdict", line)
        self.measure(wait=False)

    def _implements_train_batch_hooks(self):
        return self.every_n_steps is not None

    def _train_batch_end(self, logs):
        if self.every_n_steps is None:
            return
        step = self._step()
        if step % self.every_n_steps == 0:
            self._measure_into(logs, step)

    def _epoch_end(self, epoch, logs):
        if self.every_n_epochs is None or (epoch + 1) % self.every_n_epochs:
            return
        step = self._step()
        self._measure_into(logs, step)
        headline = self.latest["headline"]
        for name, value in headline.items():
            self.history.setdefault(name, []).append(value)
        if self.verbose:
            print(f"{_PREFIX} {epoch_line(epoch, headline)}")
        degrading = self._degradation.update(epoch, logs, headline)
        if degrading is not None:
            print(f"{_PREFIX} {degrading}")
            if self._writer is not None:
                self._writer.text(step, "signal_propagation/degradation", degrading)

    def _measure_into(self, logs, step):
        """Measure at ``step`` (once: an epoch end on a logged step reuses that measurement)."""
        if self.latest is None or self.latest["step"] != step:
            self.measure(step, wait=False)
        if logs is not None and self.keras_logs:
            logs.update(self.latest["headline"])

    def wait(self):
        """Block until every image of the logs so far is written, and flush the event files."""
        if self._set_up_for is None:
            return
        pending, self._images = self._images, []
        for future in pending:
            future.result()  # re-raises a rendering error here
        if self._writer is not None:
            self._writer.flush()

    # ---------------------------------------------------------------- one measurement
    def measure(self, step=None, wait=True):
        """Probe the model now, write the summaries, and return the headline numbers.

        The per-log image is rendered in a background thread; ``wait=True`` waits for it (the
        Keras hooks pass False and wait at train end).
        """
        self._set_up()
        step = self._step() if step is None else step
        out = self._probe(self.probe_x, self.probe_y if self._with_labels else None)
        measured = self._statistics(out)
        prediction = self._predict(measured)
        local, chained = self._graph_predictions(out["moments"], out["delta_square"], measured)
        fitted = self._fit(measured)
        self._check_finite(step, measured)
        self._check_band(step, measured, local)
        headline = self._headline(measured, fitted)
        for key, line in self._thresholds.update(step, headline):
            self._say_once(key, line)
        if self._writer is not None:
            self._write(step, measured, prediction, fitted, local, chained)
        self.latest = dict(
            step=step,
            measured=measured,
            prediction=prediction,
            fitted=fitted,
            local=local,
            chained=chained,
        )
        self.latest["headline"] = headline
        if wait:
            self.wait()
        return headline

    def _statistics(self, out):
        measured = {
            "q": np.array([statistics.second_moment(h) for h in out["h"]]),
            "c": np.array([statistics.pair_correlation(h) for h in out["h"]]),
        }
        if math.isfinite(self._linear_range):
            measured["saturation"] = np.array(
                [statistics.saturation_fraction(h, self._linear_range) for h in out["h"]]
            )
        if out["delta"] is not None:
            measured["grad_var"] = np.array([statistics.gradient_variance(d) for d in out["delta"]])
            measured["kernel_grad_norm"] = np.array(
                [statistics.squared_norm(g) for g in out["kernel_grad"]]
            )
            measured["kernel_grad_norm"][self._frozen] = np.nan  # not trained: no gradient
        kernels = self._probe.kernel_values()
        if self._previous_kernels is not None:
            measured["sign_flips"] = np.array(
                [
                    statistics.sign_flip_ratio(before, now)
                    for before, now in zip(self._previous_kernels, kernels, strict=True)
                ]
            )
            sizes = np.array([k.size for k in kernels])
            measured["sign_flips_total"] = float(
                np.sum(measured["sign_flips"] * sizes) / sizes.sum()
            )
        self._previous_kernels = kernels
        return measured

    def _predict(self, measured):
        if self._theory is None:
            return None
        q1, c1 = measured["q"][0], measured["c"][0]
        grad_last = measured["grad_var"][-1] if "grad_var" in measured else None
        if not (math.isfinite(q1) and math.isfinite(c1)):
            return None
        if grad_last is not None and not math.isfinite(grad_last):
            grad_last = None
        return predict(self._theory, q1, c1, self._widths, grad_last, self._linear_range)

    def _graph_predictions(self, recorded, delta_square, measured):
        """Local and chained graph-theory predictions at the monitored layers: {"q", "c" and,
        with labels, "grad_var": arrays} with NaN where a layer has none; (None, None) without a
        graph theory."""
        if self._graph is None:
            return None, None
        moments = moments_from(recorded)
        forward = {"local": self._graph.local(moments), "chained": self._graph.chained(moments)}
        depth = len(self._layers)
        names = ("q", "c", "grad_var") if "grad_var" in measured else ("q", "c")
        out = {kind: {name: np.full(depth, np.nan) for name in names} for kind in forward}
        for position, (index, key) in self._nodes.items():
            for kind, predicted in (
                ("local", forward["local"].get(index)),
                ("chained", forward["chained"].moments.get(key)),
            ):
                if predicted is not None:
                    out[kind]["q"][position] = predicted.q
                    out[kind]["c"][position] = predicted.c
        if "grad_var" in measured:
            anchors = {k: v for k, v in delta_square.items() if np.all(np.isfinite(v))}
            passes = {
                "local": self._graph.backward(moments, anchors, reanchor="all"),
                "chained": self._graph.backward(
                    forward["chained"].moments, anchors, reanchor="broken"
                ),
            }
            for kind, result in passes.items():
                for position, (_, key) in self._nodes.items():
                    value = result.get(key)
                    if value is not None:
                        out[kind]["grad_var"][position] = float(np.mean(value))
        return out["local"], out["chained"]

    def _check_band(self, step, measured, local):
        """Say once per layer when a layer whose local prediction held at the first log leaves
        the band (q within 10 %, c within 0.05) during training."""
        if local is None:
            return
        with np.errstate(invalid="ignore", divide="ignore"):
            inside = (np.abs(local["q"] / measured["q"] - 1.0) <= BAND_Q) & (
                np.abs(local["c"] - measured["c"]) <= BAND_C
            )
        if self._agreed_at_start is None:
            self._agreed_at_start = inside
            return
        left = [
            position
            for position in np.flatnonzero(self._agreed_at_start & ~inside)
            if f"band-{position}" not in self._said
        ]
        if not left:
            return
        self._said.update(f"band-{position}" for position in left)
        first = left[0]
        print(
            f"{_PREFIX} step {step}: {len(left)} layer(s) leave the theory's band (local q within "
            f"{BAND_Q:.0%}, c within {BAND_C}), first layer {first + 1:02d} "
            f"({self._layers[first].name}): measured q = {measured['q'][first]:.4g}, c = "
            f"{measured['c'][first]:.3f}; theory q = {local['q'][first]:.4g}, c = "
            f"{local['c'][first]:.3f}. Training has made weights depend on their inputs; "
            "signals are no longer those of a random network there"
        )

    def _fit(self, measured):
        """Depth scales fitted over the hidden layers (all layers but the first and the last)."""
        hidden = slice(1, -1) if len(self._layers) > 3 else slice(None)
        c_star = 1.0 if self._theory is None else float(self._theory.c_star)
        fitted = {"xi_c": statistics.fit_correlation_depth_scale(measured["c"][hidden], c_star)}
        if "grad_var" in measured:
            fitted["xi_grad"] = statistics.fit_gradient_depth_scale(
                measured["grad_var"][hidden], self._widths[hidden]
            )
        return fitted

    def _check_finite(self, step, measured):
        bad = [
            f"{name} of layer {index + 1}"
            for name, values in measured.items()
            for index, value in enumerate(np.atleast_1d(values))
            if not math.isfinite(value) and not (name == "kernel_grad_norm" and self._frozen[index])
        ]
        if bad and not self._warned_non_finite:
            self._warned_non_finite = True
            warnings.warn(
                f"{_PREFIX} non-finite values at step {step} ({', '.join(bad[:5])}"
                f"{', ...' if len(bad) > 5 else ''}); they are logged as NaN/inf and training "
                "continues (this warning is shown once)",
                RuntimeWarning,
                stacklevel=2,
            )

    def _headline(self, measured, fitted):
        q, c = measured["q"], measured["c"]
        headline = {"sp_c_last": float(c[-1]), "sp_q_ratio": _ratio(q[-1], q[0])}
        if "grad_var" in measured:
            headline["sp_grad_ratio"] = _ratio(measured["grad_var"][0], measured["grad_var"][-1])
        if "saturation" in measured:
            headline["sp_saturation"] = float(np.mean(measured["saturation"]))
        if "sign_flips_total" in measured:
            headline["sp_sign_flips"] = measured["sign_flips_total"]
        headline.update({f"sp_{name}": float(value) for name, value in fitted.items()})
        return headline

    def _write(self, step, measured, prediction, fitted, local=None, chained=None):
        per_layer = [k for k in measured if k != "sign_flips_total"]
        self._writer.scalars(
            "measured",
            step,
            {
                **{
                    layer_tag(index + 1, name): value
                    for name in per_layer
                    for index, value in enumerate(measured[name])
                    if not (name == "kernel_grad_norm" and self._frozen[index])
                },
                **{
                    depth_scale_tag(name): value
                    for name, value in fitted.items()
                    if math.isfinite(value) and value > 0  # a fit that describes decay
                },
            },
        )
        theory_curves = None
        if prediction is not None:
            theory_curves = {
                name: getattr(prediction, name)
                for name in ("q", "c", "grad_var", "saturation")
                if getattr(prediction, name) is not None
            }
            values = {
                layer_tag(index + 1, name): value
                for name, curve in theory_curves.items()
                for index, value in enumerate(curve)
            }
            values.update(_finite_depth_scales(prediction))
            self._writer.scalars("theory", step, values)
        elif chained is not None:
            theory_curves = chained
            self._writer.scalars("theory", step, _layer_values(chained))
        if local is not None:
            self._writer.scalars("theory_local", step, _layer_values(local))
        self._writer.flush()
        title = f"step {step}" + ("" if self._theory is None else f", theory {self._theory!r}")
        if self._renderer is None:
            self._renderer = ThreadPoolExecutor(1, thread_name_prefix="signal-propagation-image")
        self._images.append(
            self._renderer.submit(self._write_image, step, measured, theory_curves, title)
        )

    def _write_image(self, step, measured, theory_curves, title):
        self._writer.image(step, profile_png(measured, theory_curves, title))
        self._writer.flush()


BAND_Q = 0.10  # relative band of q around the local prediction
BAND_C = 0.05  # absolute band of c


def _graph_theory(model):
    """(GraphTheory, "") or (None, why not)."""
    try:
        return GraphTheory(model), ""
    except ValueError as error:
        return None, f"no graph theory: {error}"


def _graph_line(graph, monitored):
    """One line on what the graph theory maps."""
    weights = graph.weight_nodes
    mapped = round(graph.mapped_weight_share * len(weights))
    reasons = {}
    for name, reason in graph.unmapped():
        reasons.setdefault(reason, []).append(name)
    summary = "; ".join(
        f"{len(names)} x {reason} (e.g. {names[0]})" for reason, names in reasons.items()
    )
    return (
        f"graph theory maps {mapped} of {len(weights)} weight layers ({monitored} monitored); "
        "local predictions in run 'theory_local', chained ones in 'theory'"
        + (f"; re-anchors after: {summary}" if summary else "")
    )


def _layer_values(curves):
    """Tag -> value for the finite entries of per-layer curves {"q": ..., "c": ...}."""
    return {
        layer_tag(index + 1, name): float(value)
        for name, curve in curves.items()
        for index, value in enumerate(curve)
        if math.isfinite(value)
    }


def _finite_depth_scales(prediction):
    """The theory's depth scales as scalars, left out where infinite (the verdict says so)."""
    values = {}
    for name in ("xi_c", "xi_grad"):
        value = getattr(prediction, name)
        if math.isfinite(value):
            values[depth_scale_tag(name)] = value
    return values


def _linear_range(theory, described):
    """Half-width of the linear range for the saturation fraction: B_r's r (HardTanhBNN), the
    straight-through clip (SignNet), else what ``describe`` found."""
    for name in ("r", "ste_clip"):
        if hasattr(theory, name):
            return float(getattr(theory, name))
    return float(described)


def _ratio(numerator, denominator):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(numerator) / np.float64(denominator))
