"""Output sets: whole folders that appear complete or not at all, one writer at a time, and
outputs that can never land on an input.

An output folder (an ingest's ``responses.csv`` + ``rejected.csv`` + ``ingest_log.json``; a
report) is built in a temporary sibling folder on the same file system and moved into place in
one rename (an atomic exchange with the earlier folder when there is one), so a crash, a
``kill -9`` or a full disk leaves either the earlier set or the new one, never a mix. A sibling
lock file (``flock``) refuses a second writer of the same output while the first is running; the
kernel releases it when its process dies, however it dies.

An ingest set also carries a completion record (:data:`MARKER`: the sha256 of every file of the
set). Readers (:func:`check_input_set`) refuse a ``responses.csv`` whose folder holds a set that
is incomplete or mixed: files of one run beside files of another, a file edited or cut short.

Before anything runs, :func:`check_output` refuses an output that is an input, lies inside a
``data/raw/`` folder, or holds an input; a folder output also refuses to replace a folder that
is not an earlier output of the same kind (it would delete somebody's files).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ._io import canonical_json, sha256_file, write_text
from .errors import InputError, Joined, Msg, OutputBusyError, OutputError, os_error_message

__all__ = ["MARKER", "check_input_set", "check_output", "output_set", "seal_set", "writer_lock"]

#: The completion record of an ingest set: schema, kind and the sha256 of every file.
MARKER = "output_set.json"
SET_SCHEMA = "partnerschap-eval/output-set/v1"
#: The manifest that marks a report folder (written last, inside the staging folder).
REPORT_MANIFEST = "manifest.json"
REPORT_SCHEMA = "partnerschap-eval/manifest/v1"
#: The files an ingest writes; a folder holding only these (and the marker) is an ingest set.
INGEST_FILES = ("responses.csv", "rejected.csv", "ingest_log.json")
_STAGING = ".staging-"
_OLD = ".old-"


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(path)).resolve()


def _in_raw(path: Path) -> Path | None:
    """The ``data/raw`` folder ``path`` lies in (or is), if any."""
    for p in (path, *path.parents):
        if p.name == "raw" and p.parent.name == "data":
            return p
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a == b or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output(out: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None],
                 *, folder: bool, what: Msg | str | None = None) -> Path:
    """Refuse an output path that would overwrite or delete an input; return it resolved.

    Parameters
    ----------
    out
        The output: a folder (``folder=True``, replaced as a whole) or a single file.
    inputs
        Every file or folder the command reads (``None`` entries are skipped).
    folder
        Whether ``out`` is a folder that the command replaces as a whole.
    what
        What the output is, for the message: a catalogue text that starts the sentence with its
        article (``Msg("errors.what.scores_file")``: "Het scorebestand" / "The scores file");
        ``None`` is ``errors.what.output``.

    Raises
    ------
    OutputError
        When ``out`` is an input, lies inside ``data/raw/``, holds an input (folders), or is a
        folder where a file is expected (or the other way round).
    """
    what = what or Msg("errors.what.output")
    target = _resolved(out)
    blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OutputError(Msg("errors.outputs.blocker", what=what, out=out, blocker=blocker))
    raw = _in_raw(target)
    if raw is not None:
        raise OutputError(Msg("errors.outputs.raw", what=what, out=out, raw=raw))
    for given in inputs:
        if given is None:
            continue
        inp = _resolved(given)
        if _same_file(target, inp):
            raise OutputError(Msg("errors.outputs.is_input", what=what, out=out, given=given))
        if folder and target in inp.parents:
            raise OutputError(Msg("errors.outputs.holds_input", what=what, out=out, given=given))
    if folder and target.exists() and not target.is_dir():
        raise OutputError(Msg("errors.outputs.not_folder", what=what, out=out))
    if not folder and target.is_dir():
        raise OutputError(Msg("errors.outputs.not_file", what=what, out=out,
                              example=Path(out) / "scores.csv"))
    if not folder:
        _refuse_set_member(target, out, what)
    return target


def _refuse_set_member(target: Path, out: object, what: Msg | str) -> None:
    """A single-file output must not overwrite a file of an output set (it would be mixed)."""
    marker = target.parent / MARKER
    manifest = target.parent / REPORT_MANIFEST
    names: set[str] = set()
    for path in (marker, manifest):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("files"), dict):
            names |= set(data["files"])
        if isinstance(data, dict) and isinstance(data.get("outputs"), list):
            names |= {o.get("path") for o in data["outputs"] if isinstance(o, dict)}
    if target.name in names | {MARKER, REPORT_MANIFEST} and (marker.exists() or manifest.exists()):
        raise OutputError(Msg("errors.outputs.set_member", what=what, out=out,
                              folder=target.parent))


# ---------------------------------------------------------------------------------------------
# the lock
# ---------------------------------------------------------------------------------------------
def lock_path(target: Path) -> Path:
    """The lock file of an output: a hidden sibling, so the output folder itself stays clean."""
    return target.parent / f".{target.name}.lock"


@contextmanager
def writer_lock(target: str | os.PathLike[str], what: Msg | str | None = None
                ) -> Iterator[Path]:
    """Hold the writer lock of ``target`` (created when missing) or refuse at once.

    ``flock`` locks belong to the open file: the kernel drops them when the process ends, also
    on ``kill -9``, so a crashed writer never leaves a stale lock. The lock file holds the
    writer's process id (for the message); it is left in place because deleting a lock file
    races with the next writer opening it. ``what`` names the output in the message (a catalogue
    text that starts the sentence, as for :func:`check_output`).
    """
    what = what or Msg("errors.what.output")
    target = _resolved(target)
    path = lock_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise OutputError(os_error_message(exc, path, "creating the lock file")) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = (os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                      or Msg("errors.outputs.another_process"))
            raise OutputBusyError(Msg("errors.outputs.busy", what=what, target=target,
                                      holder=holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


# ---------------------------------------------------------------------------------------------
# staging and the swap
# ---------------------------------------------------------------------------------------------
def _is_set(folder: Path, kind: str) -> bool:
    """Whether ``folder`` is an earlier output of ``kind`` (so replacing it loses nothing else)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    if not entries:
        return True
    if kind == "report":
        try:
            manifest = json.loads((folder / REPORT_MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(manifest, dict) and manifest.get("schema") == REPORT_SCHEMA
    allowed = {*INGEST_FILES, MARKER}
    return all(e.name in allowed and e.is_file() or e.is_dir() and _is_set(e, kind)
               for e in entries)


def _remove_leftovers(target: Path) -> None:
    """Staging and old folders of ``target`` left by a killed run (we hold the lock)."""
    for prefix in (f".{target.name}{_STAGING}", f".{target.name}{_OLD}"):
        for stale in target.parent.glob(f"{prefix}*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False when the
    system cannot, so the caller falls back to two renames."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder of the staging tree: after a power loss the renamed folder
    must not hold empty files."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _swap_into_place(stage: Path, target: Path) -> None:
    if not target.exists():
        os.rename(stage, target)  # one step; onto a missing (or empty) folder
    elif _exchange(stage, target):
        shutil.rmtree(stage, ignore_errors=True)  # now the earlier set
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}{_OLD}", dir=target.parent))
        os.rename(target, old / "set")
        os.rename(stage, target)
        shutil.rmtree(old, ignore_errors=True)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def output_set(out: str | os.PathLike[str], *, kind: str,
               inputs: Iterable[str | os.PathLike[str] | None] = (),
               what: Msg | str | None = None) -> Iterator[Path]:
    """Build an output folder in a staging sibling and move it into place as a whole.

    Yields the staging folder; when the block succeeds it replaces ``out`` in one atomic step
    (nothing of an earlier ``out`` survives); when it fails (an error, a full disk) the staging
    folder is removed and ``out`` stays as it was. The checks of :func:`check_output` run and
    the writer lock is taken before the block, so a refused run has done nothing.

    Parameters
    ----------
    out
        The output folder.
    kind
        ``"ingest"`` or ``"report"``: an existing ``out`` is replaced only when it is empty or
        an earlier output of that kind.
    inputs
        Files and folders the command reads; ``out`` may not be, lie in, or hold one of them.
    what
        How messages name ``out`` (a catalogue text that starts the sentence, as for
        :func:`check_output`); ``None`` is ``errors.what.<kind>_folder``.
    """
    what = what or Msg(f"errors.what.{kind}_folder")
    target = check_output(out, inputs, folder=True, what=what)
    with writer_lock(target, what):
        if target.exists() and not _is_set(target, kind):
            raise OutputError(Msg("errors.outputs.foreign", what=what, out=out,
                                  kind=Msg(f"errors.outputs.kind.{kind}")))
        try:
            _remove_leftovers(target)
            stage: Path | None = Path(tempfile.mkdtemp(prefix=f".{target.name}{_STAGING}",
                                                       dir=target.parent))
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(stage, 0o777 & ~umask)
        except OSError as exc:
            raise OutputError(os_error_message(exc, out)) from exc
        try:
            # OS errors of the block's own writes are mapped where they happen (atomic_path);
            # one that escapes is a bug or a read error and keeps its own type.
            try:
                yield stage
            except OutputError as exc:  # name the output the user gave, not the staging folder
                raise type(exc)(_renamed(exc.msg, str(stage), str(out)) if exc.msg is not None
                                else str(exc).replace(str(stage), str(out))) from exc.__cause__
            try:
                _fsync_tree(stage)
                _swap_into_place(stage, target)
            except OSError as exc:
                raise OutputError(os_error_message(exc, out)) from exc
            stage = None
        finally:
            if stage is not None:
                shutil.rmtree(stage, ignore_errors=True)


def _renamed(msg: Msg, old: str, new: str) -> Msg:
    """``msg`` with the staging folder ``old`` in its parameters named as the output ``new``."""
    if isinstance(msg, Joined):
        return Joined([_renamed(p, old, new) if isinstance(p, Msg) else p for p in msg.parts],
                      msg.sep)
    return Msg(msg.key, **{k: _renamed(v, old, new) if isinstance(v, Msg)
                           else str(v).replace(old, new) if old in str(v) else v
                           for k, v in msg.params.items()})


# ---------------------------------------------------------------------------------------------
# completion records
# ---------------------------------------------------------------------------------------------
def seal_set(folder: str | os.PathLike[str], kind: str, names: Iterable[str]) -> Path:
    """Write the completion record of a set: the sha256 of each named file of ``folder``."""
    folder = Path(folder)
    record = {"schema": SET_SCHEMA, "kind": kind,
              "files": {name: sha256_file(folder / name) for name in sorted(names)}}
    write_text(folder / MARKER, canonical_json(record))
    return folder / MARKER


def check_input_set(path: str | os.PathLike[str]) -> None:
    """Refuse a file that belongs to an incomplete or mixed output set.

    A file with no set around it (a responses table made by hand, Contract 2) passes. A file
    next to a completion record passes only when every file the record names is there with the
    recorded sha256. A ``responses.csv`` beside an ingest log but without a record (a run that
    was cut short, or an older version) is refused, and so is a file inside a staging folder.

    Raises
    ------
    InputError
        With the path, what is wrong, and to run the ingest again.
    """
    path = Path(path)
    folder = path.parent
    again = Msg("errors.outputs.again")
    if folder.name.startswith(".") and _STAGING in folder.name:
        raise InputError(Msg("errors.outputs.staging", path=path, folder=folder, again=again))
    marker = folder / MARKER
    if not marker.exists():
        if path.name in INGEST_FILES and any((folder / n).exists() for n in INGEST_FILES
                                             if n != path.name):
            raise InputError(Msg("errors.outputs.no_record", path=path, marker=MARKER,
                                 again=again))
        return
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        files = record["files"]
        if record.get("schema") != SET_SCHEMA or not isinstance(files, dict):
            raise ValueError(record.get("schema"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InputError(Msg("errors.outputs.bad_record", marker=marker, again=again)) from None
    if path.name not in files:
        if path.name in INGEST_FILES:
            raise InputError(Msg("errors.outputs.not_in_set", path=path, marker=marker,
                                 again=again))
        return
    problems = []
    for name, digest in sorted(files.items()):
        member = folder / name
        if not member.is_file():
            problems.append(Msg("errors.outputs.member_missing", name=name))
        elif sha256_file(member) != digest:
            problems.append(Msg("errors.outputs.member_differs", name=name))
    if problems:
        raise InputError(Msg("errors.outputs.mixed", folder=folder, problems=Joined(problems),
                             again=again))
