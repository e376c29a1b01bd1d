"""Sample files: HDF5 (h5py), streamed batch by batch and resumable.

- :mod:`~jiuzhang_emu.files.format`: the file format ``jiuzhang_emu.samples``
  (datasets, attributes, metadata digest) and the checks every reader makes;
- :mod:`~jiuzhang_emu.files.storage`: crash-safe plumbing (the run lock,
  temporaries, recovery of a killed writer's file, full-disk handling);
- :mod:`~jiuzhang_emu.files.reading`: :func:`read_samples`,
  :func:`iter_patterns` (chunk by chunk), :func:`read_experiment`,
  :func:`check_width`, :func:`info`;
- :mod:`~jiuzhang_emu.files.writer`: :func:`write_samples`, a sink of the run
  engine (:mod:`jiuzhang_emu.samplers.engine`) that resumes and extends runs,
  and :func:`prepared_file`, where a prepared route keeps its construction;
- :mod:`~jiuzhang_emu.files.raw_formats`: readers and writers of the USTC
  Jiuzhang 1.0 and 2.0 raw sample files.
"""
from jiuzhang_emu.files.format import (
    DIGESTED,
    FORMAT,
    FORMAT_VERSION,
    LIBVER,
    SUFFIXES,
    SampleFileWriteError,
    check_sample_path,
    metadata_digest,
)
from jiuzhang_emu.files.raw_formats import (
    RawSamples,
    iter_jiuzhang1,
    iter_jiuzhang2,
    read_jiuzhang1,
    read_jiuzhang2,
    write_jiuzhang1,
    write_jiuzhang2,
)
from jiuzhang_emu.files.reading import (
    check_width,
    info,
    iter_patterns,
    read_experiment,
    read_samples,
)
from jiuzhang_emu.files.writer import WriteReport, prepared_file, write_samples

__all__ = ["DIGESTED", "FORMAT", "FORMAT_VERSION", "LIBVER", "SUFFIXES", "RawSamples",
           "SampleFileWriteError", "WriteReport", "check_sample_path", "check_width", "info",
           "iter_jiuzhang1", "iter_jiuzhang2", "iter_patterns", "metadata_digest", "prepared_file",
           "read_experiment", "read_jiuzhang1", "read_jiuzhang2", "read_samples",
           "write_jiuzhang1", "write_jiuzhang2", "write_samples"]
