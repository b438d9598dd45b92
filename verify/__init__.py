"""verify: a symbolic-numeric engine that checks optimization theorems numerically.

The engine (this package) knows no paper and no model. Models (``verify.models`` entry points, the
:class:`verify.model.Model` contract) say what an instance is and how methods run on it; theorem modules
(``verify.theorems`` entry points, :class:`verify.theory.TheoremModule`) supply the data: assumptions, constants,
claims, provenance. The toolkit's own live in ``theorems/``.
"""

__version__ = "0.1.0"
