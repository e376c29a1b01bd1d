"""Sample-file layouts: bytes per shot and write / read times of format
version 2 (bit-packed threshold patterns, uint8 pseudo-PNR counts, one batch
per chunk, gzip 4) against version 1 (int16, ~64 KiB chunks, gzip 1 +
shuffle), on synthetic patterns:

- threshold: Bernoulli(0.27) clicks, 8176 modes (Jiuzhang 4.0's width and
  click rate; independent modes, so compression sees no correlations);
- pseudo-PNR: 144 modes x 8 detectors, Binomial(8, q) counts with
  P(count > 0) = 0.27.

Rows are appended batch by batch by the writer's own sink
(``files.writer._FileSink``, SWMR, no chunk cache) as a run appends them, in
a file with the metadata of a small run rewritten to the width (an
experiment of 8176 modes takes long to build; sampling is not timed here).
Reads: ``read_samples`` (all int64), one pass of ``iter_patterns`` (default
chunks), and ``info``.  The row "v2, 1024-shot chunks" shows why version 2
chunks hold one batch: chunks that later batches rewrite are reallocated.

    python benchmarks/sample_files.py [--shots 10000] [--quick] [--json PATH]
"""
import argparse
import json
import os
import tempfile
import time
import types

import h5py
import numpy as np

from jiuzhang_emu import files, presets, samplers
from jiuzhang_emu.files import format as file_format
from jiuzhang_emu.files import storage, writer


class _BigChunks(file_format._Layout):
    chunk_rows = 1024


def _patterns(kind, shots, n_modes, rng):
    if kind == "threshold":
        return (rng.random((shots, n_modes)) < 0.27).astype(np.int8)
    return rng.binomial(8, 1 - 0.73 ** (1 / 8), (shots, n_modes)).astype(np.int8)


def _template(directory):
    path = os.path.join(directory, "template.h5")
    files.write_samples(path, presets.random_experiment(4, rng=3), samplers.BATCH_SIZE, rng=1,
                        method="uniform")
    with h5py.File(path, "r") as handle:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in handle.attrs.items()}


def _write(path, patterns, template, kind, layout_class, version):
    shots, n_modes = patterns.shape
    n_detectors = 8 if kind == "pseudo-PNR" else 1
    experiment = json.loads(template["experiment"])
    experiment["n_modes"] = n_modes
    experiment["detector"].update(kind=kind, n_detectors=n_detectors)
    attrs = dict(template, experiment=json.dumps(experiment), format_version=version,
                 shots=shots, completed_batches=0)
    attrs["metadata_sha256"] = files.metadata_digest(attrs)
    layout = layout_class(version, n_modes, kind, 1 if kind == "threshold" else n_detectors,
                          np.int16 if version == 1 else None)
    start = time.perf_counter()
    os.replace(storage._new_file(path, layout, attrs), path)
    with h5py.File(path, "r+", libver=files.LIBVER, locking=False, rdcc_nbytes=0) as handle:
        sink = writer._FileSink(handle)
        sink.start(types.SimpleNamespace(first_batch=0, first_shot=0))
        for index, first in enumerate(range(0, shots, samplers.BATCH_SIZE)):
            sink.add(index, patterns[first:first + samplers.BATCH_SIZE], 0.0)
    return time.perf_counter() - start


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run(shots, n_modes, pnr_modes, directory):
    rng = np.random.default_rng(1)
    template = _template(directory)
    rows = []
    cases = [("threshold", n_modes, 1, file_format._Layout),
             ("threshold", n_modes, 2, file_format._Layout),
             ("threshold", n_modes, 2, _BigChunks),
             ("pseudo-PNR", pnr_modes, 1, file_format._Layout),
             ("pseudo-PNR", pnr_modes, 2, file_format._Layout)]
    data = {}
    for kind, width, version, layout_class in cases:
        patterns = data.setdefault(kind, _patterns(kind, shots, width, rng))
        path = os.path.join(directory, f"{kind}-v{version}.h5")
        if os.path.exists(path):
            os.unlink(path)
        write = _write(path, patterns, template, kind, layout_class, version)
        read = _timed(lambda: files.read_samples(path))
        stream = _timed(lambda: [None for _ in files.iter_patterns(path)])
        summary = _timed(lambda: files.info(path))
        label = f"v{version}" + (", 1024-shot chunks" if layout_class is _BigChunks else "")
        rows.append({"kind": kind, "modes": width, "shots": shots, "layout": label,
                     "bytes_per_shot": os.path.getsize(path) / shots, "write_s": write,
                     "read_samples_s": read, "iter_patterns_s": stream, "info_s": summary})
        os.unlink(path)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=10_000)
    parser.add_argument("--modes", type=int, default=8176)
    parser.add_argument("--pnr-modes", type=int, default=144)
    parser.add_argument("--quick", action="store_true", help="640 shots of 1000 modes")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    shots, modes = (640, 1000) if args.quick else (args.shots, args.modes)
    with tempfile.TemporaryDirectory() as directory:
        rows = run(shots, modes, args.pnr_modes, directory)
    print(f"{'detector':>10} {'modes':>5} {'shots':>6} {'layout':>22} {'B/shot':>8} "
          f"{'write s':>8} {'read_samples s':>14} {'iter_patterns s':>15} {'info s':>7}")
    for row in rows:
        print(f"{row['kind']:>10} {row['modes']:5d} {row['shots']:6d} {row['layout']:>22} "
              f"{row['bytes_per_shot']:8.1f} {row['write_s']:8.2f} {row['read_samples_s']:14.2f} "
              f"{row['iter_patterns_s']:15.2f} {row['info_s']:7.2f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return rows


if __name__ == "__main__":
    main()
