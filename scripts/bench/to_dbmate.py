#!/usr/bin/env python3
"""Writes a dbmig history as dbmate migrations, for the side-by-side benchmarks.

    scripts/bench/to_dbmate.py HISTORY OUT

Each version directory <N>-<name> of HISTORY becomes OUT/<N, 14 digits>_<name>.sql
holding its step files' bytes, in step order, under `-- migrate:up` (dbmate
runs each file in one transaction, as dbmig runs each of these steps).
"""
import os
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out)
    for name in sorted(os.listdir(src)):
        if not os.path.isdir(os.path.join(src, name)):
            continue
        steps = sorted(f for f in os.listdir(os.path.join(src, name))
                       if f.endswith(".sql") and not f.endswith(".verify.sql"))
        body = "".join(open(os.path.join(src, name, f)).read() for f in steps)
        number, _, rest = name.partition("-")
        with open(os.path.join(out, f"{int(number):014d}_{rest}.sql"), "w") as f:
            f.write("-- migrate:up\n" + body + "\n-- migrate:down\n")


if __name__ == "__main__":
    main()
