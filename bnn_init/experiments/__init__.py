"""Reproductions of the papers' experiments, behind ``bnn-init reproduce NAME``."""
