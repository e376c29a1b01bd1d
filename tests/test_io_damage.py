"""Damaged sample files, damaged systematically: every attribute deleted,
every JSON attribute replaced by garbage, wrong types and shapes, bytes of
the metadata flipped.  Every reader (read_samples, read_experiment, info,
and write_samples resuming) must raise InputError naming the file and what
is wrong, never KeyError, JSONDecodeError, OSError or a hang, and must leave
the file as it was."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from jiuzhang_emu import __version__, files, presets, samplers
from jiuzhang_emu.errors import InputError

SHOTS = 3 * samplers.BATCH_SIZE + 5
DATA = pathlib.Path(__file__).parent / "data"
ATTRIBUTES = ("format", "format_version", "package_version", "experiment", "fingerprint",
              "method", "seed_entropy", "seed_spawn_key", "shots", "batch_size",
              "completed_batches", "unresolved_mass", "metadata_sha256")
JSON_ATTRIBUTES = ("experiment", "seed_entropy", "seed_spawn_key")


def _experiment():
    return presets.random_experiment(4, rng=3)


def _sha(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _readers(experiment=None):
    experiment = experiment or _experiment()
    return {
        "read_samples": files.read_samples,
        "read_experiment": files.read_experiment,
        "info": files.info,
        "resume": lambda path: files.write_samples(path, experiment, SHOTS, rng=11),
    }


def _assert_refused(path, *patterns, experiment=None):
    """Every reader raises InputError naming the file (and each pattern);
    the file is left unchanged."""
    before = _sha(path)
    for name, read in _readers(experiment).items():
        with pytest.raises(InputError) as caught:
            read(path)
        message = str(caught.value)
        assert os.path.basename(path) in message, (name, message)
        for pattern in patterns:
            assert pattern in message, (name, message)
    assert _sha(path) == before


def _redigest(handle):
    """What a writer of these (damaged) values would store as the digest."""
    values = {key: (value.decode() if isinstance(value, bytes) else value)
              for key, value in handle.attrs.items()}
    handle.attrs["metadata_sha256"] = files.metadata_digest(values)


@pytest.fixture
def sample_file(tmp_path):
    path = tmp_path / "run.h5"
    files.write_samples(path, _experiment(), SHOTS, rng=11)
    return path


@pytest.fixture
def legacy_file(tmp_path):
    """A file written by the code before the digest (82fefd8), made to look
    as if this version wrote it."""
    path = tmp_path / "legacy.h5"
    shutil.copyfile(DATA / "legacy_complete.h5", path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["package_version"] = __version__
    return path


@pytest.mark.parametrize("name", ATTRIBUTES)
def test_a_deleted_attribute_is_named(sample_file, name):
    with h5py.File(sample_file, "r+") as handle:
        del handle.attrs[name]
    if name == "format":
        _assert_refused(sample_file, "not a jiuzhang_emu sample file")
    elif name == "format_version":
        _assert_refused(sample_file, "format version")
    elif name == "metadata_sha256":  # with seed_spawn_key present, the digest must be
        _assert_refused(sample_file, "is damaged", "'metadata_sha256' missing")
    else:
        _assert_refused(sample_file, "is damaged", f"'{name}' missing")


@pytest.mark.parametrize("name", [a for a in ATTRIBUTES if a not in ("seed_spawn_key",
                                                                     "metadata_sha256")])
def test_a_deleted_attribute_of_an_old_file_is_named(legacy_file, name):
    with h5py.File(legacy_file, "r+") as handle:
        del handle.attrs[name]
    _assert_refused(legacy_file, repr(name) if name not in ("format", "format_version")
                    else "")


@pytest.mark.parametrize("garbage", ["{not json", "", "[1, 2", "\x01\x02 garbage"])
@pytest.mark.parametrize("name", JSON_ATTRIBUTES)
def test_garbage_json_is_metadata_damage(sample_file, name, garbage):
    with h5py.File(sample_file, "r+") as handle:
        handle.attrs[name] = garbage
    _assert_refused(sample_file, "metadata damaged")


@pytest.mark.parametrize("garbage", ["{not json", "", "[1, 2", "null", "[]", "{}", "-3",
                                     '"text"', "[1.5]", '{"name": 1}'])
@pytest.mark.parametrize("name", JSON_ATTRIBUTES)
def test_garbage_json_is_named_even_with_a_matching_digest(sample_file, legacy_file, name,
                                                            garbage):
    """Structure checks stand on their own: a writer that stored garbage with
    its digest, and an old file without one."""
    for path in (sample_file, legacy_file):
        if name == "seed_spawn_key" and (path == legacy_file or garbage == "[]"):
            continue  # not an attribute of old files (see test_io_seeds); [] is valid
        with h5py.File(path, "r+") as handle:
            handle.attrs[name] = garbage
            if "metadata_sha256" in handle.attrs:
                _redigest(handle)
        _assert_refused(path, "is damaged", f"'{name}'")


@pytest.mark.parametrize("name, value, named", [
    ("shots", "many", "'shots'"), ("shots", 0, "'shots'"), ("shots", 2.5, "'shots'"),
    ("completed_batches", -1, "'completed_batches'"),
    ("completed_batches", 99, "'completed_batches' is 99"),
    ("unresolved_mass", "none", "'unresolved_mass'"),
    ("unresolved_mass", float("nan"), "'unresolved_mass'"),
    ("batch_size", 65, "'batch_size'"), ("batch_size", "64", "'batch_size'"),
    ("format_version", "one", "format version"), ("format_version", 7, "format version"),
    ("method", "threshoid-chain", "'method'"), ("method", np.arange(3), "'method'"),
    ("fingerprint", "0" * 64, "fingerprint"),
    ("package_version", 3, "'package_version'"),
])
def test_ill_typed_attributes_are_named(sample_file, legacy_file, name, value, named):
    for path in (sample_file, legacy_file):
        with h5py.File(path, "r+") as handle:
            handle.attrs[name] = value
        _assert_refused(path, named)  # with the digest: also before it is checked
        with h5py.File(path, "r+") as handle:
            if "metadata_sha256" in handle.attrs and name not in ("format_version",):
                try:
                    _redigest(handle)
                except (TypeError, ValueError):
                    continue
        _assert_refused(path, named)


@pytest.mark.parametrize("change", ["float", "one dimension", "wrong modes", "group",
                                    "too few rows", "missing"])
def test_a_wrong_patterns_dataset_is_named(sample_file, change):
    with h5py.File(sample_file, "r+") as handle:
        rows = handle["patterns"][...]
        del handle["patterns"]
        if change == "float":
            handle["patterns"] = rows.astype(float)
        elif change == "one dimension":
            handle["patterns"] = rows.ravel()
        elif change == "wrong modes":
            handle["patterns"] = rows[:, :3]
        elif change == "group":
            handle.create_group("patterns")
        elif change == "too few rows":
            handle["patterns"] = rows[:10]
    if change == "missing":
        _assert_refused(sample_file, "not a jiuzhang_emu sample file")
    else:
        _assert_refused(sample_file, "is damaged", "'/patterns'")


def test_a_flipped_byte_in_the_method_is_metadata_damage(tmp_path):
    """The issue's reproducer: "threshold-chain" read back as "threshoid-chain"."""
    path = tmp_path / "chain.h5"
    files.write_samples(path, _experiment(), SHOTS, rng=11, method="threshold-chain")
    data = bytearray(path.read_bytes())
    at = data.find(b"threshold-chain")
    assert at >= 0 and data.find(b"threshold-chain", at + 1) < 0
    data[at + 7] ^= ord("l") ^ ord("i")
    path.write_bytes(bytes(data))
    with h5py.File(path, "r") as handle:
        assert handle.attrs["method"] == "threshoid-chain"  # HDF5 itself does not notice
    _assert_refused(path, "metadata damaged", "metadata_sha256")


def _value_offsets(path):
    """Offsets in the raw file of a middle byte of each text attribute."""
    data = path.read_bytes()
    offsets = {}
    with h5py.File(path, "r") as handle:
        for name, value in handle.attrs.items():
            if not isinstance(value, (str, bytes)):
                continue
            raw = value.encode() if isinstance(value, str) else value
            at = data.find(raw)
            if at >= 0 and len(raw) > 1:
                offsets[name] = at + len(raw) // 2
    return offsets


def test_a_flipped_byte_in_any_text_attribute_is_detected(sample_file, tmp_path):
    offsets = _value_offsets(sample_file)
    assert {"experiment", "method", "fingerprint", "seed_spawn_key",
            "metadata_sha256"} <= set(offsets)
    for name, offset in offsets.items():
        damaged = tmp_path / f"flipped-{name}.h5"
        data = bytearray(sample_file.read_bytes())
        data[offset] ^= 0x04
        damaged.write_bytes(bytes(data))
        _assert_refused(damaged, "flipped-")


_SWEEP = textwrap.dedent("""
    import json, sys
    from jiuzhang_emu import files
    from jiuzhang_emu.errors import InputError
    path, reference = sys.argv[1], json.loads(sys.argv[2])
    data = open(path, "rb").read()
    outcomes = {}
    for offset in range(0, len(data), int(sys.argv[3])):
        damaged = bytearray(data)
        damaged[offset] ^= 0x5A
        open(path + ".x.h5", "wb").write(bytes(damaged))
        for name in ("read_samples", "info"):
            try:
                result = getattr(files, name)(path + ".x.h5")
                same = (result.patterns.tolist() if name == "read_samples"
                        else result["click_histogram"]) is not None
                kind = "read"
            except InputError:
                kind = "InputError"
            except BaseException as exc:
                kind = type(exc).__name__ + ": " + str(exc)[:80]
            outcomes.setdefault(kind, []).append(offset)
    print(json.dumps(outcomes))
""")


def test_flipped_bytes_anywhere_give_an_input_error_or_a_read_never_another_error(
        sample_file):
    """Bytes flipped across the whole file (every 61st byte), in a child with a
    time limit: no reader raises anything but InputError, none hangs."""
    done = subprocess.run([sys.executable, "-c", _SWEEP, str(sample_file), "null", "61"],
                          capture_output=True, text=True, timeout=600,
                          cwd=sample_file.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    outcomes = json.loads(done.stdout)
    assert set(outcomes) <= {"read", "InputError"}, {k: v[:5] for k, v in outcomes.items()}
    assert outcomes.get("InputError")


def test_an_unreadable_file_is_named(sample_file):
    os.chmod(sample_file, 0)
    try:
        if os.access(sample_file, os.R_OK):
            pytest.skip("running as a user that reads any file")
        for name, read in _readers().items():
            with pytest.raises(InputError, match="run.h5"):
                read(sample_file)
    finally:
        os.chmod(sample_file, 0o644)
