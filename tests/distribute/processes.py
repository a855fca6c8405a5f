"""Child processes for the distributed tests: free ports, and a runner that
always ends every process it started."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_ports(n):
    """`n` distinct TCP ports that are free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def child_env(**variables):
    """The test's environment for a child: quiet TensorFlow, CPU only, the
    repository importable, plus `variables`."""
    env = dict(os.environ)
    env.update(
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
        PYTHONPATH=os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]
        ),
    )
    env.update(variables)
    return env


def run_processes(children, log_dir, timeout):
    """Runs `children` (a list of `(name, argv, env)`) at once, in their
    own process groups, and waits for all of them.

    Every child still running at the `timeout` (seconds, for all together)
    or when anything fails is killed with its process group, and reaped.

    Returns:
        dict `{name: (returncode, output)}`; returncode is None for a
        child killed at the timeout.
    """
    log_dir = Path(log_dir)
    processes = {}
    try:
        for name, argv, env in children:
            log = open(log_dir / f"{name}.log", "wb")
            processes[name] = (
                subprocess.Popen(
                    [sys.executable, *argv],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                ),
                log,
            )
        deadline = time.monotonic() + timeout
        for process, _ in processes.values():
            remaining = deadline - time.monotonic()
            try:
                process.wait(timeout=max(remaining, 0.1))
            except subprocess.TimeoutExpired:
                break
    finally:
        for process, log in processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait()
            log.close()
    results = {}
    for name, (process, _) in processes.items():
        output = (log_dir / f"{name}.log").read_text(errors="replace")
        code = process.returncode
        results[name] = (None if code == -signal.SIGKILL else code, output)
    return results


def assert_all_succeeded(results):
    for name, (code, output) in results.items():
        assert code == 0, (
            f"{name} ended with {code} (None: killed at the timeout). "
            f"Last output:\n{output[-3000:]}"
        )
