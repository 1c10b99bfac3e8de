"""Reads every .dta and .sav file `folge export` wrote back with pyreadstat (ReadStat's
reader, as R's haven and Python users read them) and holds each against the Parquet table
it was made from: rows, columns, variable labels, value labels (arm: 1 pilot, 2 comparison),
values (categories decoded through their labels), nulls as missing, and the special missing
codes (suppressed: Stata .s / SPSS -999999998; not estimable: .n / -999999999) where the
run directory says a value was suppressed or not estimable.

Run by tests/export.rs: `python3 tests/export/read_back.py <run directory>`. Prints one
line per failed check and a closing `N passed, N failed`; exits 1 on any failure."""

import math
import pathlib
import sys

import pyarrow.parquet as pq
import pyreadstat

run = pathlib.Path(sys.argv[1])
passed = 0
failed = []

SUPPRESSED = {"dta": "s", "sav": -999999998.0}
NOT_ESTIMABLE = {"dta": "n", "sav": -999999999.0}


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failed.append(what)


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


sources = [("extract", run / "02_deid" / "extract")] + [("results", run / "03_analyze")]
special_seen = {"dta": set(), "sav": set()}
files = 0
for ext, folder, read in [("dta", "stata", pyreadstat.read_dta), ("sav", "spss", pyreadstat.read_sav)]:
    for group, parquet_dir in sources:
        for parquet in sorted(parquet_dir.glob("*.parquet")):
            path = run / "export" / folder / group / f"{parquet.stem}.{ext}"
            name = f"{folder}/{group}/{parquet.stem}.{ext}"
            check(path.exists(), f"{name} is missing")
            if not path.exists():
                continue
            files += 1
            table = pq.read_table(parquet)
            df, meta = read(str(path))
            raw, raw_meta = read(str(path), user_missing=True)
            check(len(df) == table.num_rows, f"{name}: {len(df)} rows, the Parquet {table.num_rows}")
            check(list(df.columns) == table.column_names, f"{name}: columns {list(df.columns)}")
            labels = dict(zip(meta.column_names, meta.column_labels))
            check(all(labels.get(c) for c in df.columns), f"{name}: a variable without a label")
            check(meta.file_label and parquet.stem in meta.file_label, f"{name}: file label {meta.file_label!r}")
            value_labels = meta.variable_value_labels
            if "arm" in df.columns:
                arm = {int(k): v for k, v in value_labels.get("arm", {}).items() if not isinstance(k, str) and k > 0}
                check(arm == {1: "pilot", 2: "comparison"}, f"{name}: arm's value labels {arm}")
            for column in table.column_names:
                if column not in df.columns:
                    continue
                values = table.column(column).to_pylist()
                got = df[column].tolist()
                coded = {
                    k: v for k, v in value_labels.get(column, {}).items()
                    if not isinstance(k, str) and k > -999999990
                }
                bad = 0
                for row, (want, have) in enumerate(zip(values, got)):
                    if want is None:
                        missing = have == "" if isinstance(have, str) else (have is None or math.isnan(have))
                        bad += not missing
                    elif isinstance(want, bool):
                        bad += coded.get(have) != str(want).lower()
                    elif coded and isinstance(want, str):
                        bad += coded.get(have) != want
                    elif isinstance(want, str):
                        bad += have != want
                    else:
                        bad += not same(float(want), float(have))
                check(bad == 0, f"{name}: {bad} values of `{column}` differ from the Parquet's")
                # Special missing, read as the codes (user_missing=True).
                for row, have in enumerate(raw[column].tolist()):
                    if have == SUPPRESSED[ext]:
                        special_seen[ext].add(("suppressed", name, column))
                        check(values[row] is None, f"{name}: `{column}` row {row} suppressed but not null")
                    elif have == NOT_ESTIMABLE[ext]:
                        special_seen[ext].add(("not estimable", name, column))
                        check(values[row] is None, f"{name}: `{column}` row {row} not estimable but not null")
            if parquet.stem == "comparisons":
                # A comparison without an estimate: its statistics are not estimable.
                effect = table.column("effect_size").to_pylist()
                rows = [i for i, v in enumerate(effect) if v is None]
                check(len(rows) > 0, f"{name}: the sample has comparisons without an estimate")
                codes = raw["effect_size"].tolist()
                check(all(codes[i] == NOT_ESTIMABLE[ext] for i in rows), f"{name}: effect_size not marked not estimable")
            if parquet.stem == "participants" and group == "extract":
                kinds = raw_meta.missing_user_values if ext == "dta" else raw_meta.missing_ranges
                check("sex" in kinds, f"{name}: no suppressed codes declared on sex ({kinds})")
for ext in ("dta", "sav"):
    kinds = {kind for kind, _, _ in special_seen[ext]}
    check(kinds == {"suppressed", "not estimable"}, f"{ext}: special missing seen: {sorted(kinds)}")
check(files >= 30, f"only {files} files read")
for line in failed[:40]:
    print("FAILED:", line)
print(f"read back {files} files")
print(f"{passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
