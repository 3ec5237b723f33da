"""The online (batch size 1) training loop shared by MFB-BackProp and the BackProp baseline.

Samples are learnt one at a time, in compiled chunks; between chunks the loop updates a Keras
progress bar and calls Keras callbacks. The logged training error of each kind is the mean error
over the last ``window`` samples, each measured just *before* that sample was learnt (Soudry & Meir 2013, sec. 5:
"During training, the classification error is averaged over the last 5000 samples").
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf  # bnn_init's __init__ has selected tf-keras

from bnn_init.primitives.checks import check_integer

from .converging import check_inputs, encode_targets

WINDOW = 5000


class OnlineTrainer:
    """What MFB-BackProp and the BackProp baseline share: ``fit``, the online loop `run_online`.

    A subclass sets ``input_dim``, ``outputs``, ``error_names`` (its log keys), ``_rng`` (the
    per-epoch shuffling generator) and ``stop_training``, and implements
    ``_learn_chunk(xs, ys, n)`` and ``evaluate(x, y)``.
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
        random order when ``shuffle`` (Soudry & Meir 2013, sec. 5 presents MNIST "repeatedly, each time with a
        randomized order").

        ``y``: integer labels (n,) for ``outputs >= 2``, or {-1, +1} labels (n,) / (n, O).
        ``callbacks``: Keras callbacks (``on_epoch_end`` gets the logs). ``validation_data``:
        ``(x_val, y_val)`` evaluated after every epoch. ``chunk_size``: samples per compiled call
        (progress bar and ``on_train_batch_end`` granularity).

        Returns a ``tf.keras.callbacks.History``: ``history.history[name]`` for every name of
        ``error_names`` is the training error at the end of every epoch, the mean over the last
        5000 samples, each measured before it was learnt.
        """
        return run_online(
            self,
            x,
            y,
            epochs=epochs,
            shuffle=shuffle,
            callbacks=callbacks,
            verbose=verbose,
            chunk_size=chunk_size,
            validation_data=validation_data,
            rng=self._rng,
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


def run_online(
    trainer,
    x,
    y,
    *,
    epochs,
    shuffle,
    callbacks,
    verbose,
    chunk_size,
    validation_data,
    rng,
):
    """Train ``trainer`` online on inputs ``x`` (n, D) and labels ``y`` (checked and encoded as
    {-1, +1} targets (n, O) for the trainer's ``input_dim`` and ``outputs``).

    ``trainer`` provides ``input_dim``, ``outputs``, ``error_names`` (log keys), ``_learn_chunk(xs, ys, n)`` returning a dict
    name -> per-sample errors, ``evaluate(x, y)`` and a ``stop_training`` attribute (callbacks
    such as ``EarlyStopping`` set it). Returns a ``tf.keras.callbacks.History`` whose ``history``
    maps each error name (and ``val_`` + name with ``validation_data``) to one value per epoch.
    """
    check_integer("epochs", epochs)
    check_integer("chunk_size", chunk_size)
    chunk_size = int(chunk_size)
    x = check_inputs(x, trainer.input_dim)
    targets = encode_targets(y, trainer.outputs)
    if targets.shape[0] != x.shape[0]:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {len(y)}")
    if validation_data is not None:
        validation_data = (check_inputs(validation_data[0], trainer.input_dim), validation_data[1])
    n = x.shape[0]
    history = tf.keras.callbacks.History()
    callbacks = [history, *(callbacks or [])]
    for cb in callbacks:
        cb.set_model(trainer)
        cb.set_params({"epochs": epochs, "steps": n, "verbose": verbose})
    trainer.stop_training = False
    window = ErrorWindow(trainer.error_names)
    trainer.training_curve_ = window
    xs_pad = np.zeros((chunk_size, x.shape[1]))
    ys_pad = np.zeros((chunk_size, targets.shape[1]))
    for cb in callbacks:
        cb.on_train_begin()
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        order = rng.permutation(n) if shuffle else np.arange(n)
        bar = tf.keras.utils.Progbar(n, verbose=verbose, stateful_metrics=trainer.error_names)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        for batch, start in enumerate(range(0, n, chunk_size)):
            idx = order[start : start + chunk_size]
            xs_pad[: len(idx)] = x[idx]
            ys_pad[: len(idx)] = targets[idx]
            errors = trainer._learn_chunk(xs_pad, ys_pad, len(idx))
            window.add({k: v[: len(idx)] for k, v in errors.items()})
            logs = {k: window.mean(k) for k in trainer.error_names}
            bar.update(start + len(idx), values=list(logs.items()))
            for cb in callbacks:
                cb.on_train_batch_end(batch, logs)
        logs = {k: window.mean(k) for k in trainer.error_names}
        if validation_data is not None:
            val = trainer.evaluate(*validation_data)
            logs.update({f"val_{k}": v for k, v in val.items()})
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if trainer.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end()
    return history
