"""Run ``retention-xl`` commands as real child processes, forked from one warm interpreter.

The test suite runs the command line a few hundred times. Started from scratch, each
run spends most of its CPU time starting Python and importing pandas, scipy and the
package, the same work every time. Here one server process per pytest worker does the
imports once; for every command it forks a child, and that child *is* the command: its
own process id, standard input, output and error (open files of the test, passed over
a Unix socket), working directory, environment and ``sys.argv``, and its exit status
is the command's. What the child runs is ``retention_xl.cli.main``, the function behind
the installed ``retention-xl`` script and ``python -m retention_xl``.

What a fork cannot give is a fresh interpreter: settings Python reads once at start-up
(``PYTHON*`` variables, the locale, ``-X`` options) are the server's. A command asked
for with any of those changed runs as an ordinary ``python -m retention_xl`` subprocess
instead (:func:`needs_fresh_interpreter`), and so does every command when
``RETENTION_XL_TEST_CLI=spawn`` is set, which runs the whole suite the old way.

Only POSIX systems fork; elsewhere every command is an ordinary subprocess.
"""

from __future__ import annotations

import array
import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

# Modules the server imports before it forks, besides every module of the package.
PRELOAD = ("pyarrow.parquet", "pyarrow.csv", "duckdb")

SPAWN_ENV = "RETENTION_XL_TEST_CLI"


def needs_fresh_interpreter(env: Mapping[str, str], server_env: Mapping[str, str]) -> bool:
    """Whether ``env`` differs from the server's in a variable read at interpreter start.

    >>> needs_fresh_interpreter({"PYTHONWARNINGS": "error"}, {})
    True
    >>> needs_fresh_interpreter({"SHOP": "x", "LANG": "C"}, {"LANG": "C"})
    False
    """
    keys = set(env) | set(server_env)
    startup = [k for k in keys if k.startswith("PYTHON") or k == "LANG" or k.startswith("LC_")]
    return any(env.get(k) != server_env.get(k) for k in startup)


# ----------------------------------------------------------------------------- server


def _child(request: dict[str, Any], fds: Sequence[int]) -> int:
    """In the forked child: become the command, run it, return its exit status."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # found again from this environment's TMPDIR, as at start-up
    encoding = sys.stdout.encoding  # the server's: PYTHONIOENCODING or the locale's

    def stream(fd: int, mode: str, errors: str, line_buffering: bool) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        buffered: Any = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        return io.TextIOWrapper(
            buffered, encoding=encoding, errors=errors, line_buffering=line_buffering
        )

    # As the interpreter sets them up when the streams are not a terminal.
    sys.stdin = sys.__stdin__ = stream(0, "r", "strict", False)
    sys.stdout = sys.__stdout__ = stream(1, "w", "strict", False)
    sys.stderr = sys.__stderr__ = stream(2, "w", "backslashreplace", True)
    sys.argv = ["retention-xl", *request["args"]]
    code: int
    try:
        from retention_xl.cli import main

        main(args=request["args"], prog_name="retention-xl")
        code = 0
    except SystemExit as exc:  # as the interpreter turns SystemExit into a status
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    import atexit

    atexit._run_exitfuncs()
    for out in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            out.flush()
    return code


def serve(path: str) -> None:
    """Import :data:`PRELOAD`, then fork one child per request on the socket ``path``."""
    import importlib
    import pkgutil

    import retention_xl

    names = [
        info.name
        for info in pkgutil.walk_packages(retention_xl.__path__, "retention_xl.")
        if not info.name.endswith("__main__")  # those would run a command
    ]
    for name in [*names, *PRELOAD]:
        with contextlib.suppress(ImportError):  # an extra that is not installed
            importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    listener.settimeout(2.0)
    parent = os.getppid()
    print("ready", flush=True)
    while os.getppid() == parent:  # the pytest worker that started it is still there
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        with conn:
            message, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
            while chunk := conn.recv(1 << 16):  # the rest, up to the client's end of writing
                message += chunk
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:  # the command
                listener.close()
                conn.close()
                code = 1
                try:
                    code = _child(request, fds)
                finally:
                    os._exit(code)
            for fd in fds:
                os.close(fd)
            conn.sendall(f"{pid}\n".encode())
            _, status = os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


# ----------------------------------------------------------------------------- client


class CliProcesses:
    """The test side: start the server once, then run commands through it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._server: subprocess.Popen[str] | None = None
        # The server's environment is this process's when the object is made (a session
        # fixture, set up before any test changes the environment), not when it starts.
        self._server_env = self.base_env()

    def base_env(self) -> dict[str, str]:
        """The environment of a command: this process's, with the checkout importable."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), env.get("PYTHONPATH", "")])
        env.setdefault("PYTHONIOENCODING", "utf-8")
        return env

    def _socket(self) -> str | None:
        """The server's socket, started on first use; None where forking is not possible."""
        if os.environ.get(SPAWN_ENV) == "spawn" or not hasattr(os, "fork"):
            return None
        if self._server is not None and self._server.poll() is None:
            assert self._dir is not None
            return os.path.join(self._dir.name, "cli.sock")
        self.close()
        self._dir = tempfile.TemporaryDirectory(prefix="rxl-cli-")
        path = os.path.join(self._dir.name, "cli.sock")
        self._server = subprocess.Popen(
            [sys.executable, __file__, path],
            env=self._server_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._server.stdout is not None
        line = self._server.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the CLI process server did not start (said {line!r})")
        return path

    def run(
        self, args: Sequence[str], cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """``retention-xl ARGS`` in ``cwd``, as :func:`subprocess.run` would report it."""
        argv = [sys.executable, "-m", "retention_xl", *args]
        env = self.base_env()
        path = self._socket()
        if path is None or needs_fresh_interpreter(env, self._server_env):
            return subprocess.run(
                argv,
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        with (
            open(os.devnull, "rb") as stdin,
            tempfile.TemporaryFile() as out,
            tempfile.TemporaryFile() as err,
        ):
            code = self._fork(path, list(args), cwd, env, (stdin, out, err), timeout)
            stdout, stderr = (_text(f) for f in (out, err))
        return subprocess.CompletedProcess(argv, code, stdout, stderr)

    def _fork(
        self,
        path: str,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        files: tuple[IO[bytes], IO[bytes], IO[bytes]],
        timeout: float,
    ) -> int:
        """Have the server fork the command; wait for its exit status."""
        request = json.dumps({"args": args, "cwd": str(cwd), "env": env}).encode()
        fds = array.array("i", [f.fileno() for f in files])
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(path)
            conn.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            conn.shutdown(socket.SHUT_WR)
            started = _line(conn)
            if not started:
                raise RuntimeError(f"the CLI process server died before running {args}")
            pid = int(started)
            conn.settimeout(timeout)
            try:
                status = _line(conn)
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(["retention-xl", *args], timeout) from None
        if not status:
            raise RuntimeError(f"the CLI process server died while running {args}")
        return int(status)

    def close(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.kill()
            self._server.wait()
            if self._server.stdout is not None:
                self._server.stdout.close()
            self._server = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _line(conn: socket.socket) -> str:
    """One line from the server ('' if it closed the connection first)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            return ""
        data += chunk
    return data.decode().strip()


def _text(file: IO[bytes]) -> str:
    """A captured stream as ``subprocess.run(text=True)`` decodes it (universal newlines)."""
    file.seek(0)
    data = file.read().decode(_locale_encoding())
    return data.replace("\r\n", "\n").replace("\r", "\n")


def _locale_encoding() -> str:
    import locale

    return locale.getpreferredencoding(False)


if __name__ == "__main__":
    serve(sys.argv[1])
