"""Read every results table and the REK extract as a researcher would (pyarrow, pandas,
polars) and check them against their codebooks: every column the codebook calls a
category is an ordered dictionary whose levels are the codebook's list, in its order
(pandas: an ordered categorical; polars: a categorical with the same values); every table
with an `indicator` says each row's unit as the codebook pairs them; in the extract, an
empty quasi-identifier is either missing in 02_deid or named in `suppressed`, never both
and never neither.

Usage: read_results.py RUN_DIR. Prints one line per table and "N categories checked, M failures"; exits
1 on any failure.
"""

import csv
import pathlib
import sys

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

run = pathlib.Path(sys.argv[1])
failures = []
checked = 0


def fail(where, what):
    failures.append(f"{where}: {what}")


def dictionary_levels(table, column):
    """The levels of a dictionary column, one list for the whole file."""
    chunked = table.column(column)
    if chunked.num_chunks == 0:
        return []
    levels = chunked.chunk(0).dictionary.to_pylist()
    for chunk in chunked.chunks[1:]:
        if chunk.dictionary.to_pylist() != levels:
            fail(column, "chunks with different levels")
    return levels


def check_category(where, table, frame, polars_frame, column, levels):
    global checked
    field = table.schema.field(column)
    if not pa.types.is_dictionary(field.type):
        fail(where, f"{column} is {field.type}, not a dictionary")
        return
    if not field.type.ordered:
        fail(where, f"{column} is not ordered")
    got = dictionary_levels(table, column)
    if got != levels:
        fail(where, f"{column} levels {got}, codebook {levels}")
    dtype = frame[column].dtype
    if not isinstance(dtype, pd.CategoricalDtype) or not dtype.ordered:
        fail(where, f"pandas reads {column} as {dtype}, not an ordered categorical")
    elif list(dtype.categories) != levels:
        fail(where, f"pandas categories {list(dtype.categories)}")
    if polars_frame.schema[column] not in (pl.Categorical, pl.Enum) and not isinstance(
        polars_frame.schema[column], (pl.Categorical, pl.Enum)
    ):
        fail(where, f"polars reads {column} as {polars_frame.schema[column]}")
    as_text = [None if pd.isna(v) else str(v) for v in frame[column]]
    if [None if v is None else str(v) for v in polars_frame[column].cast(pl.String).to_list()] != as_text:
        fail(where, f"polars and pandas disagree on {column}")
    outside = {v for v in as_text if v is not None} - set(levels)
    if outside:
        fail(where, f"{column} holds {len(outside)} value(s) outside its levels")
    checked += 1


def results():
    folder = run / "03_analyze"
    with open(folder / "codebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_table = {}
    for row in rows:
        by_table.setdefault(row["table"], []).append(row)
    files = sorted(folder.glob("*.parquet"))
    if len(files) < 15:
        fail("03_analyze", f"only {len(files)} tables")
    for path in files:
        name = path.stem
        where = f"03_analyze/{path.name}"
        entries = by_table.get(name)
        if not entries:
            fail(where, "no codebook entry")
            continue
        table = pq.read_table(path)
        frame = pd.read_parquet(path)
        polars_frame = pl.read_parquet(path)
        if table.column_names != [e["variable"] for e in entries]:
            fail(where, f"columns {table.column_names} are not the codebook's")
        categories = 0
        for e in entries:
            if e["type"] != "category (ordered)":
                if pa.types.is_dictionary(table.schema.field(e["variable"]).type):
                    fail(where, f"{e['variable']} is a dictionary the codebook calls {e['type']}")
                continue
            levels = [v.split(" (counted in ")[0] for v in e["values"].split("; ")]
            check_category(where, table, frame, polars_frame, e["variable"], levels)
            categories += 1
        if "indicator" in table.column_names:
            units = dict(
                v[:-1].split(" (counted in ")
                for v in next(e for e in entries if e["variable"] == "indicator")["values"].split("; ")
            )
            if "unit" not in table.column_names:
                fail(where, "an indicator without its unit")
            else:
                wrong = sum(
                    1
                    for i, u in zip(frame["indicator"], frame["unit"])
                    if not pd.isna(i) and units.get(str(i)) != str(u)
                )
                if wrong:
                    fail(where, f"{wrong} rows whose unit is not their indicator's")
        print(f"{where}: {table.num_rows} rows, {categories} ordered categories")


def extract():
    folder = run / "02_deid" / "extract"
    with open(folder / "codebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for path in sorted(folder.glob("*.parquet")):
        where = f"extract/{path.name}"
        table = pq.read_table(path)
        frame = pd.read_parquet(path)
        polars_frame = pl.read_parquet(path)
        categories = 0
        for e in (r for r in rows if r["table"] == path.stem):
            if e["type"] != "category (ordered)":
                continue
            listed = e["allowed_values"].split(" (in this order)")[0]
            check_category(where, table, frame, polars_frame, e["variable"], listed.split("; "))
            categories += 1
        print(f"{where}: {table.num_rows} rows, {categories} ordered categories")
    # Missing and suppressed told apart, checked against 02_deid's participants.
    extract_p = pd.read_parquet(folder / "participants.parquet")
    full = pd.read_parquet(run / "02_deid" / "participants.parquet").set_index("pid")
    if "suppressed" not in extract_p.columns:
        fail("extract/participants.parquet", "no `suppressed` column")
        return
    told = 0
    for _, row in extract_p.iterrows():
        named = set() if pd.isna(row["suppressed"]) else set(row["suppressed"].split("; "))
        for column in ("sex", "age_band", "municipality", "target_group"):
            if column not in extract_p.columns:
                continue
            empty_here = pd.isna(row[column])
            empty_there = pd.isna(full.loc[row["pid"], column])
            if (column in named) != (empty_here and not empty_there):
                fail("extract/participants.parquet", f"{column}: suppressed and missing mixed up")
            told += column in named
    if told == 0:
        fail("extract/participants.parquet", "no suppressed cell to tell apart (the sample has some)")


results()
extract()
print(f"{checked} categories checked, {len(failures)} failures")
for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
