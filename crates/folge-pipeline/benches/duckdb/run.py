#!/usr/bin/env python3
"""Run `indicators.sql` in DuckDB on a folder the pipeline bench wrote
(`FOLGE_BENCH_DIR=DIR FOLGE_BENCH_WRITE_ONLY=1 cargo bench -p folge-pipeline`), with
folge's demo key: `python3 run.py DIR [THREADS]` (needs `pip install duckdb`). Writes
DIR/duckdb_indicators.parquet and prints its row count."""
import hashlib
import pathlib
import sys

import duckdb

DEMO_KEY_PHRASE = b"folge demo key: synthetic test data only"


def main() -> None:
    folder = pathlib.Path(sys.argv[1]).resolve()
    threads = sys.argv[2] if len(sys.argv) > 2 else "2"
    key = hashlib.sha256(DEMO_KEY_PHRASE).digest().ljust(64, b"\0")
    sql = (pathlib.Path(__file__).with_name("indicators.sql").read_text()
           .replace("{dir}", str(folder))
           .replace("{threads}", threads)
           .replace("{ipad}", bytes(b ^ 0x36 for b in key).hex())
           .replace("{opad}", bytes(b ^ 0x5C for b in key).hex())
           .replace("{data_end}", "2021-12-31"))
    connection = duckdb.connect()
    connection.execute(sql)
    rows = connection.execute(
        f"SELECT count(*) FROM '{folder}/duckdb_indicators.parquet'").fetchone()[0]
    print(f"duckdb {duckdb.__version__}: {rows} indicator rows")


if __name__ == "__main__":
    main()
