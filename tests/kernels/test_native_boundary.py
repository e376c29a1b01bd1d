"""The native boundary: every checked front end gives, for every dtype, order
and contiguity a user can pass (float32/float64/int/bool, complex64/complex128,
C and Fortran order, strided views, read-only arrays, int32/int64/uint8/bool
patterns, lists), exactly the result of the canonical C-contiguous array, and
refuses what it cannot take with an InputError naming the parameter; the typed
Cython layer itself refuses (never reinterprets) a wrong dtype or order."""
import numpy as np
import pytest

import jiuzhang_emu.kernels as jk
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import _kernels
from jiuzhang_emu import (
    Coherent,
    Experiment,
    SingleModeSqueezer,
    Threshold,
    TwoModeSqueezer,
    haar_unitary,
)
from jiuzhang_emu.samplers.exact import PhotonNumberSampler


def _f32(x):
    """x rounded to float32 / complex64: exact in every dtype the variants use."""
    x = np.asarray(x)
    return x.astype(np.complex64 if x.dtype.kind == "c" else np.float32).astype(
        np.complex128 if x.dtype.kind == "c" else np.float64)


def _readonly(x):
    x = x.copy()
    x.flags.writeable = False
    return x


def _strided(x):
    """The same numbers as a non-contiguous view (every other column)."""
    big = np.zeros((*x.shape[:-1], 2 * x.shape[-1]), dtype=x.dtype)
    big[..., ::2] = x
    return big[..., ::2]


def _variants(x):
    """(label, value) for every way a user may pass the canonical array x."""
    out = [("list", x.tolist()), ("readonly", _readonly(x)), ("strided", _strided(x)),
           ("reversed-view", x[..., ::-1].copy()[..., ::-1])]
    if x.ndim >= 2:
        out += [("fortran", np.asfortranarray(x)),
                ("fortran-readonly", _readonly(np.asfortranarray(x)))]
    if x.dtype.kind == "f":
        out.append(("float32", x.astype(np.float32)))
    if x.dtype.kind == "c":
        out.append(("complex64", x.astype(np.complex64)))
        if not np.any(x.imag):
            out.append(("float64", x.real.copy()))
    if x.dtype.kind in "fi" and np.all(x == np.round(x)):
        out += [("int64", x.astype(np.int64)), ("int32", x.astype(np.int32))]
        if np.all(x >= 0) and np.all(x < 256):
            out.append(("uint8", x.astype(np.uint8)))
        if np.all((x == 0) | (x == 1)):
            out.append(("bool", x.astype(bool)))
        if x.dtype.kind == "i":
            out.append(("float64", x.astype(np.float64)))
    return out


def _symmetric(n, seed, complex_=False):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) + (1j * rng.normal(size=(n, n)) if complex_ else 0)
    return _f32(A + A.T)


@pytest.fixture(scope="module")
def entries():
    """name -> (function of the keyword arrays, canonical keyword arrays)."""
    experiment = Experiment(  # displaced and lossy: every argument is an array
        [TwoModeSqueezer(0.9, 0.4), Coherent(0.5 - 0.6j), SingleModeSqueezer(0.7)],
        haar_unitary(4, rng=2).T * 0.7, Threshold(dark_count=0.05))
    G, v, block = experiment.vacuum_form()
    G, v = _f32(G), _f32(v)
    rng = np.random.default_rng(3)
    u = _f32(rng.random((6, 4)))
    patterns = (rng.random((5, 4)) < 0.5).astype(np.int64)
    state = experiment.marginal_state(np.arange(4))
    O = state.o_matrix()
    O = _f32((O + O.conj().T) / 2)  # rounding keeps it Hermitian
    gamma = _f32(0.1 * (rng.normal(size=4) + 1j * rng.normal(size=4)))
    gamma = np.concatenate([gamma, gamma.conj()])
    sampler = PhotonNumberSampler(experiment.marginal_state(np.arange(4)))
    loops, beta, uph = sampler._inputs(np.random.default_rng(1), 3)
    A, Ac = _symmetric(4, 1), _symmetric(4, 2, complex_=True)
    adjacency = np.array([[0, 1, 1, 0], [1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 0]], float)
    reps = np.array([2, 1, 0, 1])
    stack = _f32(np.stack([A, 2 * A, A + 1]))
    Os = np.stack([O, O, O])
    return {
        "hafnian": (lambda A, reps: jk.hafnian(A, reps), dict(A=A, reps=reps)),
        "hafnian-complex": (lambda A: jk.hafnian(A), dict(A=Ac)),
        "hafnian-integer": (lambda A: jk.hafnian(A), dict(A=adjacency)),
        "loop_hafnian": (lambda A, diag, reps: jk.loop_hafnian(A, diag, reps=reps),
                         dict(A=A, diag=_f32(np.arange(4.0) / 3), reps=reps)),
        "loop_hafnian-complex": (lambda A, diag: jk.loop_hafnian(A, diag),
                                 dict(A=Ac, diag=_f32(np.arange(4) * (1 - 1j) / 3))),
        "hafnian_batch": (lambda As: jk.hafnian_batch(As), dict(As=stack)),
        "loop_hafnian_batch": (lambda As, diags: jk.loop_hafnian_batch(As, diags),
                               dict(As=stack, diags=_f32(stack[:, 0] / 3))),
        "loop_hafnian_polynomial": (
            lambda A, loops, loops1, reps: jk.loop_hafnian_polynomial(A, loops, loops1, 4,
                                                                      reps=reps),
            dict(A=Ac, loops=_f32(np.arange(4) + 0.5j), loops1=_f32(np.ones(4) / 3),
                 reps=reps)),
        "torontonian": (lambda O: jk.torontonian(O), dict(O=O)),
        "torontonian-real": (lambda O: jk.torontonian(O), dict(O=O.real.copy())),
        "loop_torontonian": (lambda O, gamma: jk.loop_torontonian(O, gamma),
                             dict(O=O, gamma=gamma)),
        "torontonian_batch": (lambda Os: jk.torontonian_batch(Os), dict(Os=Os)),
        "loop_torontonian_batch": (lambda Os, gammas: jk.loop_torontonian_batch(Os, gammas),
                                   dict(Os=Os, gammas=np.stack([gamma, gamma / 2, gamma]))),
        "permanent": (lambda M: jk.permanent(M), dict(M=_f32(A + 0.5))),
        "permanent-complex": (lambda M: jk.permanent(M), dict(M=Ac)),
        "permanent-integer": (lambda M: jk.permanent(M), dict(M=adjacency)),
        "permanent_batch": (lambda Ms: jk.permanent_batch(Ms), dict(Ms=stack)),
        "sample_photons": (
            lambda B, loops, beta, u: jk.sample_photons(B, loops, beta, u, n_threads=1),
            dict(B=_f32(sampler._B), loops=_f32(loops), beta=_f32(beta), u=_f32(uph))),
        "sample_clicks": (lambda G, v, u: jk.sample_clicks(G, v, block, u, "extended"),
                          dict(G=G, v=v, u=u)),
        "click_probabilities": (
            lambda G, v, g, patterns: jk.click_probabilities(G, v, g, block, patterns),
            dict(G=G, v=v, g=_f32(np.array([0.9, 1.0, 0.75, 0.5])), patterns=patterns)),
    }


def _same(got, want, label):
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            _same(g, w, label)
        return
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=label)
    assert np.asarray(got).dtype == np.asarray(want).dtype, label


ENTRIES = ["hafnian", "hafnian-complex", "hafnian-integer", "loop_hafnian",
           "loop_hafnian-complex", "hafnian_batch", "loop_hafnian_batch",
           "loop_hafnian_polynomial", "torontonian", "torontonian-real", "loop_torontonian",
           "torontonian_batch", "loop_torontonian_batch", "permanent", "permanent-complex",
           "permanent-integer", "permanent_batch", "sample_photons", "sample_clicks",
           "click_probabilities"]


@pytest.mark.parametrize("name", ENTRIES)
def test_every_layout_and_dtype_gives_the_canonical_result(entries, name):
    function, arrays = entries[name]
    want = function(**arrays)
    checked = 0
    for arg, canonical in arrays.items():
        if canonical is None:
            continue
        for label, value in _variants(canonical):
            _same(function(**{**arrays, arg: value}), want, f"{name}: {arg} as {label}")
            checked += 1
    assert checked >= 5


def test_the_variants_cover_what_the_brief_lists():
    labels = {label for x in (np.eye(2), np.eye(2, dtype=complex), np.eye(2, dtype=np.int64))
              for label, _ in _variants(x)}
    assert {"float32", "int64", "int32", "uint8", "bool", "complex64", "fortran", "strided",
            "readonly", "list"} <= labels


BAD = {
    # name: (argument, bad value, words the message must hold)
    "hafnian": [("A", lambda a: a.astype(object), "A"),
                ("A", lambda a: np.where(np.eye(4, dtype=bool), np.nan, a), "finite"),
                ("A", lambda a: a[:3], "square"),
                ("reps", lambda r: r + 0.5, "reps"),
                ("reps", lambda r: r[:3], "reps")],
    "loop_hafnian": [("diag", lambda d: d[:3], "diag"),
                     ("diag", lambda d: np.full(4, np.nan), "finite")],
    "loop_hafnian_polynomial": [("loops", lambda x: x[:2], "loops"),
                                ("loops1", lambda x: np.full(4, np.inf), "finite")],
    "torontonian": [("O", lambda o: o[:, :7], "square"),
                    ("O", lambda o: np.full_like(o, np.nan), "finite")],
    "loop_torontonian": [("gamma", lambda g: g[:4], "gamma")],
    "permanent": [("M", lambda m: np.array(["a"]), "M")],
    "sample_photons": [("u", lambda u: u + 1j, "u"),
                       ("u", lambda u: u[:, :2], "u"),
                       ("u", lambda u: u + 2, "u"),
                       ("loops", lambda x: np.full_like(x, np.nan), "finite"),
                       ("beta", lambda x: x[:2], "beta"),
                       ("B", lambda b: b[:, :3], "B")],
    "sample_clicks": [("u", lambda u: u + 0.5j, "u"),
                      ("u", lambda u: np.full_like(u, np.nan), "finite"),
                      ("u", lambda u: -u, "u"),
                      ("G", lambda g: g + 0j, "G"),
                      ("G", lambda g: g[:5], "G"),
                      ("v", lambda v: v[:3], "v"),
                      ("u", lambda u: u[:, :0], "u")],
    "click_probabilities": [("patterns", lambda p: p + 0.5, "patterns"),
                            ("patterns", lambda p: p + 1j, "patterns"),
                            ("patterns", lambda p: 2 * p + 1, "patterns"),
                            ("patterns", lambda p: p[:, :3], "G"),
                            ("patterns", lambda p: p[:, :0], "patterns"),
                            ("g", lambda g: g + 1j, "g"),
                            ("g", lambda g: g + 1, "g"),
                            ("g", lambda g: g[:2], "g")],
}


@pytest.mark.parametrize("name,arg,bad,words",
                         [(n, *case) for n, cases in BAD.items() for case in cases])
def test_unsupported_input_is_an_input_error_naming_it(entries, no_native, name, arg, bad,
                                                       words):
    function, arrays = entries[name]
    with pytest.raises(InputError, match=words):
        function(**{**arrays, arg: bad(arrays[arg])})


def test_bad_tier_and_block_are_input_errors(entries, no_native):
    _, a = entries["sample_clicks"]
    with pytest.raises(InputError, match="tier"):
        jk.sample_clicks(a["G"], a["v"], 2, a["u"], "quad")
    with pytest.raises(InputError, match="block"):
        jk.sample_clicks(a["G"], a["v"], 2.0, a["u"])
    with pytest.raises(InputError, match="tier"):
        jk.loop_hafnian_polynomial(np.eye(2), np.ones(2), np.ones(2), 3, tier="double")
    with pytest.raises(InputError, match="n_z"):
        jk.loop_hafnian_polynomial(np.eye(2), np.ones(2), np.ones(2), 0)


# ---------------------------------------------------------------- the two known bugs


def test_fortran_uniforms_give_the_same_clicks(entries):
    """Fortran-ordered u used to be read as if C-ordered (other clicks)."""
    function, arrays = entries["sample_clicks"]
    u = np.random.default_rng(0).random((40, 4))
    want = function(**{**arrays, "u": u})
    got = function(**{**arrays, "u": np.asfortranarray(u)})
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, bool, np.int16])
def test_narrow_patterns_are_not_read_past_their_buffer(entries, dtype):
    """int32 patterns used to be read as int64, past the end of the buffer."""
    function, arrays = entries["click_probabilities"]
    patterns = (np.random.default_rng(1).random((64, 4)) < 0.4).astype(np.int64)
    want = function(**{**arrays, "patterns": patterns})
    got = function(**{**arrays, "patterns": patterns.astype(dtype)})
    np.testing.assert_array_equal(got[0], want[0])


def test_the_typed_layer_refuses_what_it_would_misread(entries):
    """A wrong dtype or order is an error there (ValueError, or TypeError from
    the dispatch of a fused real/complex entry), never a reinterpretation."""
    _, a = entries["click_probabilities"]
    G, v, g, patterns = a["G"], a["v"], a["g"], a["patterns"]
    block = G.shape[0] // patterns.shape[1]
    with pytest.raises(ValueError):
        _kernels.click_probabilities(G, v, g, block, patterns.astype(np.int32), "double", 1)
    with pytest.raises(ValueError):
        _kernels.sample_clicks(G, v, block, np.asfortranarray(np.ones((3, 4)) / 2), "double",
                               1)
    with pytest.raises(ValueError):
        _kernels.sample_clicks(G, v, block + 1, np.ones((3, 4)) / 2, "double", 1)
    with pytest.raises(TypeError):
        _kernels.permanent(np.eye(3, dtype=np.float32), 1, False)
    with pytest.raises(ValueError):
        _kernels.torontonian(np.eye(4), None, 1, "extended")  # extended reads long double
