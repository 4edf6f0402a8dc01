"""Writing files safely: atomic replacement, locks, read-only files, stale temporaries.

Every command that writes a file the user keeps - ``build``, ``template``, ``demo``,
``predict --out`` and ``refresh`` - goes through this module:

* :func:`check_target` refuses before any work starts: a missing folder, a file open
  in Excel or LibreOffice (their lock files), a read-only file (by its mode bits as well
  as ``os.access``, which says yes to root whatever the bits), another program's lock;
* :func:`write_atomically` lets a writer fill a temporary file in the target folder,
  fsyncs it and renames it over the target in one step: an interrupted or failed
  command leaves the previous file byte-identical;
* :func:`replace_atomically` does the same for bytes already in memory (refresh), with
  the previous version kept as ``BOOK.bak``;
* :func:`clean_stale_temporaries` removes the temporary files a killed run left behind
  (their names carry the writing process id) and says which.

Examples
--------
>>> [p.name for p in lock_files("Book.xlsx")]
['~$Book.xlsx', '.~lock.Book.xlsx#']
>>> temporary_prefix("Report.xlsx")
'.~rxl.Report.xlsx.'
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from retention_xl.errors import WorkbookError

__all__ = [
    "FileStat",
    "WorkbookLockedError",
    "backup_path",
    "check_not_locked",
    "check_target",
    "clean_stale_temporaries",
    "is_read_only",
    "lock_files",
    "replace_atomically",
    "temporary_prefix",
    "write_atomically",
    "write_folder_atomically",
]

#: a temporary file whose process is unknown counts as stale after this many seconds
STALE_AFTER_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class FileStat:
    """Identity of the file as read, to notice a save by someone else before replacing."""

    size: int
    mtime_ns: int
    inode: int


class WorkbookLockedError(WorkbookError):
    """The workbook is open in Excel or LibreOffice (or locked by another program)."""


# --------------------------------------------------------------------------- locks


def lock_files(path: str | Path) -> list[Path]:
    """The lock files Excel and LibreOffice create next to an open workbook.

    Excel: ``~$Book.xlsx`` (the "owner file"); LibreOffice: ``.~lock.Book.xlsx#``.

    >>> [p.name for p in lock_files("Book.xlsx")]
    ['~$Book.xlsx', '.~lock.Book.xlsx#']
    """
    p = Path(path)
    return [p.with_name(f"~${p.name}"), p.with_name(f".~lock.{p.name}#")]


def check_not_locked(path: str | Path, *, command: str = "refresh") -> None:
    """Refuse a workbook that is open in Excel or LibreOffice, or read-only.

    Looks for the lock files of :func:`lock_files`; on Windows also tries to open the
    file for writing (Excel holds it exclusively); elsewhere tests for a POSIX lock.

    Raises
    ------
    WorkbookLockedError
        Naming the lock file and what to do (close the workbook; delete a stale lock).
    """
    p = Path(path)
    for lock in lock_files(p):
        if lock.exists():
            app = "Excel" if lock.name.startswith("~$") else "LibreOffice"
            owner = _lock_owner(lock)
            raise WorkbookLockedError(
                f"{p.name} is open in {app}{owner} (lock file {lock.name} exists): close it "
                f"there and run {command} again. If it is not open anywhere, the lock file "
                f"was left by a crash: delete {lock} and try again"
            )
    if is_read_only(p):
        raise WorkbookLockedError(
            f"{p.name} is read-only: allow writing to it (file properties; on Linux and "
            f"macOS: chmod u+w {p.name}) and try again"
        )
    try:
        if sys.platform == "win32":
            # Excel opens a workbook with deny-write sharing: opening it for update fails
            with open(p, "r+b"):
                pass
        else:
            _posix_lock_probe(p)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"{p.name} is open in another program (it refuses writing: {exc.strerror}); "
            f"close it and run {command} again"
        ) from exc


def is_read_only(path: str | Path) -> bool:
    """Whether ``path`` is read-only: no write bit set, or ``os.access`` says so.

    Root may write any file, so ``os.access`` alone would let a command overwrite a
    file its owner made read-only on purpose; the mode bits say what was meant.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = Path(d, "a.xlsx"); _ = f.write_bytes(b"x"); f.chmod(0o444)
    ...     is_read_only(f)
    True
    """
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        return False
    return not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) or not os.access(p, os.W_OK)


def _posix_lock_probe(p: Path) -> None:
    import fcntl

    with open(p, "rb") as fh:
        try:
            fcntl.lockf(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                raise PermissionError(exc.errno, "it holds a lock on the file") from exc
            return  # file systems without locks (some network shares): no verdict
        fcntl.lockf(fh.fileno(), fcntl.LOCK_UN)


def _lock_owner(lock: Path) -> str:
    """`` by NAME`` from a LibreOffice lock file (``,NAME,HOST,DATE,...``), else ''."""
    if not lock.name.startswith(".~lock."):
        return ""
    try:
        text = lock.read_bytes()[:512].decode("utf-8", errors="replace")
    except OSError:
        return ""
    fields = text.split(",")
    who = fields[1].strip() if len(fields) > 1 else ""
    return f" by {who}" if who else ""


# --------------------------------------------------------------------------- atomic replace


def backup_path(path: str | Path) -> Path:
    """Where the previous version is kept: ``BOOK.bak`` (``report.xlsx.bak``)."""
    p = Path(path)
    return p.with_name(p.name + ".bak")


def _write_all(fh: IO[bytes], data: bytes | memoryview) -> None:
    """Write ``data`` in chunks (a seam the disk-full tests replace)."""
    view = memoryview(data)
    step = 8 * 1024**2
    for start in range(0, len(view), step):
        fh.write(view[start : start + step])


def _write_temp(folder: Path, stem: str, data: bytes, *, like: Path | None) -> Path:
    fd, name = tempfile.mkstemp(prefix=_own_prefix(stem), suffix=".tmp", dir=folder)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        if like is not None:
            with contextlib.suppress(OSError):
                shutil.copymode(like, tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _fsync_dir(folder: Path) -> None:
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_atomically(
    path: str | Path,
    data: bytes,
    *,
    expect: FileStat | None = None,
    original: bytes | None = None,
    backup: bool = True,
) -> Path | None:
    """Replace ``path`` with ``data`` so that it is either the old file or the new one.

    The new bytes go to a temporary file in the same folder, are flushed and fsynced,
    then ``os.replace`` swaps it in. With ``backup`` the previous bytes (``original``,
    or the file as it is now) are written first to ``BOOK.bak`` the same way. ``expect``
    is the file's identity when it was read: if someone saved it since, nothing is
    replaced. Returns the backup path (None without backup).

    Raises
    ------
    WorkbookError
        Disk full, no permission, or the file changed since it was read; the workbook
        is left as it was (a leftover temporary file is removed).
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    bak = backup_path(p) if backup else None
    with _swapping(p) as temps:
        if expect is not None:
            _check_unchanged(p, expect)
        tmp = _write_temp(folder, p.name, data, like=p)
        temps.append(tmp)
        if bak is not None:
            old = original if original is not None else p.read_bytes()
            bak_tmp = _write_temp(folder, bak.name, old, like=p)
            temps.append(bak_tmp)
            os.replace(bak_tmp, bak)
        if expect is not None:
            _check_unchanged(p, expect)
        os.replace(tmp, p)
        _fsync_dir(folder)
    return bak


@contextlib.contextmanager
def _swapping(p: Path) -> Iterator[list[Path]]:
    """The failure handling both writers share: an ``OSError`` becomes a
    :class:`WorkbookError` that says ``p`` was not changed, and every temporary file
    registered in the yielded list is removed unless it was renamed into place."""
    temps: list[Path] = []
    try:
        yield temps
    except WorkbookError:
        raise
    except OSError as exc:
        raise WorkbookError(_os_message(p, exc)) from exc
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)  # gone already once renamed into place


def _check_unchanged(p: Path, expect: FileStat) -> None:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise WorkbookError(f"{p.name} was moved or deleted during the refresh") from None
    if (st.st_size, st.st_mtime_ns, st.st_ino) != (expect.size, expect.mtime_ns, expect.inode):
        raise WorkbookError(
            f"{p.name} was saved by another program during the refresh: it was not "
            "replaced, so those changes are kept. Run refresh again"
        )


def _os_message(p: Path, exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = "there is not enough disk space"
    elif isinstance(exc, PermissionError):
        what = f"writing in {p.parent.resolve()} is not allowed ({exc.strerror})"
    else:
        what = f"the file system refused the write ({exc.strerror or exc})"
    return f"{p.name} was not changed: {what}. Free some space or fix the folder and try again"


# --------------------------------------------------------------------------- new files


def temporary_prefix(name: str) -> str:
    """The name prefix of every temporary file written for the target ``name``."""
    return f".~rxl.{name}."


def _own_prefix(name: str) -> str:
    # the process id lets a later run tell a dead run's leftover from a live one's file
    return f"{temporary_prefix(name)}{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - no cheap probe; go by age
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporary files an interrupted run left beside ``path``; list them.

    A temporary file is ``.~rxl.<name>.<pid>.<random>.tmp``: it is stale when process
    ``pid`` is gone (or, where that cannot be told, when it is older than a day).
    Files of a run still in progress are left alone.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    prefix = temporary_prefix(p.name)
    removed: list[Path] = []
    try:
        candidates = [f for f in folder.iterdir() if f.name.startswith(prefix)]
    except OSError:
        return removed
    now = time.time()
    for f in candidates:
        if not f.name.endswith(".tmp"):
            continue
        rest = f.name[len(prefix) :]
        rest = rest.removeprefix("bak.")  # the backup's temporary file
        pid_text = rest.split(".", 1)[0]
        pid = int(pid_text) if pid_text.isdigit() else None
        if pid == os.getpid():
            continue
        try:
            old = now - f.stat().st_mtime > STALE_AFTER_SECONDS
        except OSError:
            continue
        if old or (pid is not None and not _pid_alive(pid)):
            with contextlib.suppress(OSError):
                if f.is_dir() and not f.is_symlink():  # a dataset folder being written
                    shutil.rmtree(f)
                else:
                    f.unlink()
                removed.append(f)
    return removed


def check_target(
    path: str | Path, *, option: str = "--out", command: str = "build", folder_ok: bool = False
) -> None:
    """Refuse to write ``path`` before any work starts, with a message saying why.

    The folder must exist (it is not created: a mistyped path would scatter files) and
    be a folder; an existing file must not be open in Excel or LibreOffice, read-only,
    or a folder.

    Raises
    ------
    WorkbookError
        Naming the option, the path and what to do.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.exists():
        raise WorkbookError(
            f"{option} {p}: the folder {folder} does not exist. Create it first "
            f"(mkdir -p {folder}) or choose another {option}"
        )
    if not folder.is_dir():
        raise WorkbookError(f"{option} {p}: {folder} is a file, not a folder")
    if p.is_dir():
        if folder_ok:
            if not os.access(p, os.W_OK) or not os.access(folder, os.W_OK):
                raise WorkbookError(
                    f"{option} {p}: the folder is read-only: allow writing to it and try again"
                )
            return
        raise WorkbookError(f"{option} {p} is a folder: give a file name, e.g. {p / 'report.xlsx'}")
    if p.exists():
        check_not_locked(p, command=command)


@dataclass(slots=True)
class Written:
    """What :func:`write_atomically` did: the file and the leftovers it removed."""

    path: Path
    removed: list[Path]

    def notes(self) -> list[str]:
        """One line per leftover removed, for the terminal."""
        return [
            f"removed {f.name}, a temporary file left by an interrupted run" for f in self.removed
        ]


def write_atomically(
    path: str | Path,
    writer: Callable[[Path], object],
    *,
    option: str = "--out",
    command: str = "build",
) -> Written:
    """Let ``writer(tmp)`` write a temporary file, then put it in place as ``path``.

    The temporary file is in the target folder (so the final ``os.replace`` is one
    atomic rename on the same file system), hidden, and named after the target and
    this process; it is flushed and fsynced before the rename and the folder after.
    Any failure or interruption (``KeyboardInterrupt`` included) removes it and leaves
    an existing ``path`` byte-identical. Locks and read-only files are checked before
    and again just before the rename (Excel may have opened the file meanwhile).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     done = write_atomically(Path(d, "a.csv"), lambda tmp: tmp.write_text("x,y\\n"))
    ...     done.path.read_text(), sorted(f.name for f in Path(d).iterdir())
    ('x,y\\n', ['a.csv'])
    """
    p = Path(path)
    check_target(p, option=option, command=command)
    removed = clean_stale_temporaries(p)
    folder = p.parent if str(p.parent) else Path(".")
    with _swapping(p) as temps:
        fd, name = tempfile.mkstemp(prefix=_own_prefix(p.name), suffix=".tmp", dir=folder)
        os.close(fd)
        tmp = Path(name)
        temps.append(tmp)
        writer(tmp)
        if not p.exists():  # mkstemp's 0600 would hide a new report from the group
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if p.exists():
            check_not_locked(p, command=command)
            with contextlib.suppress(OSError):
                shutil.copymode(p, tmp)
        os.replace(tmp, p)
        _fsync_dir(folder)
    return Written(p, removed)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def write_folder_atomically(
    path: str | Path,
    writer: Callable[[Path], object],
    *,
    option: str = "--out",
    command: str = "predict",
) -> Written:
    """Let ``writer(tmp)`` create the folder ``tmp`` (a dataset of part files, as Spark
    writes), then put it in place as ``path``.

    ``tmp`` is a hidden sibling named like :func:`write_atomically`'s temporary files
    (so a killed run's leftover is cleaned the same way); it must not exist before
    ``writer`` runs. One rename cannot replace a folder, so a previous ``path`` (a file
    or a folder) is renamed aside, the new folder renamed in, and only then the
    previous one removed; if the second rename fails, the previous one is renamed back.
    A failure while writing leaves an existing ``path`` as it was, byte for byte.

    >>> import tempfile
    >>> def two_parts(tmp):
    ...     tmp.mkdir(); _ = (tmp / "part-0").write_text("a"); _ = (tmp / "part-1").write_text("b")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "s.parquet").write_text("old")
    ...     done = write_folder_atomically(Path(d, "s.parquet"), two_parts)
    ...     sorted(f.name for f in done.path.iterdir()), sorted(f.name for f in Path(d).iterdir())
    (['part-0', 'part-1'], ['s.parquet'])
    """
    import secrets

    p = Path(path)
    check_target(p, option=option, command=command, folder_ok=True)
    removed = clean_stale_temporaries(p)
    folder = p.parent if str(p.parent) else Path(".")
    token = secrets.token_hex(4)
    tmp = folder / f"{_own_prefix(p.name)}{token}.tmp"
    aside = folder / f"{_own_prefix(p.name)}{token}.old.tmp"
    moved = False
    try:
        writer(tmp)
        if not tmp.is_dir():
            raise WorkbookError(f"{option} {p}: nothing was written; {p.name} was not changed")
        if p.exists() or p.is_symlink():
            if p.is_file():
                check_not_locked(p, command=command)
            os.rename(p, aside)
            moved = True
        try:
            os.rename(tmp, p)
        except OSError:
            if moved:
                os.rename(aside, p)
                moved = False
            raise
        _fsync_dir(folder)
    except WorkbookError:
        raise
    except OSError as exc:
        raise WorkbookError(_os_message(p, exc)) from exc
    finally:
        for leftover in (tmp, aside) if not moved or p.exists() else (tmp,):
            with contextlib.suppress(OSError):
                _remove(leftover)
    return Written(p, removed)
