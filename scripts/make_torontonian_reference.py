"""Generate high-precision torontonian reference values for Jiuzhang-1.0-like
click patterns (tests/data/torontonian_jiuzhang1_reference.npz).

The model: the released Jiuzhang 1.0 transfer matrix T (50 inputs x 100
outputs, losses folded in) fed by 25 two-mode squeezed vacua with the released
squeezing parameters (source k on inputs 2k, 2k+1), built with thewalrus
(independent of jiuzhang_emu).  For each chosen click pattern S the stored
matrix is O_S, the rows and columns of the full 100-mode O = I - Q^-1 that
belong to S, so that Tor(O_S) / sqrt(det Q) is the probability that exactly
the detectors in S click.

The reference Tor(O_S) is computed from the float64 entries of O_S taken as
exact, either with mpmath at 60 significant digits (``--engine mpmath``: M =
I - O_S rotated to the real xpxp basis by an explicit unitary) or with Arb ball
arithmetic at 200 bits through python-flint (``--engine arb``: a certified
enclosure, about seven times faster).  Both sum the 2^|S| subset terms with
Cholesky factors extended row by row (each subset's factor is its parent's
plus two rows).  Every operation is the high-precision library's.

Usage: python scripts/make_torontonian_reference.py [--clicks 16 20] [--seed 7]
       [--engine mpmath|arb]
Results are merged into the existing file.  One core: mpmath takes ~10 s at 16
clicks and ~20 min at 20; arb ~2 min at 20 clicks and ~45 min at 24.
"""
import argparse
import pathlib
import time

import mpmath as mp
import numpy as np
from thewalrus.quantum import Qmat
from thewalrus.symplectic import expand, passive_transformation, two_mode_squeezing

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "jiuzhang1"
OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "torontonian_jiuzhang1_reference.npz"


def jiuzhang1_O():
    T = np.load(DATA / "transfer_matrix.npy")  # (inputs, outputs)
    r = np.loadtxt(DATA / "squeezing_parameters.txt")
    n_in = T.shape[0]
    S = np.eye(2 * n_in)
    for k, rk in enumerate(r):
        S = expand(two_mode_squeezing(rk, 0.0), [2 * k, 2 * k + 1], n_in) @ S
    cov_in = S @ S.T
    _, cov = passive_transformation(np.zeros(2 * n_in), cov_in, T.T)
    Q = Qmat(cov)
    n_out = T.shape[1]
    mean_photons = (np.trace(cov) - 2 * n_out) / 4
    return np.eye(2 * n_out) - np.linalg.inv(Q), Q, mean_photons


def exactly_structured(O):
    """O made exactly Hermitian and exactly of quadrature structure (its
    float64 inverse misses both by rounding), so that the real-basis matrix is
    exactly real and the reference is the torontonian of the stored matrix."""
    n = O.shape[0] // 2
    X = np.roll(np.eye(2 * n), n, axis=1)
    O = (O + O.conj().T) / 2
    return np.ascontiguousarray((O + X @ O.conj() @ X) / 2)


def torontonian_mpmath(O, dps=60):
    """Tor(O) from the exact binary values of O, at ``dps`` digits."""
    with mp.workdps(dps):
        n = O.shape[0] // 2
        M = mp.eye(2 * n) - mp.matrix(O.tolist())
        U = mp.zeros(2 * n, 2 * n)
        s = 1 / mp.sqrt(2)
        for i in range(n):  # column 2i = x_i, 2i+1 = p_i; a = (x + ip)/sqrt2
            U[i, 2 * i], U[i, 2 * i + 1] = s, 1j * s
            U[i + n, 2 * i], U[i + n, 2 * i + 1] = s, -1j * s
        Mc = U.H * M * U
        imag = max(abs(mp.im(Mc[i, j])) for i in range(2 * n) for j in range(2 * n))
        assert imag < mp.mpf(10) ** (-dps + 10), imag
        Mr = [[mp.re(Mc[i, j]) for j in range(2 * n)] for i in range(2 * n)]

        L = [[mp.mpf(0)] * (2 * n) for _ in range(2 * n)]
        rows = [0] * (2 * n)
        total = [mp.mpf(0)]

        def extend(m, i):
            rows[m], rows[m + 1] = 2 * i, 2 * i + 1
            prod = mp.mpf(1)
            for r in (m, m + 1):
                Lr, Mrow = L[r], Mr[rows[r]]
                for c in range(r):
                    Lc = L[c]
                    Lr[c] = (Mrow[rows[c]] - mp.fdot(Lr[:c], Lc[:c])) / Lc[c]
                d = Mrow[rows[r]] - mp.fdot(Lr[:r], Lr[:r])
                assert d > 0
                Lr[r] = mp.sqrt(d)
                prod *= Lr[r]
            return prod

        def rec(first, size, sqrt_det):
            for i in range(first, n):
                sd = sqrt_det * extend(2 * size, i)
                term = 1 / sd
                total[0] += -term if (n - size - 1) % 2 else term
                rec(i + 1, size + 1, sd)

        total[0] += -1 if n % 2 else 1  # Z = {}
        rec(0, 0, mp.mpf(1))
        return total[0]


def torontonian_arb(O, prec=200):
    """Tor(O) as a certified Arb ball at ``prec`` bits."""
    from flint import acb, arb, ctx

    ctx.prec = prec
    n = O.shape[0] // 2
    M = [[(1 if i == j else 0) - acb(O[i, j].real, O[i, j].imag) for j in range(2 * n)]
         for i in range(2 * n)]
    Mr = [[None] * (2 * n) for _ in range(2 * n)]
    for i in range(n):  # the xpxp blocks of U^H M U, U as in torontonian_mpmath
        for j in range(n):
            A, B = M[i][j], M[i][n + j]
            Mr[2 * i][2 * j], Mr[2 * i][2 * j + 1] = (A + B).real, (B - A).imag
            Mr[2 * i + 1][2 * j], Mr[2 * i + 1][2 * j + 1] = (A + B).imag, (A - B).real
    L = [[arb(0)] * (2 * n) for _ in range(2 * n)]
    rows = [0] * (2 * n)
    total = [arb(-1 if n % 2 else 1)]

    def extend(m, i):
        rows[m], rows[m + 1] = 2 * i, 2 * i + 1
        prod = arb(1)
        for r in (m, m + 1):
            Lr, Mrow = L[r], Mr[rows[r]]
            for c in range(r):
                Lc, z = L[c], Mrow[rows[c]]
                for k in range(c):
                    z -= Lr[k] * Lc[k]
                Lr[c] = z / Lc[c]
            d = Mrow[rows[r]]
            for k in range(r):
                d -= Lr[k] * Lr[k]
            Lr[r] = d.sqrt()
            prod *= Lr[r]
        return prod

    def rec(first, size, sqrt_det):
        for i in range(first, n):
            sd = sqrt_det * extend(2 * size, i)
            total[0] += -1 / sd if (n - size - 1) % 2 else 1 / sd
            rec(i + 1, size + 1, sd)

    rec(0, 0, arb(1))
    return total[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, nargs="+", default=[16, 20])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engine", choices=["mpmath", "arb"], default="mpmath")
    args = parser.parse_args()
    O, Q, mean_photons = jiuzhang1_O()
    print(f"model total mean photon number {mean_photons:.2f}")
    n_out = O.shape[0] // 2
    sqrt_det_Q = np.sqrt(np.linalg.det(Q).real)
    record = dict(np.load(OUT)) if OUT.exists() else {}
    for k in args.clicks:
        # a pattern depends on the seed and its size only, whatever else is run
        rng = np.random.default_rng([args.seed, k])
        modes = np.sort(rng.choice(n_out, size=k, replace=False))
        idx = np.concatenate([modes, modes + n_out])
        O_S = exactly_structured(O[np.ix_(idx, idx)])
        t0 = time.time()
        if args.engine == "mpmath":
            tor = mp.nstr(torontonian_mpmath(O_S), 50)
        else:
            ball = torontonian_arb(O_S)
            tor = ball.mid().str(50, radius=False)
            assert float(ball.rad()) < 1e-30 * abs(float(ball.mid())), ball  # 30 digits certified
        print(f"{k} clicks: Tor = {tor}  p = {float(tor) / sqrt_det_Q:.6g}  "
              f"({args.engine}, {time.time() - t0:.0f} s)", flush=True)
        record[f"O_{k}"] = O_S
        record[f"modes_{k}"] = modes
        record[f"tor_{k}"] = np.array(tor)
        record[f"engine_{k}"] = np.array(args.engine)
    record["clicks"] = np.array(sorted(int(key[4:]) for key in record if key.startswith("tor_")))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **record)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
