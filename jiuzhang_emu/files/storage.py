"""Crash-safe file plumbing: the run lock, temporaries, recovery of a killed
writer's file, opening for reading and for appending, full-disk handling.

New files are built under a temporary name and hard-linked into place, so
an existing file is never overwritten, and an advisory lock (``flock``)
keeps two runs from writing one file; a reader of a file whose writer is
running waits (up to ``_WRITER_WAIT`` seconds) for it to become readable.
A path that is a symbolic link stays one: the file it points to is written
(and replaced on recovery).  Temporary files this module names
``.NAME.<12 hex digits>.tmp`` next to ``NAME`` that a killed run left are
removed by the next run that holds the lock on ``NAME``.  A file left open
by a killed writer is copied, rows up to the counter and attributes, to a
clean file that atomically replaces it.  A file handle whose writes failed
(a full disk) is closed without writing to the file again.
"""
import contextlib
import errno
import os
import re
import time
import uuid

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.files.format import (
    FORMAT, FORMAT_VERSION, LIBVER, SampleFileWriteError, _h5py, _Layout, _metadata, _reading,
    _text)
try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_WRITER_WAIT = 10.0  # seconds a reader waits for a running writer's file to become readable
_COPY_BYTES = 32 << 20  # bytes of stored rows a recovery copies at a time


def _open_checked(path, name=None, *, locked=False):
    """Open an existing sample file read-only, or raise InputError.

    Files whose writer is running, or was killed, are opened with SWMR.
    HDF5's own file locks are not used: :class:`_RunLock` guards writers.
    ``name`` is the path as the caller gave it (for messages); ``locked``
    says the caller holds the file's run lock (no other writer to wait for).
    """
    h5py = _h5py()
    name = path if name is None else name
    if not os.path.isfile(path):
        raise InputError(f"path {name!r} is not an existing file")
    try:
        with open(path, "rb") as raw:
            signature = raw.read(len(_HDF5_SIGNATURE))
    except OSError as exc:
        raise InputError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    if signature != _HDF5_SIGNATURE:
        raise InputError(f"{name!r} is not an HDF5 file (not a jiuzhang_emu sample file)")
    deadline = time.monotonic() + _WRITER_WAIT
    while True:
        running = not locked and _being_written(path)
        try:
            handle = _open_readable(h5py, path, running)
            break
        except OSError as exc:
            if running and time.monotonic() < deadline:
                time.sleep(0.05)  # a writer's file is unreadable until it is in SWMR mode
                continue
            if running:
                raise InputError(f"cannot read {name!r}: a run writing it has not made it "
                                 f"readable within {_WRITER_WAIT:g} s ({exc})") from None
            if "already open for write" in str(exc):
                raise InputError(f"cannot read {name!r}: {exc}") from None
            raise InputError(f"cannot read {name!r}: the file is damaged or truncated "
                             f"({exc})") from None
    try:
        with _reading(name):
            fmt = _text(handle.attrs.get("format", ""))
            version = handle.attrs.get("format_version", 0)
            is_ours = fmt == FORMAT and "patterns" in handle
        if not is_ours:
            raise InputError(f"{name!r} is not a jiuzhang_emu sample file (format attribute "
                             f"{fmt or None!r}, expected {FORMAT!r})")
        if (isinstance(version, (bool, np.bool_)) or not isinstance(version, (int, np.integer))
                or not 1 <= version <= FORMAT_VERSION):
            raise InputError(f"{name!r} has sample file format version {version!r}; this "
                             f"jiuzhang_emu reads versions 1 to {FORMAT_VERSION}")
    except BaseException:
        handle.close()
        raise
    return handle

def _open_readable(h5py, path, running):
    """Open with SWMR when a writer is ``running`` or the flags say one (maybe
    killed) has the file open."""
    if not running:
        try:
            return h5py.File(path, "r", locking=False)
        except OSError as exc:
            if "already open for write" not in str(exc):  # not a writer's flags
                raise
    return h5py.File(path, "r", swmr=True, locking=False)

def _being_written(path):
    """Whether a run holds the lock of the file at ``path`` (:class:`_RunLock`)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False

class _RunLock:
    """An exclusive advisory lock (``flock``) on a file, held by the one run
    that writes it; another run gets an InputError."""

    def __init__(self, path, name=None):
        self.fd = None
        self.move_to(path, name)

    def move_to(self, path, name=None):
        """Lock the file now at ``path`` and release the previous one."""
        fd = os.open(path, os.O_RDONLY)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise InputError(f"{name or path!r} is being written by another run") from None
        self.release()
        self.fd = fd

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

def _temporary_name(path):
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")

def _remove_stale_temporaries(path):
    """Remove the temporary files (``.NAME.<12 hex>.tmp``) a killed run left
    next to ``path``; called with the run lock on ``path`` held.  A file
    another process holds locked is left alone."""
    directory, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{12}}\.tmp")
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                fd = os.open(entry.path, os.O_RDONLY)
                try:
                    if fcntl is not None:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.unlink(entry.path)
                finally:
                    os.close(fd)

def _new_file(path, layout, attrs):
    """An empty sample file with ``attrs`` and the dataset of ``layout``
    (a :class:`~jiuzhang_emu.files.format._Layout`) under a fresh temporary
    name next to ``path``; returns that name."""
    h5py = _h5py()
    temporary = _temporary_name(path)
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except OSError as exc:
        raise InputError(f"cannot create a file in {os.path.dirname(temporary)!r}: "
                         f"{exc}") from None
    try:
        handle = None
        try:
            handle = h5py.File(temporary, "w", libver=LIBVER, locking=False, rdcc_nbytes=0)
            layout.create(handle)
            for key, value in attrs.items():
                handle.attrs[key] = value
            handle.flush()
        except (OSError, RuntimeError) as exc:
            if handle is not None:
                _abandon(handle)
            failure = _WriteFailed(exc, 0)
            raise SampleFileWriteError(failure.errno, f"cannot write a new file next to "
                                       f"{path!r}: {failure.reason}", path, 0,
                                       int(attrs.get("shots", 0))) from exc
        except BaseException:
            if handle is not None:
                _abandon(handle)
            raise
        handle.close()
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary

def _create(path, experiment, attrs, name):
    """Create the empty sample file at ``path``, never replacing a file;
    returns a :class:`_RunLock` on it."""
    temporary = _new_file(path, _Layout.new(experiment), attrs)
    lock = None
    try:
        lock = _RunLock(temporary)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise InputError(f"{name!r} appeared while it was being created; "
                             "left unchanged") from None
        except OSError:  # no hard links here: rename, after the existence check
            if os.path.lexists(path):
                raise InputError(f"{name!r} exists; left unchanged") from None
            os.replace(temporary, path)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return lock

def _recover(path, lock, name):
    """Replace a file left open by a killed writer with a clean copy of its
    attributes and counted rows (built aside, then renamed over it)."""
    with _open_checked(path, name, locked=True) as old:
        meta = _metadata(old, name)
        with _reading(name):
            source = old["patterns"]
            rows = meta["rows"]
            temporary = _new_file(path, meta["layout"], dict(old.attrs))  # its own version
            try:
                new = _h5py().File(temporary, "r+", locking=False, rdcc_nbytes=0)
                try:
                    target = new["patterns"]
                    target.resize(rows, axis=0)
                    step = max(1, _COPY_BYTES // (source.shape[1] * source.dtype.itemsize))
                    for start in range(0, rows, step):
                        stop = min(rows, start + step)
                        target[start:stop] = source[start:stop]
                    new.flush()
                except (OSError, RuntimeError) as exc:
                    _abandon(new)
                    failure = _WriteFailed(exc, rows)
                    raise SampleFileWriteError(
                        failure.errno, f"cannot copy {name!r} to recover it from a killed "
                        f"or failed run: {failure.reason}; the file is unchanged, with "
                        f"{rows} shots", name, rows, meta["shots"]) from exc
                except BaseException:
                    _abandon(new)
                    raise
                new.close()
                lock.move_to(temporary)
                os.replace(temporary, path)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)

def _open_for_append(path, lock, name):
    """The file opened for writing, without a chunk cache: a failed write
    fails at once, in the write call, and leaves nothing pending that a
    later flush or close would have to write."""
    h5py = _h5py()
    if not os.access(path, os.W_OK):
        raise InputError(f"{name!r} is not writable")
    options = {"libver": LIBVER, "locking": False, "rdcc_nbytes": 0}
    try:
        return h5py.File(path, "r+", **options)
    except OSError:  # the consistency flags of a killed SWMR writer
        _recover(path, lock, name)
    try:
        return h5py.File(path, "r+", **options)
    except OSError as exc:
        raise InputError(f"cannot open {name!r} for writing: {exc}") from None

class _WriteFailed(Exception):
    """A write to the open sample file failed (internal)."""

    def __init__(self, exc, rows):
        super().__init__(str(exc))
        self.rows = rows
        code = getattr(exc, "errno", None)
        if code is None:  # h5py's RuntimeError of a failed flush names errno in its text
            found = re.search(r"errno = (\d+)", str(exc))
            code = int(found.group(1)) if found else errno.EIO
        self.errno = code
        self.reason = f"[Errno {code}] {os.strerror(code)}"

def _abandon(handle):
    """Close a file handle whose writes failed, without writing to the file
    again.

    HDF5 cannot close a file whose pending writes fail: the close fails, and
    the half-closed objects crash the interpreter at exit (a segfault).  So
    the file descriptor HDF5 writes to is first pointed at an anonymous
    in-memory file (Linux), where the close's writes succeed; the file on
    disk keeps the state of the failure, which the SWMR write order leaves
    readable (as after a kill) and which the next run recovers.
    """
    with contextlib.suppress(Exception):
        fd = handle.id.get_vfd_handle()
        if hasattr(os, "memfd_create") and isinstance(fd, int) and fd > 2:
            scratch = os.memfd_create("jiuzhang_emu-abandoned")
            try:
                os.dup2(scratch, fd)
            finally:
                os.close(scratch)
    for _ in range(3):
        try:
            handle.close()
            return
        except Exception:  # noqa: BLE001 - closing what can be closed
            continue
