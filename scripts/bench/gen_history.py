#!/usr/bin/env python3
"""Deterministic synthetic migration histories for scripts/bench.sh.

  gen_history.py history DIR N      N versions, a realistic mix (below)
  gen_history.py big DIR STATEMENTS two versions: CREATE TABLE, then one step
                                    of STATEMENTS single-row INSERTs of ~1 KB each
  gen_history.py floor DIR OUT      a psql script running every step of DIR
                                    in its own transaction (BEGIN; \\i; COMMIT)

The history cycles through five kinds of version on a table of its own
(table g holds versions 5g+1 .. 5g+5): CREATE TABLE, ADD COLUMN, a named
CREATE INDEX, an INSERT of 100 rows, ADD CONSTRAINT ... CHECK; every 20th
version is instead a PL/pgSQL function with a $$ body. The same N always
yields the same bytes (no randomness, no clock).
"""
import os
import sys


def version_sql(i):
    if i % 20 == 0:
        return (
            f"CREATE OR REPLACE FUNCTION bench_fn_{i}(a integer, b text)\n"
            f"RETURNS text LANGUAGE plpgsql AS $$\n"
            f"DECLARE\n  result text := '';\nBEGIN\n"
            f"  -- version {i}: a body with ; and 'quotes' inside the dollar quote\n"
            f"  FOR k IN 1..a LOOP\n    result := result || b || ';';\n  END LOOP;\n"
            f"  IF length(result) > 100 THEN\n    RETURN left(result, 100);\n  END IF;\n"
            f"  RETURN result;\nEND;\n$$;\n")
    table = f"bench_t{(i - 1) // 5}"
    kind = (i - 1) % 5
    if kind == 0:
        return (f"CREATE TABLE {table} (\n  id bigint PRIMARY KEY,\n"
                f"  name text NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\n")
    if kind == 1:
        return f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS score integer NOT NULL DEFAULT 0;\n"
    if kind == 2:
        return f"CREATE INDEX IF NOT EXISTS {table}_name_idx ON {table} (name);\n"
    if kind == 3:
        rows = ",\n".join(f"  ({r}, 'name-{i}-{r}', {r % 97})" for r in range(1, 101))
        return f"INSERT INTO {table} (id, name, score) VALUES\n{rows};\n"
    return (f"ALTER TABLE {table} ADD CONSTRAINT {table}_score_check "
            f"CHECK (score >= 0 AND score < 1000);\n")


def kind_name(i):
    if i % 20 == 0:
        return "function"
    return ["create-table", "add-column", "create-index", "insert", "check"][(i - 1) % 5]


def write(path, text):
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def history(root, count):
    os.makedirs(root, exist_ok=True)
    width = max(5, len(str(count)))
    for i in range(1, count + 1):
        version = os.path.join(root, f"{i:0{width}d}-{kind_name(i)}")
        os.makedirs(version, exist_ok=True)
        write(os.path.join(version, "up.sql"), version_sql(i))


def big(root, statements):
    table = os.path.join(root, "00001-table")
    os.makedirs(table, exist_ok=True)
    write(os.path.join(table, "up.sql"),
          "CREATE TABLE bench_big (id bigint PRIMARY KEY, payload text NOT NULL);\n")
    version = os.path.join(root, "00002-big")
    os.makedirs(version, exist_ok=True)
    filler = "x" * 960
    write(os.path.join(version, "up.sql"),
          "".join(f"INSERT INTO bench_big (id, payload) VALUES ({k}, '{k:08d}{filler}');\n"
                  for k in range(1, statements + 1)))


def floor_script(root, out):
    steps = []
    for version in sorted(os.listdir(root)):
        directory = os.path.join(root, version)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if name.endswith(".sql") and not name.endswith(".verify.sql"):
                steps.append(os.path.abspath(os.path.join(directory, name)))
    write(out, "".join(f"BEGIN;\n\\i {path}\nCOMMIT;\n" for path in steps))


def main(argv):
    if len(argv) == 4 and argv[1] == "history":
        history(argv[2], int(argv[3]))
    elif len(argv) == 4 and argv[1] == "big":
        big(argv[2], int(argv[3]))
    elif len(argv) == 4 and argv[1] == "floor":
        floor_script(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
