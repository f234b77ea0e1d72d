"""What an uploaded file is, judged from its bytes (never from its name), and the size caps.

* XLSX: a zip archive (``PK\\x03\\x04``) holding ``[Content_Types].xml`` and ``xl/workbook.xml``
  (ECMA-376 Part 2, Open Packaging Conventions), whose members unpack to at most
  :data:`MAX_UNPACKED` bytes in all, none more than :data:`MAX_RATIO` times its packed size, and
  at most :data:`MAX_MEMBERS` members (a zip bomb is refused before any reader opens it);
* SAV: an SPSS system file starts with ``$FL2`` (or ``$FL3`` for a compressed ``.zsav``);
* CSV: text — no NUL byte in the first 64 KiB (unless a UTF-16 byte-order mark says so), and
  decodable as UTF-8 or Windows-1252 with almost no control characters.

Anything else (an old ``.xls``, a PDF, an image, random bytes) is refused with a paragraph.

>>> sniff(b"Deelnemernummer;rec1\\r\\n1;Eens\\r\\n")
'csv'
>>> sniff(b"$FL2@(#) IBM SPSS STATISTICS"), sniff(b"%PDF-1.7 ..."), sniff(bytes(range(256)))
('sav', None, None)
"""

from __future__ import annotations

import copy
import io
import zipfile
import zlib

__all__ = ["MAX_MEMBERS", "MAX_RATIO", "MAX_UNPACKED", "sniff"]

MAX_UNPACKED = 200 * 2**20  # bytes unpacked, all members of a workbook together
MAX_RATIO = 200             # unpacked / packed per member (real sheets compress 5-30x)
MAX_MEMBERS = 2000
_HEAD = 64 * 1024
#: Signatures of files that are never an export, even when their first bytes read as text.
_NOT_TABLES = (b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b",
               b"7z\xbc\xaf", b"Rar!", b"\x7fELF", b"MZ\x90\x00", b"{\\rtf", b"<?xml", b"<!DOCTYPE", b"<html")


def _xlsx(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        return None
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED:
        return "bomb"
    if any(i.file_size > MAX_RATIO * max(i.compress_size, 1) and i.file_size > 2**20
           for i in infos):
        return "bomb"
    # The sizes above are what the archive says; a forged archive can say less than it holds.
    # So unpack it once, counting what comes out (never more than the cap is kept in memory).
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in infos:
                probe = copy.copy(info)
                probe.file_size = MAX_UNPACKED + 1  # read to the stream's real end
                with zf.open(probe) as fh:
                    while chunk := fh.read(2**20):
                        total += len(chunk)
                        if total > MAX_UNPACKED:
                            return "bomb"
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError,
            zlib.error):
        return None
    return "xlsx"


def _text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        return True
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "cp1252"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8" and exc.start > len(head) - 4:  # cut inside a character
                text = head[:exc.start].decode(encoding)
            else:
                continue
        controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
        return controls <= max(2, len(text) // 1000)
    return False


def sniff(data: bytes) -> str | None:
    """``"csv"``, ``"xlsx"``, ``"sav"``, ``"bomb"`` (a workbook that unpacks far too large) or
    None (not a file the portal takes), from the content alone."""
    if data.startswith(b"PK\x03\x04"):
        return _xlsx(data)
    if data.startswith((b"$FL2", b"$FL3")):
        return "sav"
    if data.startswith(_NOT_TABLES):  # an old .xls, a PDF, an image, an archive, a program
        return None
    if data and _text(data[:_HEAD]):
        return "csv"
    return None
