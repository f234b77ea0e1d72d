"""Reading the files a user points at: bounded, in a declared encoding, with one-paragraph errors.

Every small file the package reads on a user's word — instrument, mapping and project YAML, the
pseudonymisation key — goes through :func:`read_limited`, and every YAML file through
:func:`load_yaml`. Both turn what can go wrong into an :class:`~partnerschap_eval.errors.InputError`
whose message names the path, says what is wrong and what to do; none lets a traceback, a hang or
an unbounded allocation through:

* **Operating-system errors** (no such file, a folder given as a file, a path through a file,
  permission denied, a device error) become one sentence naming the path (:func:`os_error_text`).
* **Size**: at most ``max_bytes`` are read, however large the file claims (or turns out) to be —
  a FIFO or ``/dev/zero`` given as a key file is refused after ``max_bytes + 1`` bytes, not read
  for ever.
* **Encoding**: YAML files are UTF-8 (a byte-order mark is allowed); anything else is refused
  with the line of the first byte that is not UTF-8, rather than guessed.
* **YAML structure**: only YAML's safe tags (no ``!!python/...`` objects); nesting at most
  :data:`MAX_YAML_DEPTH` deep, counted while the document is composed so that the composer's
  recursion never gets near Python's limit or the C stack (20,000 nested ``[`` or ``- `` are
  refused at depth 65, in milliseconds); aliases and anchors are allowed, but the document *as
  expanded* may hold at most :data:`MAX_YAML_NODES` nodes, so a "billion laughs" document (nine
  aliases of nine aliases of ...) is refused before anything is built from it, and an alias that
  refers to its own ancestor (a cycle) is refused too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from .errors import Count, InputError, Joined, Msg

__all__ = ["read_limited", "os_error_text", "load_yaml", "MAX_YAML_BYTES", "MAX_YAML_DEPTH",
           "MAX_YAML_NODES", "MAX_YAML_ALIASES", "YamlFileError", "read_responses_file"]

#: A YAML file of the package (the largest bundled instrument is 16 kB) is never near this.
MAX_YAML_BYTES = 1 << 20
#: Deepest nesting of mappings and sequences; instruments need 6.
MAX_YAML_DEPTH = 64
#: Nodes of the document with every alias expanded (the largest instrument has about 2,000);
#: parsing this many takes about a second.
MAX_YAML_NODES = 50_000
#: Alias occurrences in one document.
MAX_YAML_ALIASES = 10_000

_OS_NAMES = {errno.ENOENT: "ENOENT", errno.EISDIR: "EISDIR", errno.ENOTDIR: "ENOTDIR",
             errno.EACCES: "EACCES", errno.EPERM: "EPERM", errno.ELOOP: "ELOOP",
             errno.ENAMETOOLONG: "ENAMETOOLONG", errno.EIO: "EIO"}
_OS_FIXES = {errno.ENOENT: "ENOENT", errno.EISDIR: "EISDIR", errno.ENOTDIR: "ENOTDIR",
             errno.EACCES: "EACCES", errno.EPERM: "EACCES"}


def os_error_text(path: str | os.PathLike[str], exc: OSError, what: Msg | str | None = None
                  ) -> str:
    """One sentence naming ``path`` and what the operating system said, with a fix (English;
    :func:`os_error_msg` is the same text for either language).

    ``what`` names the file at the start of the sentence, with its article (a catalogue text,
    ``errors.what.*``; ``None`` is "The file").

    >>> os_error_text("x.yaml", FileNotFoundError(2, "No such file or directory"),
    ...               Msg("errors.what.mapping_file"))
    'The mapping file x.yaml does not exist. Check the path and the spelling.'
    """
    return str(os_error_msg(path, exc, what))


def os_error_msg(path: str | os.PathLike[str], exc: OSError, what: Msg | str | None = None
                 ) -> Joined:
    """:func:`os_error_text` as a catalogue message."""
    return Joined([what or Msg("errors.what.file"), path, os_problem_msg(exc)], " ")


def os_problem(exc: OSError) -> str:
    """What an operating-system error means for a file the user named, and the fix (English)."""
    return str(os_problem_msg(exc))


def os_problem_msg(exc: OSError) -> Joined:
    """:func:`os_problem` as a catalogue message (``errors.safe_read.reason.*``, ``fix.*``)."""
    name = _OS_NAMES.get(exc.errno or -1)
    reason = (Msg(f"errors.safe_read.reason.{name}") if name
              else Msg("errors.safe_read.reason.other", error=exc.strerror or exc))
    fix = Msg(f"errors.safe_read.fix.{_OS_FIXES.get(exc.errno or -1, 'other')}")
    return Joined([reason, fix], ". ")


class YamlFileError(InputError):
    """A file (YAML or key) that cannot be used; ``problem`` says why (without the path),
    ``line`` where (1-based, or None), so a caller can fit it into its own report (an
    instrument's list of problems)."""

    def __init__(self, path: Path, what: Msg | str | None, problem: str | Msg,
                 line: int | None = None):
        self.path, self.problem, self.line = path, problem, line
        where = Msg("errors.safe_read.line", line=line) if line is not None else ""
        super().__init__(Joined([what or Msg("errors.what.file"), " ", path, where, " ", problem],
                                ""))


def read_limited(path: str | os.PathLike[str], max_bytes: int, what: Msg | str | None = None
                 ) -> bytes:
    """The bytes of ``path``, at most ``max_bytes``; an :class:`InputError` for anything else.

    The file is opened once and read with a bound: its size is never trusted (a FIFO or a device
    has none), so no more than ``max_bytes + 1`` bytes are ever read.
    """
    from ._io import open_input  # lazy: _io loads NumPy, which reading a YAML file does not need

    path = Path(path)
    try:
        # opened without waiting: a named pipe nobody writes to would block the open for ever
        # (it then reads as empty); a pipe with a writer (``--config <(...)``) is read as usual
        with open_input(path) as fh:
            if stat.S_ISFIFO(os.fstat(fh.fileno()).st_mode):
                os.set_blocking(fh.fileno(), True)
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise YamlFileError(path, what, os_problem_msg(exc)) from None
    if len(data) > max_bytes:
        raise YamlFileError(path, what, Msg("errors.safe_read.too_large", size=_size(max_bytes)))
    return data


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{n >> 10} kB" if n >= 1 << 10 else f"{n} bytes"


class _LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader (pure Python: its parser keeps explicit stacks, no recursion) with a
    composer that counts nesting and aliases as it goes."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: object) -> Node:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _Limit(Msg("errors.safe_read.limit.aliases", n=Count(MAX_YAML_ALIASES)))
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:  # refused while parsing: a long list takes long to parse
            raise _Limit(Msg("errors.safe_read.limit.nodes", n=Count(MAX_YAML_NODES)))
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise _Limit(Msg("errors.safe_read.limit.depth", n=MAX_YAML_DEPTH,
                                 line=mark.line + 1))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Limit(Exception):
    """A YAML document beyond one of the limits (message: why)."""


def _expanded_nodes(root: Node) -> int:
    """Nodes of the document with every alias expanded, computed without expanding anything
    (each shared node is counted once and multiplied), iteratively; cycles are refused."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1
            for child in _children(node):
                total += size[id(child)]
            if total > MAX_YAML_NODES:
                raise _Limit(Msg("errors.safe_read.limit.expanded", n=Count(MAX_YAML_NODES)))
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise _Limit(Msg("errors.safe_read.limit.cycle"))
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
    return size[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(path: str | os.PathLike[str], what: Msg | str | None = None,
              max_bytes: int = MAX_YAML_BYTES) -> object:
    """Read one YAML document from ``path`` within the limits of this module.

    Returns the document as plain Python data (``None`` for an empty file). Raises
    :class:`InputError` with one paragraph naming the path, the problem and the fix.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "m.yaml"
    >>> _ = p.write_text("columns: {Q1: rec1}\\n", encoding="utf-8")
    >>> load_yaml(p)
    {'columns': {'Q1': 'rec1'}}
    >>> _ = p.write_text("[" * 100 + "]" * 100, encoding="utf-8")
    >>> load_yaml(p, Msg("errors.what.mapping_file"))
    Traceback (most recent call last):
    ...
    partnerschap_eval._safe_read.YamlFileError: The mapping file ... is not usable: it nests more than 64 levels deep (from line 1 on). ...
    """
    path = Path(path)
    what = what or Msg("errors.what.yaml_file")
    raw = read_limited(path, max_bytes, what)
    text = _utf8(raw, path, what)
    loader = _LimitedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_nodes(node)
        return loader.construct_document(node)
    except _Limit as exc:
        raise YamlFileError(path, what, Msg("errors.safe_read.limit", why=exc.args[0])) from None
    except yaml.constructor.ConstructorError as exc:
        raise YamlFileError(path, what, Msg("errors.safe_read.tag", problem=_short(exc.problem)),
                            _line(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(path, what, Msg("errors.safe_read.invalid", problem=_short(
            getattr(exc, "problem", None) or exc)), _line(exc)) from None
    except RecursionError:  # not reachable within MAX_YAML_DEPTH; kept so no traceback escapes
        raise YamlFileError(path, what, Msg("errors.safe_read.recursion")) from None
    finally:
        loader.dispose()


def _utf8(raw: bytes, path: Path, what: Msg | str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise YamlFileError(path, what, Msg("errors.safe_read.not_utf8", pos=exc.start,
                                            byte=f"{raw[exc.start]:02x}"), line) from None


def _line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def _short(text: object, limit: int = 120) -> str:
    """A parser message, cut: it may quote the document, which may hold anything."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + " …"


_PARQUET_MAGIC = b"PAR1"
_KEY_COLUMNS = ("respondent_id", "wave", "role", "school_id")


def read_responses_file(path: str | os.PathLike[str]):  # -> pandas.DataFrame
    """Read a Contract 2 responses file (CSV or Parquet); ids and keys stay text.

    Parquet is recognised by its magic bytes (``PAR1``), not only by the name, so a Parquet file
    named ``.csv`` is read as what it is; a ``.parquet`` file without them, a truncated or
    damaged one, and an unreadable path each give one paragraph naming the file.
    """
    import pandas as pd
    import pyarrow as pa

    from ._io import open_input, read_table_csv

    path = Path(path)
    what = Msg("errors.what.responses_file")
    try:
        with open_input(path) as fh:  # one open: missing, folder, permission all land here
            regular = stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
            head = fh.read(4) if regular else b""
    except OSError as exc:
        raise InputError(Msg("errors.safe_read.produce",
                             problem=os_error_msg(path, exc, what))) from None
    if not regular:  # a device or pipe (/dev/zero) would be read without end
        raise InputError(Msg("errors.safe_read.not_regular", what=what, path=path))
    keys = {k: str for k in _KEY_COLUMNS}
    if head == _PARQUET_MAGIC or path.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(Msg("errors.safe_read.parquet", what=what, path=path,
                                 error=_short(exc, 90))) from None
        present = {k: v for k, v in keys.items() if k in frame.columns}
        try:
            return frame.astype(present)
        except (TypeError, ValueError) as exc:
            raise InputError(Msg("errors.safe_read.key_columns", what=what, path=path,
                                 error=_short(exc, 90))) from None
    try:
        # as pd.read_csv(path, dtype=keys) would read it, by Arrow (parsed meanwhile when a
        # command prefetched it)
        return read_table_csv(path, list(keys))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            ValueError) as exc:
        raise InputError(Msg("errors.safe_read.csv", what=what, path=path,
                             error=_short(exc, 90))) from None
    except OSError as exc:
        raise InputError(os_error_msg(path, exc, what)) from None
