#!/usr/bin/env python3
"""The size of the relay's store (`relay/src/store`) at one or more git revisions, by part.

Issue 23 asks for the store's code "roughly halved". This prints, for each revision, the
lines of each part of the store: all lines, and code (not blank, not a comment, not in a
`#[cfg(test)]` item: tests are not the store's code). The parts:

- methods: the store's methods and their SQL (before issue 23: one copy on PostgreSQL,
  `shared/` and `postgres/reads.rs`, one on SQLite, `sqlite/` but its engine; since:
  `sql/`, written once);
- executors: what runs a method's statements on a backend (`plan/`);
- engines: each backend's connections, pool, SQLite writer, checkpointer, migrations;
- records: the records, row decoders, codecs, the binding and maintenance types, the
  error and `open` (`mod.rs`).

Usage: bench/store-size.py [REV ...]   (default: 7eb65a2, the store before issue 23, and HEAD)
"""

import subprocess
import sys

STORE = "relay/src/store/"


def part(path):
    rel = path[len(STORE):]
    if rel.startswith("sql/") or rel.startswith("shared/") or rel == "postgres/reads.rs":
        return "methods"
    if rel.startswith("plan/"):
        return "executors"
    if rel.startswith("sqlite/engine/") or rel in (
        "sqlite/mod.rs",
        "sqlite/writer.rs",
        "sqlite/checkpoint.rs",
        "sqlite/migrate.rs",
        "postgres/mod.rs",
        "postgres/pool.rs",
    ):
        return "engines"
    if rel.startswith("sqlite/"):
        return "methods"
    return "records"


def code_lines(text):
    """Lines that are not blank, not a `//` comment and not inside a `#[cfg(test)]` item."""
    lines = text.split("\n")
    count, i = 0, 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("#[cfg(test)]"):
            # Skip the item: to its closing brace (or its `;` for `mod tests;`).
            depth, opened, j = 0, False, i + 1
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                opened = opened or "{" in lines[j]
                if (opened and depth <= 0) or (not opened and lines[j].strip().endswith(";")):
                    break
                j += 1
            i = j + 1
            continue
        if line and not line.startswith("//"):
            count += 1
        i += 1
    return count


def sizes(rev):
    files = subprocess.check_output(
        ["git", "ls-tree", "-r", "--name-only", rev, STORE], text=True
    ).split()
    out = {}
    for path in files:
        if not path.endswith(".rs"):
            continue
        text = subprocess.check_output(["git", "show", f"{rev}:{path}"], text=True)
        total, code = out.get(part(path), (0, 0))
        out[part(path)] = (total + text.count("\n"), code + code_lines(text))
    return out


def main():
    revs = sys.argv[1:] or ["7eb65a2", "HEAD"]
    parts = ["methods", "executors", "engines", "records"]
    table = {rev: sizes(rev) for rev in revs}
    print(f"{'part':<10}" + "".join(f"{rev:>26}" for rev in revs))
    for name in parts + ["all"]:
        row = f"{name:<10}"
        for rev in revs:
            if name == "all":
                total = sum(v[0] for v in table[rev].values())
                code = sum(v[1] for v in table[rev].values())
            else:
                total, code = table[rev].get(name, (0, 0))
            row += f"{f'{code:,} code / {total:,} all':>26}"
        print(row)


if __name__ == "__main__":
    main()
