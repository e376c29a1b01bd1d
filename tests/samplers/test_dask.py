"""Sampling on a Dask cluster gives the same samples as a local run."""
import numpy as np
import pytest

from jiuzhang_emu import presets

distributed = pytest.importorskip("distributed")


def test_dask_local_cluster_same_samples():
    experiment = presets.jiuzhang_like(4, r=0.8, transmission=0.5, rng=3)
    reference = experiment.sample(200, rng=42).patterns
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_cluster = experiment.sample(200, rng=42, client=client).patterns
    np.testing.assert_array_equal(on_cluster, reference)
