"""The ``jiuzhang-emu`` command: a thin layer over the Python API.

``jiuzhang-emu demo``
    A small Jiuzhang-like experiment end to end: exact samples, their click
    statistics against the exact model, a chi-square verdict (the default
    command).
``jiuzhang-emu sample --preset NAME --shots N --out FILE``
    Sample a preset into an HDF5 sample file (:mod:`jiuzhang_emu.files`), with
    ``--seed S``, ``--method M``, ``--workers W`` and preset options
    ``--option KEY=VALUE`` (repeatable); the same command resumes an
    interrupted run.
    Rerun with more ``--shots`` to extend a finished run.
``jiuzhang-emu info FILE``
    Metadata (the experiment's parameters included) and click statistics of a
    sample file.
``jiuzhang-emu validate FILE [--model PRESET] --out DIR``
    A validation report (Markdown with PNG plots) of samples against a model
    (:func:`jiuzhang_emu.validation.report.write_report`); FILE is an HDF5
    sample file, a .npy array of patterns, or a raw Jiuzhang 1.0 / 2.0 file
    (``--format jiuzhang1`` / ``jiuzhang2``).  A sample file of a preset
    names its model; a ``--model`` that is not the file's experiment is
    refused unless ``--other-model``, and a file whose patterns are not as
    wide as the model is refused before its patterns are read.  Models of
    more than 1024 modes (Jiuzhang 4.0) are validated in one pass over the
    file, chunk by chunk, within ``--memory-budget GB`` (default 12).
``jiuzhang-emu adversaries [--modes M] [--shots N] [--seed S]``
    Which validation test catches which classical imitation of a small
    Jiuzhang-like experiment (:func:`jiuzhang_emu.validation.adversary_table`).
``jiuzhang-emu cost --preset NAME [--shots N] [--calibrate]`` / ``cost --claims``
    The predicted time of exact samples of a preset, here and on the named
    supercomputers (:mod:`jiuzhang_emu.cost`), or our cost of each published
    advantage claim's task next to the claim.
``jiuzhang-emu reproduce [--samples N] [--seed S]``
    Jiuzhang 1.0's measured click rates and click-number histogram against
    the ideal, squashed and fitted models
    (:func:`jiuzhang_emu.presets.jiuzhang1_comparison`).

Bad input (an ``--option`` value the preset cannot take, a damaged sample
file included) exits with status 2 and a one-line message naming it; an
interrupted ``sample`` (Ctrl-C or SIGTERM) exits with 130 within a second or
two and keeps every complete batch in the file; a ``sample`` whose writes
fail (a full disk) exits with 1, saying how many shots the file keeps and
that the same command resumes it.  Killing ``sample --workers N`` with
SIGKILL ends its worker processes too (they watch their parent).  Every sampling command says its
predicted time before it starts.
"""
import argparse
import ast
import contextlib
import inspect
import math
import os
import re
import signal
import sys
import threading
import time

import numpy as np

from jiuzhang_emu import __version__, cost, files, presets, samplers, validation
from jiuzhang_emu.errors import InputError, JiuzhangEmuError, RuntimeLimitError
from jiuzhang_emu.samplers import calibration
from jiuzhang_emu.validation.statistics import click_rate_summary, clicks_per_shot

DEMO_MODES = 8
DEMO_UNITARY_SEED = 2020
DEMO_SEED = 1
DEMO_SHOTS = 10000


def _option(text):
    """``KEY=VALUE`` -> (key, value); VALUE a Python literal, else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise InputError(f"--option must look like KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _preset(name, options):
    """Build a preset; one with a random part gets ``rng=0`` unless given,
    so that a command always builds the same experiment (and can resume).

    A value the preset cannot take is an InputError naming the option and
    the value: text where the preset's default is a number or a bool is
    refused before building, and any other TypeError or ValueError of the
    build is reported with the options it may concern.
    """
    options = dict(_option(text) for text in options)
    given = set(options)
    names = presets.options(name)
    if "rng" in names:
        options.setdefault("rng", 0)
    defaults = {key: parameter.default for key, parameter in
                inspect.signature(presets.PRESETS[name]).parameters.items()}
    for key, value in options.items():
        default = defaults.get(key, inspect.Parameter.empty)
        if isinstance(default, bool) and not isinstance(value, bool):
            raise InputError(f"--option {key}={value!r}: {key} must be True or False "
                             f"(preset {name!r}), got {value!r}")
        if (isinstance(default, (int, float)) and not isinstance(default, bool)
                and isinstance(value, str)):
            raise InputError(f"--option {key}={value!r}: {key} must be a number (preset "
                             f"{name!r}, default {default!r}), got the text {value!r}")
    try:
        return presets.get(name, **options)
    except JiuzhangEmuError as exc:
        cause = exc.__cause__ or exc.__context__
        if not isinstance(cause, TypeError) or "required" in str(cause):
            raise
        raise _bad_options(name, options, given, cause) from None
    except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
        raise _bad_options(name, options, given, exc) from None


def _bad_options(name, options, given, exc):
    """An InputError for an option value the preset's build refused, naming
    the options the error's text points at (else every option given)."""
    text = str(exc)

    def mentioned(key):
        value = options[key]
        return (re.search(rf"\b{re.escape(key)}\b", text) or repr(value) in text
                or re.search(rf"(?<!\w){re.escape(str(value))}(?!\w)", text)
                or f"'{type(value).__name__}'" in text)

    named = [key for key in options if mentioned(key)] or [key for key in options
                                                           if key in given]
    listed = ", ".join(f"{key}={options[key]!r}" for key in named or options)
    return InputError(f"preset {name!r} cannot be built with --option {listed}: "
                      f"{type(exc).__name__}: {exc}")


def _shots(text):
    """A shot count as typed: 10000, 1e4 or 10_000 (samplers check its range)."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _parser():
    parser = argparse.ArgumentParser(
        prog="jiuzhang-emu", description="Gaussian boson sampling emulator (Jiuzhang family).",
        epilog="Without a command, runs `demo`.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="sample a small Jiuzhang-like experiment and "
                               "check its click statistics against the exact model")
    demo.add_argument("--shots", type=_shots, default=DEMO_SHOTS,
                      help=f"shots to draw (default {DEMO_SHOTS})")
    demo.add_argument("--seed", type=int, default=DEMO_SEED,
                      help=f"root seed (default {DEMO_SEED})")
    demo.add_argument("--workers", type=int, default=1, help="local worker processes")
    demo.add_argument("--out", help="also write the samples to this HDF5 file")

    sample = commands.add_parser("sample", help="sample a preset into an HDF5 file "
                                 "(rerun the same command to resume)")
    sample.add_argument("--preset", required=True, help=f"one of {sorted(presets.PRESETS)}")
    sample.add_argument("--shots", type=_shots, required=True,
                        help="shots of the whole run (e.g. 10000 or 1e4; more than the file "
                        "holds: extend it)")
    sample.add_argument("--out", required=True,
                        help="HDF5 sample file, .h5 or .hdf5 (created, resumed or extended)")
    sample.add_argument("--seed", type=int,
                        help="root seed (default: the file's when resuming, else fresh)")
    sample.add_argument("--method", default="auto", help=f"one of {samplers.METHODS}")
    sample.add_argument("--workers", type=int, default=1, help="local worker processes")
    sample.add_argument("--max-seconds", type=float, default=3600.0,
                        help="refuse runs predicted to take longer (default 3600; 0: no limit)")
    sample.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="preset option, a Python literal (repeatable), e.g. n_modes=8; "
                        "presets with a random part take rng (default 0)")
    sample.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                        default=None, help="no progress bar")
    network = sample.add_argument_group("method mps (approximate: a matrix product state of "
                                        "the pure part)")
    network.add_argument("--chi", type=int, help=f"largest bond dimension (default "
                         f"{samplers.mps.DEFAULT_CHI})")
    network.add_argument("--cutoff", type=int, help=f"Fock states of the pure part per mode "
                         f"(default {samplers.mps.DEFAULT_CUTOFF})")
    network.add_argument("--displaced-cutoff", type=int, help=f"photon numbers drawn per mode "
                         f"(default {samplers.mps.DEFAULT_DISPLACED_CUTOFF})")
    network.add_argument("--split", help="pure part + noise split: auto, sdp, closed-form or "
                         "williamson (default auto)")
    network.add_argument("--mps-file", help="the network's HDF5 file, built or resumed there "
                         "(default: OUT with the suffix .mps.h5); a file built with other "
                         "parameters is refused")

    show = commands.add_parser("info", help="metadata and click statistics of a sample file")
    show.add_argument("file")

    check = commands.add_parser("validate", help="a validation report (Markdown and PNG plots) "
                                "of a sample file against a model")
    check.add_argument("file", help="HDF5 sample file, .npy patterns, or a raw Jiuzhang file")
    check.add_argument("--model", help=f"one of {sorted(presets.PRESETS)} (default: the "
                       "preset a sample file records)")
    check.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="model preset option (repeatable)")
    check.add_argument("--other-model", action="store_true",
                       help="compare a sample file with a model other than its own experiment")
    check.add_argument("--out", required=True, help="report directory")
    check.add_argument("--format", default="auto",
                       choices=["auto", "h5", "npy", "jiuzhang1", "jiuzhang2"],
                       help="file format (auto: by extension, .h5/.hdf5 or .npy)")
    check.add_argument("--count", type=int, help="raw files: records to read (default all)")
    check.add_argument("--samples", type=int, default=None,
                       help="positive-P samples per model (default 100000, 20000 above "
                            "1024 modes)")
    check.add_argument("--seed", type=int, default=0, help="phase-space seed (default 0)")
    check.add_argument("--memory-budget", type=float, default=12.0, metavar="GB",
                       help="memory for the pair statistics of large models, in GB (default "
                       "12); a model that needs more is refused before the patterns are read")
    check.add_argument("--triples", type=int, default=1000,
                       help="random mode triples for third-order cumulants (large models; "
                       "default 1000)")

    adversaries = commands.add_parser("adversaries", help="which validation test catches which "
                                      "classical imitation of a small Jiuzhang-like experiment")
    adversaries.add_argument("--modes", type=int, default=12, help="modes (even; default 12)")
    adversaries.add_argument("--shots", type=_shots, default=10_000,
                             help="samples per sampler (default 10000)")
    adversaries.add_argument("--seed", type=int, default=0, help="seed (default 0)")

    estimate = commands.add_parser("cost", help="predicted classical cost of exact samples of a "
                                   "preset, or (--claims) the table of published advantage claims")
    estimate.add_argument("--preset", help=f"one of {sorted(presets.PRESETS)}")
    estimate.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                          help="preset option (repeatable)")
    estimate.add_argument("--shots", type=float, default=1.0, help="samples (default 1)")
    estimate.add_argument("--claims", action="store_true",
                          help="our cost of each published claim's task, next to the claim")
    estimate.add_argument("--calibrate", action="store_true",
                          help="measure this machine first (~20 s; default: stored rates)")
    estimate.add_argument("--samples", type=int, default=20_000,
                          help="positive-P samples (default 20000)")
    estimate.add_argument("--seed", type=int, default=0, help="phase-space seed (default 0)")

    reproduce = commands.add_parser("reproduce", help="Jiuzhang 1.0's data against the ideal, "
                                    "squashed and fitted models")
    reproduce.add_argument("--samples", type=int, default=100_000,
                           help="positive-P samples per model (default 100000)")
    reproduce.add_argument("--seed", type=int, default=0, help="phase-space seed (default 0)")
    return parser


def _sigterm_as_interrupt():
    """Let SIGTERM unwind like Ctrl-C, so the sample file is closed cleanly."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


class _AnnouncedBar(samplers.ProgressBar):
    """The progress bar of ``sample``, after a line with the run's predicted
    time (before the first batch)."""

    def start(self, plan):
        print(f"{plan.experiment.name}: {plan.prediction()}", file=sys.stderr)
        super().start(plan)


_NETWORK_OPTIONS = ("chi", "cutoff", "displaced_cutoff", "split", "mps_file")


def _network(args, experiment):
    """The "mps" route's network, built or resumed in its file (with a
    progress bar); None for the other methods, which take no such option."""
    given = [name for name in _NETWORK_OPTIONS if getattr(args, name) is not None]
    if args.method != "mps":
        if given:
            raise InputError(f"--{given[0].replace('_', '-')} is an option of --method mps, "
                             f"not of --method {args.method}")
        return None
    path = args.mps_file or os.path.splitext(args.out)[0] + ".mps.h5"
    options = {name: getattr(args, name) for name in given if name != "mps_file"}
    if os.path.exists(path) and not options:
        network = samplers.mps.open_mps(experiment, path, n_workers=args.workers,
                                        progress=args.progress)
    else:
        network = samplers.mps.build_mps(experiment, path=path, n_workers=args.workers,
                                         progress=args.progress, **options)
    print(f"{experiment.name}: {network!r} in {path}", file=sys.stderr)
    return network


def _sample(args, out):
    experiment = _preset(args.preset, args.option)
    previous = _sigterm_as_interrupt()
    try:
        start = time.perf_counter()
        network = _network(args, experiment)
        report = files.write_samples(args.out, experiment, args.shots, rng=args.seed,
                                     method=args.method, n_workers=args.workers,
                                     progress=_AnnouncedBar(args.progress),
                                     max_seconds=args.max_seconds or None, mps=network)
    except files.SampleFileWriteError as exc:  # a full disk: the file holds what was written
        print(f"jiuzhang-emu sample: error: {exc}; make room, then rerun the same command to "
              f"resume", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if not os.path.isfile(args.out):
            kept = {"mps": "the MPS", "greedy": "the greedy set"}.get(args.method)
            print("interrupted before the file was created"
                  + (f"; {kept} built so far is kept, and the same command resumes it"
                     if kept else ""), file=sys.stderr)
            return 130
        status = files.info(args.out, statistics=False)
        print(f"interrupted: {status['shots_written']} of {status['shots_requested']} shots "
              f"are in {args.out}; rerun the same command to resume", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    seconds = time.perf_counter() - start
    seed = f"seed {report.seed_entropy}" + (
        f", spawn key {list(report.seed_spawn_key)}" if report.seed_spawn_key else "")
    if report.sampled == 0:
        print(f"{args.out} is already complete: {report.shots} shots ({seed})", file=out)
    else:
        resumed = f", resumed at shot {report.resumed_from}" if report.resumed_from else ""
        print(f"wrote {report.sampled} shots of {experiment.name} to {args.out} in "
              f"{seconds:.1f} s{resumed}: {report.shots} in all ({seed})", file=out)
    return 0


def _info(args, out):
    summary = files.info(args.file)
    histogram = summary.pop("click_histogram")
    for key, value in summary.items():
        print(f"{key:16} {value}", file=out)
    experiment = files.read_experiment(args.file)
    preset = experiment.get("preset")
    if preset:
        options = " ".join(f"{k}={v!r}" for k, v in preset["options"].items())
        print(f"{'preset':16} {preset['name']} {options}".rstrip(), file=out)
    print(f"{'sources':16} {_sources_summary(experiment['sources'])}", file=out)
    detector = experiment["detector"]
    print(f"{'detector':16} {detector['kind']}, {detector['n_detectors']} per mode, "
          f"efficiency {_values(detector['efficiency'])}, dark count "
          f"{_values(detector['dark_count'])}", file=out)
    print(f"{'mean photons':16} {experiment['mean_photon_number']:.4g} per shot (model)",
          file=out)
    for part, text in experiment.get("provenance", {}).items():
        print(f"{'provenance':16} {part}: {text}", file=out)
    written = summary["shots_written"]
    if written:
        print("clicks   shots  fraction", file=out)
        for clicks, count in histogram.items():
            print(f"{clicks:6d} {count:7d}  {count / written:8.4f}", file=out)
    return 0


def _sources_summary(sources):
    """``25 x TwoModeSqueezer(r=1.0), ...``: runs of equal sources counted."""
    if isinstance(sources, str):
        return sources
    runs = []
    for source in sources:
        if runs and runs[-1][1] == source:
            runs[-1][0] += 1
        else:
            runs.append([1, source])
    return ", ".join(f"{n} x {source}" if n > 1 else source for n, source in runs)


def _values(values):
    """One number when all are equal, else their range."""
    values = np.asarray(values, dtype=float)
    if np.all(values == values[0]):
        return f"{values[0]:.4g}"
    return f"{values.min():.4g}-{values.max():.4g} over {values.size} modes"


# -- demo ---------------------------------------------------------------------
def _draw(experiment, args):
    if args.out:
        files.write_samples(args.out, experiment, args.shots, rng=args.seed,
                            n_workers=args.workers)
        return files.read_samples(args.out).patterns
    return samplers.sample(experiment, args.shots, rng=args.seed, n_workers=args.workers).patterns


def _demo(args, out):
    from jiuzhang_emu.validation.report import ALPHA, click_number_verdict

    experiment = presets.jiuzhang_like(DEMO_MODES, r=1.0, transmission=0.3,
                                       rng=DEMO_UNITARY_SEED)
    say = lambda text="": print(text, file=out)  # noqa: E731
    say(f"jiuzhang-emu demo: {experiment.name}, {experiment.n_modes} modes, "
        f"{experiment.n_inputs // 2} two-mode squeezers (r = 1.0), Haar-random interferometer, "
        f"transmission 0.3, threshold detectors")
    say(f"  mean photon number at the detectors {experiment.mean_photon_number():.3f}; "
        f"provenance: {experiment.provenance['all']}")

    start = time.perf_counter()
    patterns = _draw(experiment, args)
    seconds = time.perf_counter() - start
    shots = len(patterns)
    say(f"  sampled {shots} shots exactly (seed {args.seed}) in {seconds:.1f} s "
        f"({1e3 * seconds / shots:.2f} ms per shot)"
        + (f", written to {args.out}" if args.out else ""))
    say()

    summary = click_rate_summary(patterns, experiment)
    say(f"mean clicks per shot   sampled {summary.mean_clicks:.4f} +- "
        f"{summary.mean_clicks_error:.4f}   exact {summary.exact_mean_clicks:.4f}   "
        f"z = {summary.mean_clicks_z:+.2f}")
    say("click rate per mode    sampled " + " ".join(f"{r:.3f}" for r in summary.rates))
    say("                       exact   " + " ".join(f"{r:.3f}" for r in summary.exact_rates))
    say(f"                       max |z| = {np.max(np.abs(summary.rate_z)):.2f} over "
        f"{len(summary.rate_z)} modes")
    say()

    exact = validation.click_number_distribution(experiment, method="exact")
    clicks = clicks_per_shot(patterns, experiment.detector.kind)
    observed = np.bincount(clicks, minlength=len(exact.probabilities))
    say(f"click-number distribution (exact: 2^{experiment.n_modes} Gaussian integrals)")
    say("  clicks   sampled     exact")
    for k, (o, p) in enumerate(zip(observed, exact.probabilities)):
        say(f"  {k:6d}   {o / shots:7.4f}   {p:7.4f}")
    test, verdict = click_number_verdict(observed, experiment)
    say()
    say(f"verdict at alpha = {ALPHA:g}: {verdict} "
        f"(chi-square {test.chi2:.2f} on {test.dof} dof, p = {test.pvalue:.3f})")
    return 0


# -- validate -------------------------------------------------------------------
def _format(args):
    if args.format != "auto":
        return args.format
    suffix = args.file.lower().rsplit(".", 1)[-1]
    fmt = {"h5": "h5", "hdf5": "h5", "npy": "npy"}.get(suffix)
    if fmt is None:
        raise InputError(f"cannot tell the format of {args.file!r} from its extension; "
                         f"pass --format h5, npy, jiuzhang1 or jiuzhang2")
    return fmt


def _load_patterns(args):
    fmt = _format(args)
    if fmt == "h5":
        return files.read_samples(args.file).patterns
    if fmt == "npy":
        return np.load(args.file, allow_pickle=False)
    read = {"jiuzhang1": files.read_jiuzhang1, "jiuzhang2": files.read_jiuzhang2}[fmt]
    return read(args.file, count=args.count).clicks


def _model(args):
    """The model to validate against: ``--model``, else the preset a sample
    file records; checked against the file's fingerprint."""
    recorded = files.read_experiment(args.file) if _format(args) == "h5" else None
    if args.model is not None:
        experiment = _preset(args.model, args.option)
    elif recorded is not None and recorded.get("preset"):
        preset = recorded["preset"]
        if args.option:
            raise InputError("--option goes with --model; the file records its preset's options")
        try:
            experiment = presets.get(preset["name"], **preset["options"])
        except (TypeError, ValueError) as exc:  # an InputError is a ValueError too
            raise InputError(f"{args.file!r} records preset {preset['name']!r} with options "
                             f"{preset['options']!r}, which do not build it ({exc}): pass "
                             f"--model PRESET [--option KEY=VALUE ...]") from None
    elif recorded is not None:
        raise InputError(f"{args.file!r} does not record a preset to rebuild its experiment "
                         f"{recorded['name']!r} (built through the Python API): pass "
                         f"--model PRESET [--option KEY=VALUE ...]")
    else:
        raise InputError(f"--model PRESET is needed for a {_format(args)} file (it records "
                         f"no experiment)")
    if recorded is not None:
        files.check_width(recorded, experiment)  # modes and detector, before any pattern
    if recorded is not None and experiment.fingerprint() != recorded["fingerprint"]:
        message = (f"{args.file!r} was sampled from {_described(recorded)}, not from the model "
                   f"{_described(experiment.describe())}")
        if not args.other_model:
            raise InputError(f"{message}; pass --other-model to compare them anyway")
        print(f"warning: {message}", file=sys.stderr)
    return experiment


def _described(description):
    """``jiuzhang_like-8 (preset jiuzhang_like, r=1.0, ..., fingerprint 3f2a...)``"""
    preset = description.get("preset")
    options = "".join(f", {k}={v!r}" for k, v in preset["options"].items()) if preset else ""
    built = f"preset {preset['name']}{options}, " if preset else ""
    return f"{description['name']} ({built}fingerprint {description['fingerprint'][:12]})"


#: Bytes of patterns per chunk read by ``validate`` from a large .npy file.
_CHUNK_BYTES = 1 << 26


def _pattern_chunks(args):
    """The file's patterns chunk by chunk (~64 MB each): HDF5 by
    files.iter_patterns, .npy through a memory map, raw USTC files through
    their chunked readers."""
    fmt = _format(args)
    if fmt == "h5":  # ~64 MB, whole HDF5 chunks
        yield from files.iter_patterns(args.file)
    elif fmt == "npy":
        array = np.load(args.file, mmap_mode="r", allow_pickle=False)
        step = max(1, _CHUNK_BYTES // max(1, array.shape[-1] * array.itemsize))
        for start in range(0, len(array), step):
            yield np.asarray(array[start:start + step])
    else:
        read = {"jiuzhang1": files.iter_jiuzhang1, "jiuzhang2": files.iter_jiuzhang2}[fmt]
        for chunk in read(args.file, count=args.count):
            yield chunk.clicks


def _validate(args, out):
    from jiuzhang_emu.validation.report import STREAMING_MODES, write_report

    experiment = _model(args)  # an HDF5 file's width is checked there
    width = np.load(args.file, mmap_mode="r", allow_pickle=False).shape[-1] \
        if _format(args) == "npy" else None  # raw files: chunk by chunk as they come
    if width is not None and width != experiment.n_modes:
        raise InputError(f"{args.file!r} holds patterns of {width} modes, the model "
                         f"{experiment.name!r} has {experiment.n_modes}: pass the model the "
                         f"file was sampled from (--model PRESET --option KEY=VALUE)")
    if not args.memory_budget > 0:
        raise InputError(f"--memory-budget must be a positive number of GB, got "
                         f"{args.memory_budget:g}")
    if experiment.n_modes > STREAMING_MODES:  # one pass over the file, chunk by chunk
        patterns = _pattern_chunks(args)
    else:
        patterns = _load_patterns(args)
    path = write_report(patterns, experiment, args.out, samples=args.samples, rng=args.seed,
                        title=f"{args.file} against {experiment.name}", triples=args.triples,
                        memory_budget=args.memory_budget * 1e9)
    print(f"report written to {path}", file=out)
    return 0


# -- adversaries ----------------------------------------------------------------
def _adversaries(args, out):
    experiment = presets.jiuzhang_like(args.modes, r=1.2, transmission=0.4, rng=args.seed)
    print(f"{experiment.name}: {args.modes} modes, two-mode squeezers r = 1.2, transmission "
          f"0.4, threshold detectors; exact samples and every classical imitation ...", file=out)
    table = validation.adversary_table(experiment, shots=samplers.check_shots(args.shots),
                                       rng=args.seed)
    print(table.markdown(), file=out)
    return 0


# -- cost -----------------------------------------------------------------------
def _cost(args, out):
    if (args.preset is None) == (not args.claims):
        raise InputError("give --preset NAME or --claims")
    rates = calibration.calibrate() if args.calibrate else cost.Calibration()
    print(f"calibration: {rates.machine}", file=out)
    if args.claims:
        table = presets.advantage_table(samples=args.samples, rng=args.seed, calibration=rates)
        print(table.markdown(), file=out)
        return 0
    if not args.shots >= 1:
        raise InputError(f"shots must be >= 1, got {args.shots:g}")
    estimate = cost.predict(_preset(args.preset, args.option), samples=args.samples,
                            rng=args.seed, calibration=rates)
    for route, (seconds, error) in estimate.routes.items():
        print(f"{route} route: {seconds:.3g} s +- {error / seconds:.0%} per sample, one core "
              f"here", file=out)
    print(f"{args.shots:g} samples by the {estimate.route} route:", file=out)
    log10_years = math.log10(estimate.seconds(args.shots) / cost.SECONDS_PER_YEAR)
    print(f"  {'this machine, one core':>24}: {cost.format_years(log10_years)}", file=out)
    for name in cost.SUPERCOMPUTERS:
        log10_years = math.log10(estimate.seconds(args.shots, name) / cost.SECONDS_PER_YEAR)
        print(f"  {name:>24}: {cost.format_years(log10_years)}", file=out)
    return 0


# -- reproduce ------------------------------------------------------------------
def _reproduce(args, out):
    print(f"Jiuzhang 1.0: measured data against the ideal, squashed and fitted models "
          f"({args.samples} positive-P samples per model, seed {args.seed}) ...", file=out)
    comparison = presets.jiuzhang1_comparison(samples=args.samples, rng=args.seed)
    print(comparison.table(), file=out)
    return 0


_COMMANDS = {"demo": _demo, "sample": _sample, "info": _info, "validate": _validate,
             "adversaries": _adversaries, "cost": _cost, "reproduce": _reproduce}


def main(argv=None, out=None):
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    out : file, optional
        Where results go (default stdout); messages go to stderr.
    """
    out = sys.stdout if out is None else out
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (status 2)
        return exc.code
    if args.command is None:
        args = parser.parse_args(["demo"])
    try:
        status = _COMMANDS[args.command](args, out)
        out.flush()  # inside the try: a reader gone away is a BrokenPipeError here
        return status
    except RuntimeLimitError as exc:
        reason = exc.reason if exc.seconds is not None else str(exc)
        print(f"jiuzhang-emu {args.command}: error: {reason}; pass --max-seconds 0 to run it "
              f"anyway", file=sys.stderr)
        return 2
    except JiuzhangEmuError as exc:
        print(f"jiuzhang-emu {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        print(f"jiuzhang-emu {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
