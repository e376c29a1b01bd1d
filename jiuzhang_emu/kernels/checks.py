"""Input checks shared by the kernel front ends.

Every check runs before native code and raises :class:`InputError` naming the
parameter, the expected and the actual value.
"""
import numbers

import numpy as np

from jiuzhang_emu.errors import InputError

#: What each ``kind`` of :func:`as_array` accepts (numpy dtype kinds), and the
#: dtype it converts to: bool and integers are exact in all of them.
_KINDS = {
    "real": ("biuf", np.float64),
    "complex": ("biufc", np.complex128),
    "integer": ("biuf", np.int64),  # floats only where every value is a whole number
}


def as_array(a, name, shape, kind):
    """Return ``a`` as a C-contiguous array of the ``kind``'s dtype (float64,
    complex128 or int64), after checking its shape and values.

    Parameters
    ----------
    a : array_like
    name : str
        The parameter, for the messages.
    shape : tuple of int or None
        The expected shape; None leaves that axis free.
    kind : {"real", "complex", "integer"}
        "real" refuses complex input (never drops an imaginary part);
        "integer" refuses floats that are not whole numbers.

    Returns
    -------
    ndarray
        Finite (and, for "integer", exactly the integers given).
    """
    try:
        arr = np.asarray(a)
    except Exception as exc:  # noqa: BLE001 - report any conversion failure the same way
        raise InputError(f"{name} must be array-like, got {type(a).__name__}") from exc
    wanted = "(" + ", ".join("n" if n is None else str(n) for n in shape) \
        + ("," if len(shape) == 1 else "") + ")"
    if arr.ndim != len(shape) or any(n is not None and n != m for n, m in zip(shape, arr.shape)):
        raise InputError(f"{name} must have shape {wanted}, got {arr.shape}")
    kinds, dtype = _KINDS[kind]
    if arr.dtype.kind not in kinds:
        what = {"real": "real numbers", "complex": "real or complex numbers",
                "integer": "integers"}[kind]
        raise InputError(f"{name} must hold {what}, got dtype {arr.dtype}")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InputError(f"{name} must be finite, got {arr[bad]} at index {bad}")
    if kind == "integer" and arr.dtype.kind in "fu":
        whole = (arr == np.round(arr)) & (np.abs(arr) < 2.0**63) if arr.dtype.kind == "f" \
            else arr <= np.iinfo(np.int64).max
        if not np.all(whole):
            bad = tuple(int(i) for i in np.argwhere(~whole)[0])
            raise InputError(f"{name} must hold integers of int64's range, got {arr[bad]} "
                             f"at index {bad}")
    return np.ascontiguousarray(arr, dtype=dtype)


def as_matrix(A, name="A", *, batch=False):
    """Return ``A`` as a C-contiguous float64 or complex128 square matrix
    (or stack of them when ``batch``)."""
    try:
        arr = np.asarray(A)
    except Exception as exc:  # noqa: BLE001 - report any conversion failure the same way
        raise InputError(f"{name} must be array-like, got {type(A).__name__}") from exc
    ndim = 3 if batch else 2
    what = "a stack of square matrices of shape (batch, n, n)" if batch else "a square matrix"
    if arr.ndim != ndim:
        raise InputError(f"{name} must be {what}, got an array of shape {arr.shape}")
    if arr.shape[-1] != arr.shape[-2]:
        raise InputError(f"{name} must be {what}, got shape {arr.shape}")
    return as_array(arr, name, arr.shape, "complex" if arr.dtype.kind == "c" else "real")


def check_symmetric(A, name="A"):
    """Raise unless A (or each matrix of a stack) equals its transpose to
    1e-10 relative to its largest entry."""
    diff = np.abs(A - np.swapaxes(A, -1, -2))
    scale = np.abs(A).max(axis=(-2, -1), keepdims=True) if A.size else 0
    bad = diff > 1e-10 * np.maximum(scale, np.finfo(float).tiny)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{name} must be symmetric (A == A.T), got |A - A.T| = {diff[idx]:.3g} "
            f"at index {idx}"
        )


def as_vector(v, name, length, *, batch_shape=()):
    """Return ``v`` as a finite float64/complex128 vector of the given length."""
    kind = "complex" if np.asarray(v).dtype.kind == "c" else "real"
    return as_array(v, name, (*batch_shape, length), kind)


def as_reps(reps, length, name="reps"):
    """Return repetition counts (one per row) as an int64 vector of
    non-negative integers; None means once each."""
    if reps is None:
        return np.ones(length, dtype=np.int64)
    arr = as_array(reps, name, (length,), "integer")
    if np.any(arr < 0):
        raise InputError(f"{name} must be non-negative, got {arr}")
    return arr


def check_real(value, name, *, low=None, high=None, low_open=False, what=None):
    """Return ``value`` as a float after checking that it is one finite real
    number (not a bool, a string, None or an array) with low <= value <= high
    (low < value when ``low_open``); bounds of None are not checked.

    ``what`` replaces the generated description of the expected value in the
    message, which names the parameter, the expected and the actual value.
    """
    if what is None:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            bounds.append(f"<= {high:g}")
        what = "a finite real number" + (f" {' and '.join(bounds)}" if bounds else "")
    ok = (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real)
          and np.isfinite(value))
    if ok:
        value = float(value)
        ok = ((low is None or (value > low if low_open else value >= low))
              and (high is None or value <= high))
    if not ok:
        raise InputError(f"{name} must be {what}, got {value!r}")
    return value


def check_integer(value, name, *, low=None, high=None):
    """Return ``value`` as an int after checking that it is an integer (a
    Python or numpy integer, not a bool and not a float such as 2.0) in
    [low, high]; bounds of None are not checked."""
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral)
    if ok:
        value = int(value)
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        bounds = " and ".join([*([f">= {low}"] if low is not None else []),
                               *([f"<= {high}"] if high is not None else [])])
        raise InputError(f"{name} must be an integer{' ' + bounds if bounds else ''}, "
                         f"got {value!r}")
    return value


def check_finite_result(values, what, name, scale):
    """Raise unless every kernel value is finite.

    Finite inputs whose entries are too large make a kernel overflow float64
    (inf, or inf - inf = NaN); that is refused here, naming the input
    ``name`` and its ``scale`` (the measure that overflowed), rather than
    returned silently.
    """
    values = np.asarray(values)
    if not np.all(np.isfinite(values)):
        bad = values[~np.isfinite(values)].flat[0]
        raise InputError(f"{what} overflows float64 (got {bad}) for {name} with {scale}: the "
                         f"value or a partial sum lies beyond ~1.8e308; scale the input down")
    return values


def check_max_seconds(max_seconds):
    """``max_seconds`` as a float > 0, or None (no limit); NaN, which would
    compare False and lift the limit, is refused."""
    if max_seconds is None:
        return None
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, numbers.Real) \
            or not max_seconds > 0:
        raise InputError(f"max_seconds must be None or a positive number, got {max_seconds!r}")
    return float(max_seconds)
