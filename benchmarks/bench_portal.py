"""43 schools upload a 500-row export to the portal at the same time (issue 16).

A study with 43 declared schools is served by ``partnerschap-eval portal serve`` (gunicorn, its
default 2 workers x 4 threads) on a free loopback port. Each school signs in with its own link
(GET the confirm page, POST it), then all 43 upload their CSV at once (a barrier releases them
together). Timed per school: from sending the upload to having the feedback page — the time a
school administrator waits. Afterwards every submission must be in the study (43 cells, 500 rows
accepted each) and in the audit log. Figures: p50, p95 and max latency, wall time, and the
machine's load average (the machine is shared; latency grows with it). Bounded: every request
times out after 300 s. Run: ``.venv/bin/python -m benchmarks portal``.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

SCHOOLS = 43
ROWS = 500
KEY = b"benchmark key, synthetic data only"
TIMEOUT_S = 300


def _csv(seed: int) -> bytes:
    from partnerschap_eval.instruments import load_instrument

    inst = load_instrument("partnerschap")
    labels = {c: t["nl"] for c, t in inst.response_scale.labels.items()}
    lines = [";".join(["Deelnemernummer", *inst.item_ids])]
    for i in range(1, ROWS + 1):
        lines.append(";".join([str(i), *(labels[1 + (i * 7 + j + seed) % 5]
                                         for j in range(len(inst.item_ids)))]))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _school(base: str, token: str, data: bytes, barrier: threading.Barrier, out: dict,
            i: int) -> None:
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(f"{base}/link/{token}", timeout=TIMEOUT_S).read().decode()
        opener.open(urllib.request.Request(f"{base}/link/{token}",
                                           data=f"csrfmiddlewaretoken={_csrf(page)}".encode()),
                    timeout=TIMEOUT_S)
        page = opener.open(f"{base}/school", timeout=TIMEOUT_S).read().decode()
        boundary = uuid.uuid4().hex
        fields = {"csrfmiddlewaretoken": _csrf(page), "wave": "pre", "role": "parent"}
        body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                        f"{v}\r\n".encode() for k, v in fields.items())
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                 f'filename="ouders_voor.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                 + data + f"\r\n--{boundary}--\r\n".encode())
        request = urllib.request.Request(
            f"{base}/school/upload", data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        barrier.wait(timeout=TIMEOUT_S)
        start = time.perf_counter()
        answer = opener.open(request, timeout=TIMEOUT_S).read().decode()
        out[i] = (time.perf_counter() - start, f"{ROWS} opgenomen" in answer.replace(".", ""))
    except Exception as exc:  # noqa: BLE001  (a failed school is counted, not fatal)
        out[i] = (None, repr(exc)[:200])
        barrier.abort()


def main() -> dict:
    from partnerschap_eval.portal.links import PORTAL_FILE, PortalDB
    from partnerschap_eval.study import Study

    tmp = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    schools = [{"id": f"S{i:02d}", "name": f"School {i}"} for i in range(1, SCHOOLS + 1)]
    Study.init(tmp / "study", "partnerschap", waves=["pre", "post"], key=KEY,
               schools=schools).close()
    db = PortalDB(tmp / "study" / PORTAL_FILE, KEY)
    tokens = [db.create_link(school=s["id"]).token for s in schools]
    files = [_csv(i) for i in range(SCHOOLS)]
    port = _free_port()
    env = os.environ | {"PARTNERSCHAP_EVAL_KEY": KEY.decode()}
    server = subprocess.Popen([sys.executable, "-m", "partnerschap_eval.cli", "portal", "serve",
                               str(tmp / "study"), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(server.stderr.read().decode()[-2000:]) from None
                time.sleep(0.1)
        barrier = threading.Barrier(SCHOOLS)
        out: dict[int, tuple] = {}
        threads = [threading.Thread(target=_school, args=(base, tokens[i], files[i], barrier,
                                                         out, i)) for i in range(SCHOOLS)]
        wall = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=2 * TIMEOUT_S)
        wall = time.perf_counter() - wall
        load = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=60)
    with Study.open(tmp / "study") as study:
        status = study.status()
    uploads = [a for a in db.audit_log() if a["event"] == "upload"]
    db.close()
    times = sorted(t for t, _ in out.values() if t is not None)
    errors = [e for t, e in out.values() if t is None]
    recorded = int((status["accepted"] == ROWS).sum()) if len(status) else 0
    q = statistics.quantiles(times, n=20, method="inclusive") if len(times) > 1 else times * 19
    figures = {
        "schools": SCHOOLS, "rows_per_file": ROWS, "responses_ok": len(times),
        "feedback_said_all_accepted": sum(1 for t, ok in out.values() if t is not None and ok),
        "cells_recorded_with_all_rows": recorded, "audit_upload_events": len(uploads),
        "latency_p50_s": round(statistics.median(times), 2) if times else None,
        "latency_p95_s": round(q[18], 2) if times else None,
        "latency_max_s": round(times[-1], 2) if times else None,
        "wall_s": round(wall, 2), "load_average_1min": round(load, 1), "errors": errors[:3],
        "target_met": recorded == SCHOOLS and len(uploads) == SCHOOLS and not errors,
    }
    print(f"{SCHOOLS} schools x {ROWS} rows at once: {recorded}/{SCHOOLS} recorded, "
          f"{len(uploads)} audited; latency p50 {figures['latency_p50_s']} s, "
          f"p95 {figures['latency_p95_s']} s, max {figures['latency_max_s']} s; wall "
          f"{figures['wall_s']} s at load {figures['load_average_1min']}")
    return figures


if __name__ == "__main__":
    main()
