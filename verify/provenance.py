"""Provenance tags (docs/catalogue.md, "Provenance tags"): where each piece of a theorem comes from.

- ``seed``    stated in a seed document;
- ``abs``     stated in the paper's abstract or a public summary;
- ``prior``   from the prior work the papers build on;
- ``derived`` follows from the definitions (a test confirms it numerically);
- ``recon``   our reconstruction: every constant and choice is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

TAGS = ("seed", "abs", "prior", "derived", "recon")


@dataclass(frozen=True)
class Provenance:
    """A set of provenance tags plus an optional note, e.g. ``Provenance(("seed", "abs"), "seed 001")``."""

    tags: tuple[str, ...]
    note: str = ""

    def __post_init__(self) -> None:
        if not self.tags:
            raise ValueError("a provenance needs at least one tag")
        bad = [t for t in self.tags if t not in TAGS]
        if bad:
            raise ValueError(f"unknown provenance tag(s) {bad}; expected some of {TAGS}")

    def label(self) -> str:
        """``[seed, abs: seed 001]``-style label used in reports."""
        inner = ", ".join(self.tags)
        return f"[{inner}: {self.note}]" if self.note else f"[{inner}]"

    def to_json(self) -> dict:
        return {"tags": list(self.tags), "note": self.note}


def prov(*tags: str, note: str = "") -> Provenance:
    """Shorthand constructor: ``prov("seed", "abs", note="001")``."""
    return Provenance(tuple(tags), note)
