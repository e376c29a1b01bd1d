"""Local worker processes: a plain script without a ``__main__`` guard can use
them, and the samples do not depend on them."""
import subprocess
import sys
import textwrap

_PLAIN_SCRIPT = textwrap.dedent("""
    import numpy as np
    from jiuzhang_emu import presets, samplers

    experiment = presets.jiuzhang_like(6, rng=1)
    two = samplers.sample(experiment, 300, rng=5, n_workers=2, progress=False)
    one = samplers.sample(experiment, 300, rng=5, progress=False)
    print("same" if np.array_equal(two.patterns, one.patterns) else "different", len(two))
""")


def test_a_plain_script_without_a_main_guard_samples_on_two_workers(tmp_path):
    """Before, the workers re-ran the script (forkserver imports the main
    module) and the run died with BrokenProcessPool."""
    script = tmp_path / "plain.py"
    script.write_text(_PLAIN_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "same 300" and done.stderr == ""


_STOPPED_WHILE_SENDING = textwrap.dedent("""
    import time
    import numpy as np
    from jiuzhang_emu.samplers import workers

    def draw(index, size):
        return np.ones((size, 200_000))  # 1.6 MB: a result takes many pipe writes

    batches = workers.map_batches(draw, [(i, 1) for i in range(10_000)], n_workers=2)
    for _ in zip(range(5), batches):
        time.sleep(0.05)  # a slow reader: the workers wait in the middle of a result
    batches.close()
    print("stopped", flush=True)
""")


def test_a_run_stopped_while_workers_send_results_lets_the_process_exit(tmp_path):
    """Workers killed half-way through a result left the pool's manager
    thread reading the rest for ever, and the interpreter joins it at exit."""
    for _ in range(3):  # the kill lands in a result most of the time
        done = subprocess.run([sys.executable, "-c", _STOPPED_WHILE_SENDING], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout == "stopped\n", done.stderr[-3000:]
