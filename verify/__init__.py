"""verify: a symbolic-numeric toolkit that checks optimization theorems about attention.

The engine (this package) knows no paper. Theorem modules (``theorems/`` or third-party packages registered
under the ``verify.theorems`` entry-point group) supply the data: assumptions, constants, claims, provenance.
"""

__version__ = "0.1.0"
