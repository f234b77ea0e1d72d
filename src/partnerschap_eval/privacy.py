"""Privacy by design: keyed pseudonyms, PII detection and small-cell suppression.

Identifiers are replaced by ``HMAC-SHA-256(key, identifier)``: the same person links across waves
and exports, and without the project key nobody can recompute or reverse a pseudonym (unlike a
plain hash, which can be brute-forced over the small space of pupil numbers).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from ._io import atomic_path
from .errors import KeyMissingError

KEY_ENV = "PARTNERSCHAP_EVAL_KEY"
#: Key used by ``partnerschap-eval demo`` only; it is public and protects nothing.
DEMO_KEY = b"partnerschap-eval demo key (public, synthetic data only)"
DEFAULT_MIN_CELL = 10
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


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed pseudonyms: ``HMAC-SHA-256(key, normalised id)``, first 80 bits in hex.

    Ids are normalised by stripping surrounding white space only, so ``"0012"`` and ``"12"`` stay
    different people.

    >>> pseudonymise(pd.Series(["a1", " a1 ", None]), b"k" * 16).tolist()[:2]
    ['p-...', 'p-...']
    >>> s = pseudonymise(pd.Series(["a1", " a1 "]), b"k" * 16); s[0] == s[1]
    True
    """
    cache: dict[str, str] = {}

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and v != v):
            return None
        text = str(v).strip()
        if text not in cache:
            digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
            cache[text] = "p-" + digest[:_PSEUDONYM_HEX]
        return cache[text]

    return values.map(one)


# -- PII heuristics ------------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?:\+31|0031|\b0)[\s-]?(?:\d[\s-]?){8,9}\b")
_BSN = re.compile(r"^\d{9}$")
_PII_HEADER = re.compile(
    r"naam|name|e-?mail|mail|telefoon|phone|mobiel|adres|address|geboorte|birth|bsn|ip.?add|"
    r"opmerking|toelichting|comment|remark|feedback|latitude|longitude|breedtegraad|lengtegraad",
    re.IGNORECASE,
)


def _bsn_valid(text: str) -> bool:
    # Dutch citizen service numbers pass the '11-proof' (elfproef).
    digits = [int(c) for c in text]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0


def pii_reason(header: str, values: pd.Series) -> str | None:
    """Why a column looks like personal data, or None.

    Looks at the header (name, e-mail, phone, address, comments...) and at the values: e-mail
    addresses, Dutch phone numbers, numbers that pass the BSN 11-proof, and long free text.
    """
    if _PII_HEADER.search(str(header)):
        return f"header '{header}' suggests personal data or free text"
    sample = values.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(500)
    if sample.empty:
        return None
    if sample.str.contains(_EMAIL).mean() > 0.2:
        return "values look like e-mail addresses"
    if sample.str.contains(_PHONE).mean() > 0.2:
        return "values look like phone numbers"
    bsn = sample[sample.str.match(_BSN)]
    if len(bsn) > 0.5 * len(sample) and bsn.map(_bsn_valid).mean() > 0.9:
        return "values look like BSN numbers (pass the 11-proof)"
    words = sample.str.split().str.len()
    if words.mean() >= 4 and sample.nunique() > 0.5 * len(sample):
        return "values look like free text"
    return None


def suppressed_reason(min_cell: int) -> str:
    """The reason string Contract 5 uses for a suppressed value."""
    return f"suppressed: n < {min_cell}"
