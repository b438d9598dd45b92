r"""Real-data attention-classification instances: two digit classes of scikit-learn's bundled ``load_digits``.

``load_digits`` ships inside scikit-learn (1797 grey-level images of 8 x 8 pixels, values 0..16, about 180 per
digit), so building an instance needs no network. scikit-learn is optional (the ``data`` extra) and is imported
only when an instance is built.

Construction
------------
Choose two distinct digit classes $A \ne B$, a patch size $P \in \{1, 2, 4\}$ (a divisor of 8 with at least two
patches per image) and a number of images $n \ge 2$.

1. **Images.** $n_A = \lceil n/2 \rceil$ images of class $A$ and $n_B = \lfloor n/2 \rfloor$ of class $B$: the
   first ones in the data set's order, or (with a seed $S$) the first ones of a permutation of each class drawn by
   ``numpy.random.default_rng(S)`` (class $A$ first, then $B$, from the same generator). Sequence $i$ is the
   $i$-th selected image, class $A$ first; its label is $y_i = +1$ for $A$ and $y_i = -1$ for $B$.
2. **Tokens.** Each image $I_i \in \{0, \dots, 16\}^{8\times 8}$ is cut into $T = (8/P)^2$ non-overlapping
   $P\times P$ patches, numbered row by row ($t = r\,(8/P) + c$ for the patch in block row $r$, block column $c$),
   each flattened row by row into $\tilde x_{i,t} = \mathrm{vec}(\text{patch})/16 \in [0, 1]^{d}$, $d = P^2$.
   ($P = 4$: $T = 4$ tokens of $d = 16$; $P = 2$: $T = 16$ tokens of $d = 4$; $P = 1$: $T = 64$ of $d = 1$.)
3. **Decoder.** With the class means of the patches over the selected images and all positions,
   $m_C = \frac{1}{n_C T}\sum_{i: \text{class } C}\sum_t \tilde x_{i,t}$,

   $$u = \frac{m_A - m_B}{\|m_A - m_B\|}.$$

4. **Scaling** (``center``, the default): $x_{i,t} = \tilde x_{i,t} - \tfrac12 (m_A + m_B)$. The model
   $f_i = u^\top X_i^\top s_i$ has no bias, and a token's score is then
   $u^\top x = \big(\|\tilde x - m_B\|^2 - \|\tilde x - m_A\|^2\big) / (2\|m_A - m_B\|)$: positive exactly when the
   patch is nearer the mean patch of class $A$ than that of $B$. The decoder applied to one attended patch is the
   nearest-class-mean rule, and $y_i u^\top x_{i,t} > 0$ says "this patch votes for the right class". Centering
   also removes the common positive offset of non-negative pixels, which makes every pair of raw tokens
   positively correlated. ``unit`` keeps $x_{i,t} = \tilde x_{i,t}$ (pixels in $[0, 1]$). The division by 16
   only fixes the units (a patch of full ink has norm $P$); the scores, hence the optimal tokens, do not depend on
   it.
5. **Query.** $z_i = \frac1T \sum_t x_{i,t}$, the image's mean token (a pooled, whole-image query), stored
   explicitly. The model's default query, the first token, is the top-left corner: at $P = 2$ it is blank
   (all zeros) in most images of 0 and 1, and a zero query makes every logit $x^\top W z_i$ zero for every $W$
   (that sequence never moves and its Att-SVM constraints cannot be met).
6. **Start.** $W_0 = 0$.

The logits are $a_{i,t} = x_{i,t}^\top W z_i$, the attention $s_i = \mathrm{softmax}(a_i)$ chooses which patches
of image $i$ the decoder reads, and the optimal token $\mathrm{opt}_i = \arg\max_t y_i u^\top x_{i,t}$ is the
patch that votes most clearly for the image's class (:mod:`theorems.attention.classifier`).

The construction is recorded in the instance's ``meta`` (``source``, ``classes``, ``patch``, ``n``, ``seed``,
``indices`` into ``load_digits()``, ``scaling``, ``query``, ``decoder``, the scikit-learn version), and
:func:`rebuild` reproduces the instance exactly from it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorems.attention import classifier as ac
from verify.errors import MissingDependencyError, VerifyInputError

SOURCE = "sklearn.datasets.load_digits"
SCALINGS = ("center", "unit")
DEFAULT_N = 40
SIDE = 8  # load_digits images are 8 x 8
PATCHES = tuple(p for p in range(1, SIDE + 1) if SIDE % p == 0 and (SIDE // p) ** 2 >= 2)  # (1, 2, 4)
"""Patch sizes that give a valid instance: P divides 8 and leaves T = (8/P)^2 >= 2 tokens (P = 8 gives T = 1)."""


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray, str]:
    """(images (1797, 8, 8) float64, targets (1797,) int, scikit-learn's version); scikit-learn imported here."""
    try:
        import sklearn
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingDependencyError("the digits data set needs scikit-learn, which is not installed: "
                                     "pip install 'attention-verify[data]'") from None
    data = load_digits()
    return np.asarray(data.images, dtype=float), np.asarray(data.target, dtype=int), str(sklearn.__version__)


def check_arguments(classes: Any, patch: Any, n: Any, scaling: str = "center") -> tuple[tuple[int, int], int, int]:
    """Validate what does not need the data; one-line VerifyInputError otherwise."""
    try:
        a, b = classes
    except (TypeError, ValueError):
        raise VerifyInputError(f"--classes needs two digits A,B, got {classes!r}") from None
    if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c <= 9 for c in (a, b)):
        raise VerifyInputError(f"--classes must be digits 0..9, got {a},{b}")
    if a == b:
        raise VerifyInputError(f"--classes must be two different digits, got {a},{b}")
    a, b = int(a), int(b)
    if not isinstance(patch, int) or patch not in PATCHES:
        raise VerifyInputError(f"--patch must divide {SIDE} and leave at least 2 patches per image "
                               f"({', '.join(map(str, PATCHES))}), got {patch}")
    if not isinstance(n, int) or n < 2:
        raise VerifyInputError(f"--n must be an integer >= 2 (one image of each class at least), got {n}")
    if scaling not in SCALINGS:
        raise VerifyInputError(f"--scaling must be one of {', '.join(SCALINGS)}, got {scaling!r}")
    return (a, b), patch, n


def select_images(targets: np.ndarray, classes: tuple[int, int], n: int, seed: int | None) -> list[int]:
    """Indices of the n images: ceil(n/2) of class A then floor(n/2) of class B, the first ones in data-set order
    (seed None) or of a per-class permutation drawn by default_rng(seed). Raises when a class has too few."""
    counts = (math.ceil(n / 2), n // 2)
    have = [int(np.sum(targets == c)) for c in classes]
    most = min(2 * have[0], 2 * have[1] + 1)  # ceil(n/2) <= have[0] and floor(n/2) <= have[1]
    rng = None if seed is None else np.random.default_rng(seed)
    out: list[int] = []
    for c, k, h in zip(classes, counts, have, strict=True):
        pool = np.flatnonzero(targets == c)
        if k > h:
            raise VerifyInputError(f"--n {n} needs {k} images of digit {c}, but the data set has {h}: "
                                   f"--n can be at most {most} for digits {classes[0]},{classes[1]}")
        if rng is not None:
            pool = rng.permutation(pool)
        out.extend(int(i) for i in pool[:k])
    return out


def patches(images: np.ndarray, patch: int) -> np.ndarray:
    """(m, 8, 8) -> (m, T, P*P): non-overlapping P x P patches numbered row by row, each flattened row by row."""
    m, k = images.shape[0], SIDE // patch
    return images.reshape(m, k, patch, k, patch).transpose(0, 1, 3, 2, 4).reshape(m, k * k, patch * patch)


def digits_instance(classes: tuple[int, int] | list[int], patch: int, n: int = DEFAULT_N, seed: int | None = None,
                    scaling: str = "center", *, data: tuple[np.ndarray, np.ndarray, str] | None = None
                    ) -> ac.AttentionInstance:
    """The attention-classification instance of the module docstring's construction.

    ``data`` (images, targets, version) lets a caller that builds several instances load the data set once."""
    (a, b), patch, n = check_arguments(classes, patch, n, scaling)
    if seed is not None and not isinstance(seed, int):
        raise VerifyInputError(f"--seed must be an integer, got {seed!r}")
    images, targets, version = load_digits_arrays() if data is None else data
    idx = select_images(targets, (a, b), n, seed)
    n_a = math.ceil(n / 2)
    y = np.array([1.0] * n_a + [-1.0] * (n - n_a))
    raw = patches(images[idx], patch) / 16.0
    m_a, m_b = raw[y > 0].mean(axis=(0, 1)), raw[y < 0].mean(axis=(0, 1))
    diff = m_a - m_b
    nrm = float(np.linalg.norm(diff))
    if not nrm > 0:
        raise VerifyInputError(f"digits {a} and {b}: the two classes' mean patches coincide, so the decoder "
                               "u = (m_A - m_B)/||m_A - m_B|| is undefined")
    u = diff / nrm
    X = raw - 0.5 * (m_a + m_b) if scaling == "center" else raw
    z = X.mean(axis=1)
    meta = {
        "source": SOURCE, "sklearn_version": version, "builder": "theorems.attention.dataset.digits_instance",
        "classes": [a, b], "labels": {str(a): 1, str(b): -1}, "patch": patch, "n": n, "seed": seed,
        "indices": idx, "scaling": scaling,
        "pixels": "value/16" + (" - (m_A + m_B)/2" if scaling == "center" else ""),
        "query": "mean token", "decoder": "unit(m_A - m_B), class means of the patches", "W0": "zero",
    }
    return ac.make_instance(X, y, u, z, np.zeros((patch * patch, patch * patch)), meta)


def rebuild(meta: dict, *, data: tuple[np.ndarray, np.ndarray, str] | None = None) -> ac.AttentionInstance:
    """The instance a ``meta`` written by :func:`digits_instance` describes, rebuilt from the data set; raises when
    the rebuilt selection differs from the recorded ``indices`` (another scikit-learn data set, say)."""
    if not isinstance(meta, dict) or meta.get("source") != SOURCE:
        raise VerifyInputError(f"meta does not describe a {SOURCE} instance")
    inst = digits_instance(meta["classes"], meta["patch"], meta["n"], meta["seed"], meta["scaling"], data=data)
    if inst.meta["indices"] != meta["indices"]:
        raise VerifyInputError("the recorded image indices differ from the ones this data set selects")
    return inst
