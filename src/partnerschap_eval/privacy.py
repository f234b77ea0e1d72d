"""Privacy by design: keyed pseudonyms, PII detection and small-cell suppression.

Identifiers are replaced by ``HMAC-SHA-256(key, identifier)``: the same person links across waves
and exports, and without the project key nobody can recompute or reverse a pseudonym (unlike a
plain hash, which can be brute-forced over the small space of pupil numbers).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import atomic_path
from .errors import KeyMissingError, MinCellError

KEY_ENV = "PARTNERSCHAP_EVAL_KEY"
#: Key used by ``partnerschap-eval demo`` only; it is public and protects nothing.
DEMO_KEY = b"partnerschap-eval demo key (public, synthetic data only)"
DEFAULT_MIN_CELL = 10
#: The largest minimum cell size accepted: a bigger one would suppress every number of any
#: realistic study (a class has ~25 parents, a municipality a few thousand) and is a typo.
MAX_MIN_CELL = 1000
#: Roles that are professionals: never reported per school (Contract 5).
PROFESSIONAL_ROLES = frozenset({"teacher", "youthworker", "coordinator"})

_PSEUDONYM_HEX = 20  # 80 bits: no collisions in any realistic project


def load_key(key_file: str | os.PathLike[str] | None = None) -> bytes:
    """Return the project key from ``key_file`` or the ``PARTNERSCHAP_EVAL_KEY`` variable."""
    if key_file is not None:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise KeyMissingError(
                f"The key file {key_file} cannot be read ({exc.strerror}). Create one with "
                "`partnerschap-eval keygen --out PATH` and keep it outside the data folder."
            ) from None
    else:
        key = os.environ.get(KEY_ENV, "").encode("utf-8").strip()
    if len(key) < 16:
        raise KeyMissingError(
            "No pseudonymisation key: identifiers cannot be pseudonymised without the project's "
            f"secret key. Create one with `partnerschap-eval keygen --out PATH` and pass "
            f"--key-file PATH, or set the environment variable {KEY_ENV} to the secret "
            "(at least 16 characters)."
        )
    return key


def keygen(path: str | os.PathLike[str]) -> Path:
    """Write a new random 256-bit key (hex) to ``path`` with file mode 0600; refuse to overwrite."""
    path = Path(path)
    if path.exists():
        raise KeyMissingError(f"{path} already exists; refusing to overwrite a project key.")
    with atomic_path(path) as tmp:
        os.chmod(tmp, 0o600)
        tmp.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    os.chmod(path, 0o600)
    return path


def _hmac_hex(ids: Iterable[bytes], key: bytes) -> list[str]:
    """Full hex ``HMAC-SHA-256(key, id)`` of each id, continuing from precomputed key states.

    Equal to :func:`hmac.new` (RFC 2104: ``H((K xor opad) || H((K xor ipad) || m))``), about
    twice as fast: the key's inner and outer blocks are hashed once, every id starts from copies.
    """
    block = hashlib.sha256().block_size
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    inner_copy = hashlib.sha256(bytes(b ^ 0x36 for b in k)).copy
    outer_copy = hashlib.sha256(bytes(b ^ 0x5C for b in k)).copy
    out: list[str] = []
    append = out.append
    for message in ids:
        h = inner_copy()
        h.update(message)
        o = outer_copy()
        o.update(h.digest())
        append(o.hexdigest())
    return out


def pseudonyms(ids: Sequence[str], key: bytes) -> list[str]:
    """``"p-"`` + the first 80 bits (hex) of ``HMAC-SHA-256(key, id)`` for each id, as given.

    Callers pass *distinct*, already normalised ids (see :func:`pseudonymise`).

    >>> import hmac, hashlib
    >>> pseudonyms(["0012"], b"k" * 16)[0] == "p-" + hmac.new(b"k" * 16, b"0012",
    ...                                                      hashlib.sha256).hexdigest()[:20]
    True
    """
    return ["p-" + h[:_PSEUDONYM_HEX] for h in _hmac_hex((t.encode("utf-8") for t in ids), key)]


def pseudonym_array(ids, key: bytes):  # (Sequence[str] | pyarrow.Array) -> pyarrow.StringArray
    """:func:`pseudonyms` as an Arrow string array (prefix and cut done in C++; for big tables)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(ids, pa.Array):
        messages = ids.cast(pa.binary()).to_pylist()  # UTF-8 bytes straight from Arrow
    else:
        messages = [t.encode("utf-8") for t in ids]
    digests = pa.array(_hmac_hex(messages, key), type=pa.string())
    return pc.binary_join_element_wise("p-", pc.utf8_slice_codeunits(digests, 0, _PSEUDONYM_HEX),
                                       "")


#: Below this many distinct ids a second process costs more than it saves (its start-up is
#: ~20 ms; hashing 50,000 ids takes ~30 ms), so small inputs are hashed in-process as always.
PARALLEL_MIN_IDS = 50_000
MAX_CHILDREN = 2  # hashing processes at most (each takes a share of at least half the minimum)
_WORKER = Path(__file__).resolve().parent / "ingest" / "_hmac_worker.py"


def _interpreter() -> bool:
    """Whether ``sys.executable`` is a Python interpreter that can run the worker script: in an
    embedding program (a web server, a GUI) it may name that program, which must not be started
    with the worker's arguments."""
    name = os.path.basename(sys.executable or "").lower()
    return name.startswith(("python", "pypy"))


class PseudonymJob:
    """:func:`pseudonym_array` of an Arrow string array, computed by child processes meanwhile.

    HMAC is a Python loop over the distinct ids and holds the GIL, so a thread would not help;
    fresh interpreters (standard library only, see :mod:`.ingest._hmac_worker`) hash on the other
    cores while the caller decodes the answers. One child per core (at most :data:`MAX_CHILDREN`),
    each with a contiguous share of the ids: when the caller runs out of work before the hashing
    is done, every core hashes. Fresh processes rather than ``fork``: a forked copy of a large,
    multi-threaded (Arrow's thread pool) process risks deadlocks and makes every page the parent
    writes meanwhile a copy. Whatever goes wrong with a child (no interpreter, a crash, a short
    answer), :meth:`result` computes the pseudonyms in-process instead, so the answer is always
    :func:`pseudonym_array`'s. Call :meth:`close` (or :meth:`result`) on every path: it never
    leaves a child behind.
    """

    def __init__(self, ids, key: bytes, min_ids: int = PARALLEL_MIN_IDS):
        import pyarrow as pa

        self._ids, self._key = ids, key
        self._procs: list[tuple[subprocess.Popen, int]] = []  # (child, number of its ids)
        if len(ids) < min_ids or ids.null_count or not _WORKER.is_file() or not _interpreter():
            return
        arr = ids.cast(pa.string()) if pa.types.is_large_string(ids.type) else ids
        if not pa.types.is_string(arr.type):
            return
        n = len(arr)
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
        data = memoryview(arr.buffers()[2]) if arr.buffers()[2] is not None else memoryview(b"")
        k = max(1, min(os.cpu_count() or 1, MAX_CHILDREN, n // max(min_ids // 2, 1)))
        bounds = [n * i // k for i in range(k + 1)]
        try:
            for _ in range(k):  # all started first: they start up side by side
                self._procs.append((subprocess.Popen(
                    [sys.executable, "-I", "-S", str(_WORKER)], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL), 0))
            for i, (proc, _) in enumerate(self._procs):
                lo, hi = bounds[i], bounds[i + 1]
                first, last = int(offsets[lo]), int(offsets[hi])
                proc.stdin.write(np.array([len(key), hi - lo], dtype=np.uint32).tobytes())
                proc.stdin.write(key)
                proc.stdin.write((offsets[lo:hi + 1] - first).astype(np.int32).tobytes())
                proc.stdin.write(data[first:last])
                proc.stdin.close()
                self._procs[i] = (proc, hi - lo)
        except (OSError, ValueError):
            self.close()

    def result(self):  # -> pyarrow.StringArray
        """The pseudonyms, from the children if all answered completely, else computed here."""
        import pyarrow as pa

        procs, n = self._procs, len(self._ids)
        width = 2 + _PSEUDONYM_HEX
        if procs:
            outs = []
            try:
                for proc, count in procs:
                    out = proc.stdout.read()
                    if proc.wait() != 0 or len(out) != count * width:
                        break
                    outs.append(out)
            except OSError:
                pass
            finally:
                self.close()
            if len(outs) == len(procs):
                body = outs[0] if len(outs) == 1 else b"".join(outs)
                offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
                return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body))
        return pseudonym_array(self._ids, self._key)

    def close(self) -> None:
        """End the children that still run and release their pipes (idempotent)."""
        procs, self._procs = self._procs, []
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
            proc.wait()


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed pseudonyms: ``HMAC-SHA-256(key, normalised id)``, first 80 bits in hex.

    Ids are normalised by stripping surrounding white space only, so ``"0012"`` and ``"12"`` stay
    different people. Each distinct id is hashed once. Missing values stay missing.

    >>> pseudonymise(pd.Series(["a1", " a1 ", None]), b"k" * 16).tolist()[:2]
    ['p-...', 'p-...']
    >>> s = pseudonymise(pd.Series(["a1", " a1 "]), b"k" * 16); s[0] == s[1]
    True
    """
    present = values.notna()
    texts = values[present].astype(str).str.strip()
    codes, uniques = pd.factorize(texts)
    names = np.asarray(pseudonyms([str(u) for u in uniques], key), dtype=object)
    out = pd.Series(None, index=values.index, dtype=object)
    if len(codes):
        out[present] = names[codes]
    return out


def safe_log_value(value: object, max_chars: int = 40) -> str:
    """An answer as it may appear in the ingest log: short, and never personal data.

    Answers that were not understood are logged so a school can fix them, but the log is an
    output too (Contract 5): text that looks like an e-mail address, phone number, BSN, IP
    address or postcode, and anything longer than ``max_chars``, is replaced by a placeholder.

    >>> safe_log_value("7"), safe_log_value("bel 06-12345678"), safe_log_value("x" * 90)
    ('7', '<withheld: looks like a phone number>', '<withheld: 90 characters>')
    """
    text = str(value)
    for pattern, what in ((_EMAIL, "an e-mail address"), (_PHONE, "a phone number"),
                          (_IPV4, "an IP address"), (_POSTCODE_IN, "a postcode")):
        if pattern.search(text):
            return f"<withheld: looks like {what}>"
    if re.search(r"\d{9}", text):
        return "<withheld: looks like a BSN>"
    if len(text) > max_chars:
        return f"<withheld: {len(text)} characters>"
    return text.replace("\x00", "")


# -- PII heuristics ------------------------------------------------------------------------------
# The look-behind lets a match start only where a run of local-part characters starts: without
# it, a long cell without "@" is retried from every position (quadratic: 40 s for 100,000
# digits); with it the search is linear, and it finds an address exactly when the plain
# pattern does (a match inside a run extends to the run's start).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?:\+31|0031|\b0)[\s-]?(?:\d[\s-]?){8,9}\b")
_BSN = re.compile(r"^\d{9}$")
_IPV4 = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")
_IPV6 = re.compile(r"^[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}$", re.IGNORECASE)
_POSTCODE = re.compile(r"^[1-9]\d{3}\s?[A-Za-z]{2}$")
_POSTCODE_IN = re.compile(r"\b[1-9]\d{3}\s?[A-Z]{2}\b")
_PII_HEADER = re.compile(
    r"naam|name|e-?mail|mail|telefoon|phone|mobiel|adres|address|straat|street|postcode|"
    r"zip ?code|woonplaats|geboorte|birth|bsn|burgerservice|ip.?add|ip-adres|opmerking|"
    r"toelichting|comment|remark|feedback|latitude|longitude|breedtegraad|lengtegraad|"
    r"free.?text|vrije tekst|open vraag|open antwoord|anders, namelijk|other, please specify|"
    r"please specify|namelijk",
    re.IGNORECASE,
)
# Name particles that stay lower case in Dutch, Flemish, German, French, Arabic ... names.
_PARTICLES = {"van", "de", "der", "den", "het", "ter", "ten", "te", "in", "'t", "t", "el", "al",
              "da", "di", "du", "la", "le", "von", "op", "bin", "ben", "ibn", "dos", "das", "del",
              "y", "zu", "uit", "aan", "bij", "on"}
_NAME_WORD = re.compile(r"^[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'][A-ZÀ-ÖØ-Þa-zß-öø-ÿ][a-zß-öø-ÿ]+)*$")


def _bsn_valid(text: str) -> bool:
    # Dutch citizen service numbers pass the '11-proof' (elfproef).
    digits = [int(c) for c in text]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0


def _looks_like_name(text: str) -> bool:
    words = text.replace(",", " ").split()
    if not 2 <= len(words) <= 5:
        return False
    capital = 0
    for w in words:
        if w.casefold() in _PARTICLES:
            continue
        if not _NAME_WORD.match(w):
            return False
        capital += 1
    return capital >= 2


def pii_reason(header: str, values: pd.Series | Sequence[object], text: str | None = None) -> str | None:
    """Why a column looks like personal data, or None.

    Looks at the header and the question text (name, e-mail, phone, address, comments, free
    text ...) and at the values: e-mail addresses, Dutch phone numbers, numbers that pass the BSN
    11-proof, IP addresses, postcodes, person names ("Fatima El Amrani", "Jan de Vries": two or
    more capitalised words, name particles allowed, mostly distinct) and long free text.

    >>> pii_reason("Kolom 7", ["Jan de Vries", "Fatima El Amrani", "Sem Bakker"])
    'values look like person names'
    >>> pii_reason("Kolom 7", ["Mee eens", "Neutraal", "Mee eens"]) is None
    True
    """
    for label in (header, text):
        if label and _PII_HEADER.search(str(label)):
            return f"header '{label}' suggests personal data or free text"
    cleaned = [str(v).strip() for v in (values.dropna().tolist() if isinstance(values, pd.Series)
                                        else values) if v is not None and v == v]
    sample = pd.Series([v for v in cleaned if v][:500], dtype=object)
    if sample.empty:
        return None
    if sample.str.contains(_EMAIL).mean() > 0.2:
        return "values look like e-mail addresses"
    if sample.str.contains(_PHONE).mean() > 0.2:
        return "values look like phone numbers"
    bsn = sample[sample.str.match(_BSN)]
    if len(bsn) > 0.5 * len(sample) and bsn.map(_bsn_valid).mean() > 0.9:
        return "values look like BSN numbers (pass the 11-proof)"
    if sample.str.fullmatch(_IPV4).mean() > 0.5 or sample.str.match(_IPV6).mean() > 0.5:
        return "values look like IP addresses"
    if sample.str.match(_POSTCODE).mean() > 0.5:
        return "values look like postcodes"
    distinct = sample.nunique() / len(sample)
    if sample.map(_looks_like_name).mean() > 0.6 and (distinct > 0.3 or len(sample) < 4):
        return "values look like person names"
    words = sample.str.split().str.len()
    if words.mean() >= 4 and distinct > 0.5:
        return "values look like free text"
    return None


def suppressed_reason(min_cell: int) -> str:
    """The reason string Contract 5 uses for a suppressed value."""
    return f"suppressed: n < {min_cell}"


def check_min_cell(value: object, where: str = "min_cell") -> int:
    """The minimum cell size as an int in 1..:data:`MAX_MIN_CELL`, or a one-paragraph error.

    Every entry point that takes a minimum cell size (CLI options, project and study files,
    :func:`~partnerschap_eval.results.evaluate`, report settings, per-school and framework
    tables) calls this, so a value of 0 or below -- which would publish every group of one --
    or an absurd one is refused before anything is computed. ``where`` names the option or
    file key in the message.

    >>> check_min_cell(10)
    10
    >>> check_min_cell(1000)
    1000
    """
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if ok and 1 <= int(value) <= MAX_MIN_CELL:
        return int(value)
    shown = repr(value) if not isinstance(value, int | float) else value
    shown = str(shown)[:20]
    raise MinCellError(
        f"{where} is {shown}, but the minimum cell size must be a whole number from 1 to "
        f"{MAX_MIN_CELL} (groups smaller than it are never shown; Contract 5 uses 10 by "
        f"default). Set {where} to a value such as 10 and run again.")
