"""`python -m bench [--quick | --tiny] [--out DIR]`: measure the bridge (see bench/README.md).

Exit status: 0 when every scenario's correctness check passed (targets missed or a skipped
scenario do not change it), 1 when something was lost, duplicated, reordered or refused,
or the run could not complete.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.config import PROFILES, REPO
from bench.driver import run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="about two minutes, for routine use")
    size.add_argument("--tiny", action="store_true", help="a few seconds (the smoke test)")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench" / "results",
        help="where to write the JSON and Markdown (default: bench/results/)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--postgres",
        default="",
        help="also run scenarios 1-3 on this PostgreSQL database (a schema made for the run),"
        " e.g. postgresql://127.0.0.1:5432/test",
    )
    args = parser.parse_args(argv)
    profile = PROFILES["tiny" if args.tiny else "quick" if args.quick else "full"]
    given = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join(["python", "-m", "bench", *given])
    return asyncio.run(run(profile, args.out, command, keep=args.keep, postgres=args.postgres))


if __name__ == "__main__":
    sys.exit(main())
