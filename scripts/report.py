"""Write results/REPORT.md and its plots, and the README's scoreboard:
`python scripts/report.py [--claims ...] [--records ...] [--out ...] [--readme ...]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from repro.claims import load_claims
from repro.errors import UserError
from repro.records import read_records
from repro.report.build import build_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", default="results/claims.yaml", help="the claims registry")
    parser.add_argument("--records", default="results/runs",
                        help="run records: a folder of *.jsonl files, or one file (one JSON object a line)")
    parser.add_argument("--out", default="results", help="folder for REPORT.md and the plots")
    parser.add_argument("--readme", default="README.md", help="whose scoreboard markers to fill ('' for none)")
    args = parser.parse_args(argv)
    try:
        claims = load_claims(args.claims)
        damaged: list[str] = []
        records = read_records(args.records, warn=damaged.append)  # no file: every claim "not run"
        if not records and Path(args.records).is_file() and Path(args.records).read_text(errors="replace").strip():
            raise UserError(f"{args.records} holds no run records (not JSON lines from scripts/train.py): "
                            f"point --records at the records folder (results/runs), or move the file away")
        for line in damaged:  # some records are fine: skip the damaged lines, but say which
            print(line, file=sys.stderr)
        report = build_report(claims, records, Path(args.out), claims_path=args.claims, records_path=args.records,
                              readme=Path(args.readme) if args.readme else None)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # an unwritable --out, a full disk: say so in one line
        print(f"error: cannot write the report in {args.out} ({error.strerror or error}): check the folder",
              file=sys.stderr)
        return 2
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
