"""Errors that reach the user as one line and exit code 2 (never a traceback)."""


class VerifyInputError(Exception):
    """A usage or input problem: malformed file, bad shape, NaN, invalid parameter, unknown id.

    The CLI prints ``error: <message>`` and exits with status 2.
    """


class InfeasibleProblemError(VerifyInputError):
    """The requested optimization problem (a max-margin problem, say) has no feasible point (a certificate of
    infeasibility was found)."""


class SolverError(VerifyInputError):
    """A convex solver failed or could not reach the accuracy a verdict needs."""


class MissingDependencyError(VerifyInputError):
    """An optional dependency (torch, gmpy2, python-flint, ...) is needed but not installed."""
