"""Write the sample files of tests/data/legacy_*.h5 and the digests of
tests/data/legacy_samples.json with the code of the sample file format
before the seed's spawn key and the metadata digest were stored (commit
82fefd8), so that the tests can check that such files still read and resume
to the same samples, and that an int seed still gives the same samples.

Run from a checkout of that commit, with its extension built::

    PYTHONPATH=/path/to/that/checkout python tests/data/make_legacy_sample_files.py OUTDIR

That code wrote with ``libver="latest"``, which under HDF5 2.0 (h5py >= 3.15)
gives layout messages the HDF5 1.14 of the oldest supported h5py cannot read;
the committed files were then copied, attributes and dataset unchanged, into
the 1.10 format the writer now uses (``files.LIBVER``).
"""
import hashlib
import json
import os
import sys

import numpy as np

from jiuzhang_emu import files, presets, samplers
from jiuzhang_emu.samplers import engine

SHOTS = 5 * samplers.BATCH_SIZE + 17
SEED = 7


def experiment():
    return presets.random_experiment(4, rng=3)


def digest(patterns):
    """sha256 of the patterns as C-ordered int64."""
    return hashlib.sha256(patterns.astype("<i8").tobytes()).hexdigest()


def main(outdir):
    complete = os.path.join(outdir, "legacy_complete.h5")
    partial = os.path.join(outdir, "legacy_partial.h5")
    for path in (complete, partial):
        if os.path.exists(path):
            os.unlink(path)
    files.write_samples(complete, experiment(), SHOTS, rng=SEED)
    real = engine.iter_batches

    def interrupted(*args, **kwargs):  # Ctrl-C after two batches
        for k, item in enumerate(real(*args, **kwargs)):
            if k == 2:
                raise KeyboardInterrupt
            yield item

    engine.iter_batches = interrupted
    try:
        files.write_samples(partial, experiment(), SHOTS, rng=SEED)
    except KeyboardInterrupt:
        pass
    finally:
        engine.iter_batches = real
    record = {
        "shots": SHOTS, "seed": SEED, "experiment": "presets.random_experiment(4, rng=3)",
        "sample_int_seed": digest(samplers.sample(experiment(), SHOTS, rng=SEED).patterns),
        "sample_thermal_int_seed": digest(samplers.sample(experiment(), SHOTS, rng=SEED,
                                                          method="thermal").patterns),
        "sample_generator_5": digest(samplers.sample(
            experiment(), SHOTS, rng=np.random.default_rng(5)).patterns),
        "file_complete": digest(files.read_samples(complete).patterns),
        "partial_shots": files.read_samples(partial).shots,
    }
    with open(os.path.join(outdir, "legacy_samples.json"), "w") as handle:
        json.dump(record, handle, indent=1)
        handle.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
