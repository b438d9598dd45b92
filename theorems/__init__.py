"""Theorem modules (one per paper) and the shared models they use.

A theorem module exposes ``MODULE``, a :class:`verify.theory.TheoremModule`, and is registered under the
``verify.theorems`` entry-point group.
"""
