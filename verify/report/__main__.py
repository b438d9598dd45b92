"""``python -m verify.report [DIR]``: regenerate the JSON Schema files of the report and the run summary from the
models (default ``DIR``: ``docs/schema``, the files the docs publish; run it from the repository root)."""

from __future__ import annotations

import sys

from verify.report.schema import write_json_schemas


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in write_json_schemas(args[0] if args else "docs/schema"):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
