"""``evaluate`` on the demo responses, and the start-up time of every CLI command.

evaluate: the demo's responses as ``make demo`` makes them (the bundled WiSH-like exports,
ingested with the demo key into a temporary folder) are evaluated

* in one process, after a warm-up run (imports and the instrument cache excluded), best of
  ``REPEATS`` — beside the time of reading and validating the same table once, so the note
  can say what share the boundary check takes now that it runs once per call;
* as ``partnerschap-eval evaluate`` in a fresh process (what a user waits for), best of
  ``REPEATS``.

Start-up: ``partnerschap-eval --help`` and ``partnerschap-eval <command> --help`` for every
command, each in a fresh process, best of ``STARTUP_REPEATS``, beside ``python -c pass`` (the
interpreter alone) and ``python -c "import pandas"``; and ``keygen`` run for real. A child
lists the libraries each of them imports. Target (``target_met``): a command's help and
``keygen`` import none of pandas, pyarrow, scipy, statsmodels, matplotlib, papermill or
Jupyter (numpy is the pseudonym code's; pydantic comes with typer itself).

Run: ``.venv/bin/python -m benchmarks evaluate``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPEATS = 3
STARTUP_REPEATS = 5
COMMANDS = ("keygen", "ingest", "score", "evaluate", "report", "reproduce", "demo")
HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "statsmodels", "matplotlib", "papermill",
         "pydantic", "yaml", "jupyter_client", "nbformat")
# what a command's help and keygen must not import (numpy: the pseudonym code's arrays;
# pydantic: typer itself imports it for its parameter types)
NOT_NEEDED = ("pandas", "pyarrow", "scipy", "statsmodels", "matplotlib", "papermill",
              "jupyter_client", "nbformat")
CLI = Path(sys.executable).with_name("partnerschap-eval")
ENV = {**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}

PREPARE_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from partnerschap_eval.ingest import ExportSpec, ingest_exports, write_ingest_files
    from partnerschap_eval.privacy import DEMO_KEY
    from partnerschap_eval.synth import write_demo_exports
    folder = Path(sys.argv[1])
    specs = write_demo_exports(folder / "raw")
    result = ingest_exports([ExportSpec(**s) for s in specs], "partnerschap", DEMO_KEY)
    print(write_ingest_files(result, folder / "ingest")["responses"])
""")

EVALUATE_CHILD = textwrap.dedent("""
    import json, sys, time
    from partnerschap_eval import scoring
    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.report.build import read_responses
    from partnerschap_eval.results import evaluate
    path, repeats = sys.argv[1], int(sys.argv[2])
    inst = load_instrument("partnerschap")
    evaluate(read_responses(path), inst)  # warm-up
    times, read_validate = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        evaluate(read_responses(path), inst)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        scoring.validate_responses(read_responses(path), inst)
        read_validate.append(time.perf_counter() - t0)
    checks = []  # a full check ends with the duplicate check: count those
    real = getattr(scoring, "_shared_pairs", None)  # absent before validation ran once
    if real is not None:
        scoring._shared_pairs = lambda *a: checks.append(1) or real(*a)
        evaluate(read_responses(path), inst)
    print(json.dumps({"times": times, "read_validate": read_validate,
                      "validations_per_evaluate": len(checks) if real else None}))
""")

IMPORTS_CHILD = textwrap.dedent("""
    import json, sys
    from partnerschap_eval.cli import app
    try:
        app(sys.argv[2:], standalone_mode=False)
    except SystemExit:
        pass
    heavy = json.loads(sys.argv[1])
    print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
""")


def _best(args: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=ENV)
        best = min(best, time.perf_counter() - t0)
    return best


def _child(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True, env=ENV)
    return done.stdout.strip().splitlines()[-1]


def _heavy_imports(*args: str) -> list[str]:
    return json.loads(_child(IMPORTS_CHILD, json.dumps(HEAVY), *args))


def main() -> dict:
    figures: dict = {"repeats": REPEATS, "startup_repeats": STARTUP_REPEATS,
                     "cpu_count": os.cpu_count(),
                     "timing": "best of repeats, wall-clock seconds"}
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        responses = _child(PREPARE_CHILD, str(folder))
        rows = sum(1 for _ in open(responses, encoding="utf-8")) - 1
        print(f"demo responses: {rows:,} rows (exports written and ingested in "
              f"{time.perf_counter() - t0:.1f} s)", flush=True)
        inproc = json.loads(_child(EVALUATE_CHILD, responses, str(REPEATS)))
        cli_s = _best([str(CLI), "evaluate", responses, "--instrument", "partnerschap",
                       "--out", str(folder / "results.json")], REPEATS)
        key_path = folder / "keys" / "k.key"

        def keygen_once() -> float:
            key_path.unlink(missing_ok=True)
            return _best([str(CLI), "keygen", "--out", str(key_path)], 1)

        startup = {"python -c pass": _best([sys.executable, "-c", "pass"], STARTUP_REPEATS),
                   "python -c 'import pandas'": _best([sys.executable, "-c", "import pandas"],
                                                      STARTUP_REPEATS),
                   "--help": _best([str(CLI), "--help"], STARTUP_REPEATS)}
        heavy = {"--help": _heavy_imports("--help")}
        for command in COMMANDS:
            startup[f"{command} --help"] = _best([str(CLI), command, "--help"], STARTUP_REPEATS)
            heavy[f"{command} --help"] = _heavy_imports(command, "--help")
        startup["keygen (run)"] = min(keygen_once() for _ in range(STARTUP_REPEATS))
        key_path.unlink(missing_ok=True)
        heavy["keygen (run)"] = _heavy_imports("keygen", "--out", str(key_path))
    evaluate_s = min(inproc["times"])
    figures.update(demo_rows=rows, evaluate_in_process_s=evaluate_s,
                   evaluate_all_runs_s=inproc["times"],
                   read_and_validate_once_s=min(inproc["read_validate"]),
                   validations_per_evaluate=inproc["validations_per_evaluate"],
                   evaluate_cli_s=cli_s, startup_s=startup, heavy_imports=heavy,
                   target="no pandas/pyarrow/scipy/statsmodels/matplotlib/papermill/jupyter "
                          "imported by a command's --help or by keygen",
                   target_met=not any(set(v) & set(NOT_NEEDED) for v in heavy.values()))
    print(f"\nevaluate on the demo ({rows:,} rows): {evaluate_s:.2f} s in process "
          f"(read + validate once: {figures['read_and_validate_once_s']:.3f} s; "
          f"{inproc['validations_per_evaluate']} boundary check(s) per call), "
          f"{cli_s:.2f} s as a fresh `partnerschap-eval evaluate`")
    print(f"\n{'start-up (fresh process)':<34}{'seconds':>8}  libraries imported")
    for name, seconds in startup.items():
        print(f"{name:<34}{seconds:>8.2f}  {', '.join(heavy.get(name, [])) or '-'}")
    print(f"target: {figures['target']}: {'ok' if figures['target_met'] else 'MISSED'}")
    return figures


if __name__ == "__main__":
    main()
