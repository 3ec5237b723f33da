"""The online (batch size 1) training loop shared by MFB-BackProp and the BackProp baseline, for
one network (`OnlineTrainer.fit`) or for several side by side (`fit_side_by_side`).

Samples are learnt one at a time, in compiled chunks; between chunks the loop updates a Keras
progress bar and calls Keras callbacks. The logged training error of each kind is the mean error
over the last ``window`` samples, each measured just *before* that sample was learnt (Soudry &
Meir 2013, sec. 5: "During training, the classification error is averaged over the last 5000
samples").

Side by side, T networks of one kind and architecture learn T sample streams in one compiled
loop: step i updates network t with sample i of its own stream. The networks share nothing, so
each computes what it computes alone, up to the order of the sums inside a batched product
(float64 fields agree within 1e-12; float32 ones part in the last bits, and online learning
amplifies that over many samples), and one compiled call serves the paper's 10
teacher-student trials of a size, or BackProp's learning-rate scan. On 2 CPU cores the gain is
modest, because a step's cost grows almost linearly with T: 1.33x the samples per second of one
network after the other at M = 21, about 1x at M = 101 (``make bench``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf  # bnn_init's __init__ has selected tf-keras

from bnn_init.primitives.checks import check_integer

from .converging import check_inputs, encode_targets

WINDOW = 5000


class OnlineTrainer:
    """What MFB-BackProp and the BackProp baseline share: ``fit`` and `fit_side_by_side`.

    A subclass sets ``input_dim``, ``outputs``, ``error_names`` (its log keys), ``_rng`` (the
    per-epoch shuffling generator) and ``stop_training``, implements ``evaluate(x, y)``, and says
    what it learns: ``_state`` (a tuple of numpy arrays) with ``_set_state(state)``,
    ``_hyperparameters`` (a dict of floats, e.g. the learning rate) and the compiled
    ``_run_chunk(state, hyperparameters, xs, ys, n)``, which applies the online update to T
    networks at once (every array of ``state`` and ``hyperparameters`` with a leading axis of T;
    ``xs`` (chunk, T, D), ``ys`` (chunk, T, O), the first ``n`` rows real) and returns the new
    state and a dict name -> per-sample errors (chunk, T).
    """

    def fit(
        self,
        x,
        y,
        epochs=1,
        shuffle=True,
        callbacks=None,
        verbose=1,
        validation_data=None,
        chunk_size=1000,
    ):
        """Learn ``x`` sample by sample (batch size 1), ``epochs`` times, each time in a fresh
        random order when ``shuffle`` (Soudry & Meir 2013, sec. 5 presents MNIST "repeatedly, each
        time with a randomized order").

        ``y``: integer labels (n,) for ``outputs >= 2``, or {-1, +1} labels (n,) / (n, O).
        ``callbacks``: Keras callbacks (``on_epoch_end`` gets the logs). ``validation_data``:
        ``(x_val, y_val)`` evaluated after every epoch. ``chunk_size``: samples per compiled call
        (progress bar and ``on_train_batch_end`` granularity).

        Returns a ``tf.keras.callbacks.History``: ``history.history[name]`` for every name of
        ``error_names`` is the training error at the end of every epoch, the mean over the last
        5000 samples, each measured before it was learnt. Raises ``FloatingPointError`` when the
        weights stop being finite (e.g. BackProp with too large a learning rate).
        """
        return run_online(
            [self],
            [(x, y)],
            epochs=epochs,
            shuffle=shuffle,
            callbacks=callbacks,
            verbose=verbose,
            chunk_size=chunk_size,
            validation_data=validation_data,
        )[0]

    @property
    def diverged(self) -> bool:
        """Whether the learnt weights hold a number that is not finite."""
        return not all(np.all(np.isfinite(part)) for part in self._state)


def fit_side_by_side(trainers, streams, epochs=1, shuffle=True, chunk_size=1000):
    """Train T networks of one kind and architecture side by side, network t online on its own
    ``streams[t] = (x, y)`` (all of one length), as ``trainers[t].fit(x, y, epochs, shuffle,
    verbose=0)`` would, in one compiled loop. A network whose weights stop being finite is
    marked ``diverged`` while the others train on. Returns one
    ``tf.keras.callbacks.History`` per network.

    Example::

        >>> from bnn_init.datasets import teacher_student
        >>> from bnn_init.training import MFBNetwork
        >>> nets = [MFBNetwork(9, 9, 1, seed=trial) for trial in range(3)]
        >>> streams = [teacher_student(9, 2000, seed=t, teacher_seed=t) for t in range(3)]
        >>> histories = fit_side_by_side(nets, streams)
        >>> [sorted(h.history) for h in histories][0]
        ['error', 'pmfb_error']
    """
    return run_online(
        trainers,
        streams,
        epochs=epochs,
        shuffle=shuffle,
        callbacks=None,
        verbose=0,
        chunk_size=chunk_size,
        validation_data=None,
    )


class ErrorWindow:
    """Running mean of per-sample errors over the last ``window`` samples, plus a trace of that
    mean after every chunk (``samples``, ``values[name]``) for plotting learning curves."""

    def __init__(self, names, window=WINDOW):
        self.window = window
        self._buffers = {name: np.zeros(window) for name in names}
        self._count = 0
        self.samples = []
        self.values = {name: [] for name in names}

    def add(self, errors):
        n = len(next(iter(errors.values())))
        positions = (self._count + np.arange(n)) % self.window
        for name, values in errors.items():
            self._buffers[name][positions] = values
        self._count += n
        self.samples.append(self._count)
        for name in self.values:
            self.values[name].append(self.mean(name))

    def mean(self, name):
        filled = min(self._count, self.window)
        if filled == 0:
            return float("nan")
        if filled < self.window:
            return float(self._buffers[name][:filled].mean())
        return float(self._buffers[name].mean())


def _check_trainers(trainers, streams, callbacks, validation_data):
    if not trainers:
        raise ValueError("trainers must hold at least one network, got none")
    first = trainers[0]
    for trainer in trainers[1:]:
        same = type(trainer) is type(first) and all(
            a.shape == b.shape and a.dtype == b.dtype
            for a, b in zip(trainer._state, first._state, strict=True)
        )
        if not same:
            raise ValueError(
                "trainers must be networks of one kind, architecture and dtype, got "
                f"{type(first).__name__} and {type(trainer).__name__} with weights of shapes "
                f"{[a.shape for a in first._state]} and {[a.shape for a in trainer._state]}"
            )
    if len(streams) != len(trainers):
        raise ValueError(
            f"streams must hold one (x, y) per trainer ({len(trainers)}), got {len(streams)}"
        )
    if len(trainers) > 1 and (callbacks or validation_data is not None):
        raise ValueError("callbacks and validation_data need a single trainer")
    checked = {}  # a stream shared by several trainers (a learning-rate scan) is checked once
    for x, y in streams:
        if (id(x), id(y)) not in checked:
            inputs, targets = check_inputs(x, first.input_dim), encode_targets(y, first.outputs)
            if targets.shape[0] != inputs.shape[0]:
                raise ValueError(
                    f"x and y must have the same length, got {inputs.shape[0]} and {len(y)}"
                )
            checked[(id(x), id(y))] = (inputs, targets)
    data = [checked[(id(x), id(y))] for x, y in streams]
    if len({len(x) for x, _ in data}) > 1:
        raise ValueError(f"streams must all have one length, got {[len(x) for x, _ in data]}")
    return data


def _learn_chunk(trainers, xs, ys, n):
    """One compiled chunk for the T ``trainers``: xs (chunk, T, D), ys (chunk, T, O)."""
    state = tuple(np.stack(parts) for parts in zip(*(t._state for t in trainers), strict=True))
    dtype = state[0].dtype
    hyperparameters = tuple(
        np.array([t._hyperparameters[name] for t in trainers], dtype=dtype)
        for name in trainers[0]._hyperparameters
    )
    state, errors = trainers[0]._run_chunk(
        state, hyperparameters, xs.astype(dtype), ys.astype(dtype), np.int32(n)
    )
    state = [np.asarray(part) for part in state]
    for t, trainer in enumerate(trainers):
        trainer._set_state(tuple(part[t] for part in state))
    return {name: np.asarray(values)[:n] for name, values in errors.items()}


def run_online(
    trainers,
    streams,
    *,
    epochs,
    shuffle,
    callbacks,
    verbose,
    chunk_size,
    validation_data,
):
    """Train each of ``trainers`` online on its stream ``(x, y)`` of ``streams`` (inputs (n, D);
    labels checked and encoded as {-1, +1} targets (n, O) for the trainers' ``input_dim`` and
    ``outputs``), side by side.

    A trainer provides what `OnlineTrainer` lists and a ``stop_training`` attribute (callbacks
    such as ``EarlyStopping`` set it). With one trainer, ``callbacks``, ``validation_data`` and a
    progress bar (``verbose``) are available and a diverging network raises
    ``FloatingPointError``; with several, a diverged network does not disturb the others (they
    share no state). Returns one ``tf.keras.callbacks.History`` per trainer, whose ``history`` maps
    each error name (and ``val_`` + name with ``validation_data``) to one value per epoch.
    """
    check_integer("epochs", epochs)
    check_integer("chunk_size", chunk_size)
    chunk_size = int(chunk_size)
    data = _check_trainers(trainers, streams, callbacks, validation_data)
    first = trainers[0]
    if validation_data is not None:
        validation_data = (check_inputs(validation_data[0], first.input_dim), validation_data[1])
    n, names = len(data[0][0]), first.error_names
    histories = [tf.keras.callbacks.History() for _ in trainers]
    callbacks = list(callbacks or [])  # only with a single trainer (checked above)
    watchers = list(zip(histories, trainers, strict=True)) + [(cb, first) for cb in callbacks]
    for cb, trainer in watchers:
        cb.set_model(trainer)
        cb.set_params({"epochs": epochs, "steps": n, "verbose": verbose})
    windows = [ErrorWindow(names) for _ in trainers]
    for trainer, window in zip(trainers, windows, strict=True):
        trainer.stop_training = False
        trainer.training_curve_ = window
    xs = np.zeros((chunk_size, len(trainers), first.input_dim))
    ys = np.zeros((chunk_size, len(trainers), first.outputs))
    for cb, _ in watchers:
        cb.on_train_begin()
    for epoch in range(epochs):
        for cb, _ in watchers:
            cb.on_epoch_begin(epoch)
        orders = [t._rng.permutation(n) if shuffle else np.arange(n) for t in trainers]
        bar = tf.keras.utils.Progbar(n, verbose=verbose, stateful_metrics=names)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        for batch, start in enumerate(range(0, n, chunk_size)):
            count = min(chunk_size, n - start)
            for t, ((x, targets), order) in enumerate(zip(data, orders, strict=True)):
                idx = order[start : start + count]
                xs[:count, t], ys[:count, t] = x[idx], targets[idx]
            errors = _learn_chunk(trainers, xs, ys, count)
            for t, window in enumerate(windows):
                window.add({name: values[:, t] for name, values in errors.items()})
            if len(trainers) == 1 and first.diverged:
                raise FloatingPointError(
                    f"{type(first).__name__} diverged with {first._hyperparameters}: its weights "
                    "are no longer finite (a smaller learning rate may help)"
                )
            logs = {name: windows[0].mean(name) for name in names}
            bar.update(start + count, values=list(logs.items()))
            for cb in callbacks:
                cb.on_train_batch_end(batch, logs)
        for trainer, window, history in zip(trainers, windows, histories, strict=True):
            logs = {name: window.mean(name) for name in names}
            if validation_data is not None:
                val = trainer.evaluate(*validation_data)
                logs.update({f"val_{k}": v for k, v in val.items()})
            for cb in (history, *callbacks):
                cb.on_epoch_end(epoch, logs)
        if any(trainer.stop_training for trainer in trainers):
            break
    for cb, _ in watchers:
        cb.on_train_end()
    return histories
