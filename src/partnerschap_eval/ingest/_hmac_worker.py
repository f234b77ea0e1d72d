"""Child process of :class:`partnerschap_eval.ingest._fast.PseudonymJob`: pseudonyms on a second core.

Run as a script (``python -I -S _hmac_worker.py``) so it imports nothing but the standard
library: the package's imports (NumPy, pandas, Arrow) would cost more start-up time than the
hashing it takes over. The key travels through the pipe, never on the command line or in the
environment, where other users of the machine could read it.

Protocol, all integers native byte order: stdin holds the key length and the number of ids
(two 32-bit unsigned integers), the key, ``n + 1`` 32-bit offsets starting at 0 and the UTF-8
bytes of the ids back to back (an Arrow string array's buffers); stdout receives, per id, the 22
ASCII bytes of ``"p-"`` + the first 20 hex digits of ``HMAC-SHA-256(key, id)`` — exactly
:func:`partnerschap_eval.privacy.pseudonyms`, which the tests compare it with.
"""

import sys
from array import array

# CPython's own SHA-256 rather than hashlib's OpenSSL one: two state copies per id are most of
# the work for short ids, and copying its state is a plain memory copy where OpenSSL allocates a
# new context (a million ids: 10 % less CPU time, the same digests). Either is standard library.
try:
    from _sha2 import sha256  # Python 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:
        from hashlib import sha256

PSEUDONYM_HEX = 20


def main() -> None:
    stdin = sys.stdin.buffer
    head = array("I")
    head.frombytes(stdin.read(head.itemsize * 2))
    key_len, n = head
    key = stdin.read(key_len)
    offsets = array("i")
    offsets.frombytes(stdin.read(offsets.itemsize * (n + 1)))
    data = memoryview(stdin.read(offsets[n]))
    # RFC 2104 with the key's inner and outer blocks hashed once (as privacy._hmac_hex does)
    block = sha256().block_size
    k = sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    inner_copy = sha256(bytes(b ^ 0x36 for b in k)).copy
    outer_copy = sha256(bytes(b ^ 0x5C for b in k)).copy
    out = []
    append = out.append
    start = 0
    for i in range(1, n + 1):
        stop = offsets[i]
        h = inner_copy()
        h.update(data[start:stop])
        o = outer_copy()
        o.update(h.digest())
        append(o.hexdigest()[:PSEUDONYM_HEX])
        start = stop
    sys.stdout.buffer.write(("p-" + "p-".join(out)).encode("ascii") if out else b"")
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
