"""Backup: every history table to one versioned JSON file, and back.

The file::

    {"format": "coach-history", "version": 1, "schema": 1, "exported": "...",
     "tables": {"sessions": [{"uid": ..., "plan": ..., ...}],
                "sets": [{"uid": ..., "session_uid": ..., ...}], ...}}

Rows carry every column except the local integer ``id``; a reference to another row
(``session_id``, ``set_id``, ``scan_id``) is written as that row's ``uid``
(``session_uid``, ...), so a file imports into any database. Columns, types and
references are read from the database itself (``Store.table_columns`` and
``table_references``), so a migration that adds a column needs no change here. Every SQL
statement is in ``coach.store``; this module holds the file format and its checks.

Import checks the whole file first (JSON, format, version, every row's fields and
types, every reference) and raises one ``BackupError`` (exit 2) naming the first
problem; only then does it write, in one transaction. A row whose ``uid`` is already
in the database is skipped, so importing the same file twice adds nothing. Tables
without a ``uid`` (``cue_stats``: felt counts per exercise and cue) merge by their
primary key: every set the import adds counts in them as it does when a session saves it,
and a count never ends below the file's, so a restore is exact, a merge of two devices
adds up, and a repeated import never doubles.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.errors import CoachError
from coach.files import output_file
from coach.store import (
    Store,
    count_cue,
    id_of_uid,
    insert_row,
    now_iso,
    row_by_key,
    uid_exists,
    update_row,
)

FORMAT = "coach-history"
#: Version of the file layout (not of the database schema, which is ``schema``).
VERSION = 1


class BackupError(CoachError):
    """A backup file that cannot be imported; nothing was changed."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message, fix or "export it again with coach export, or fix that "
                         "part of the file; nothing was imported", exit_code=2)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    """Declared type: INTEGER, REAL or TEXT."""
    required: bool
    """NOT NULL without a default: a row must give it."""
    nullable: bool
    has_default: bool


@dataclass(frozen=True)
class Reference:
    column: str
    """The local column, e.g. ``session_id``."""
    key: str
    """Its name in the file, e.g. ``session_uid``."""
    table: str
    """The table it points at, e.g. ``sessions``."""
    nullable: bool


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    references: tuple[Reference, ...]
    primary_key: tuple[str, ...]

    @property
    def has_uid(self) -> bool:
        return any(c.name == "uid" for c in self.columns)

    def file_fields(self) -> dict[str, Column | Reference]:
        """What a row in the file may hold: plain columns (minus id) and references."""
        refs = {r.column: r for r in self.references}
        fields_: dict[str, Column | Reference] = {}
        for column in self.columns:
            if column.name in refs:
                fields_[refs[column.name].key] = refs[column.name]
            elif not (column.name == "id" and self.has_uid):
                fields_[column.name] = column
        return fields_


@dataclass
class ImportResult:
    added: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)
    """Rows skipped because their uid (or key, with counts no larger) was already there."""

    @property
    def total_added(self) -> int:
        return sum(self.added.values())


# -- the schema, read from the database ----------------------------------------------

def _reference_key(column: str) -> str:
    return (column[:-3] if column.endswith("_id") else column) + "_uid"


def schema(store: Store) -> list[Table]:
    """The tables in dependency order (a table comes after the ones it points at)."""
    tables: dict[str, Table] = {}
    for name in store.table_names():
        info = store.table_columns(name)
        columns = tuple(Column(
            name=c["name"], kind=(c["type"] or "TEXT").upper(),
            required=bool(c["notnull"]) and c["dflt_value"] is None and not c["pk"],
            nullable=not c["notnull"] and not c["pk"], has_default=c["dflt_value"] is not None)
            for c in info)
        nullable = {c.name: c.nullable for c in columns}
        references = tuple(Reference(column=f["from"], key=_reference_key(f["from"]),
                                     table=f["table"], nullable=nullable[f["from"]])
                           for f in store.table_references(name))
        primary = tuple(c["name"] for c in sorted(info, key=lambda c: c["pk"]) if c["pk"])
        tables[name] = Table(name, columns, references, primary)
    ordered: list[Table] = []
    while tables:
        ready = [t for t in tables.values()
                 if all(r.table not in tables or r.table == t.name for r in t.references)]
        if not ready:  # a cycle: keep the rest in name order
            ready = list(tables.values())
        for table in ready:
            ordered.append(tables.pop(table.name))
    return ordered


# -- export --------------------------------------------------------------------------

def export_data(store: Store) -> dict[str, Any]:
    """Every table as rows of the file format (references as uids)."""
    out: dict[str, list[dict[str, Any]]] = {}
    uid_of: dict[str, dict[int, str]] = {}
    for table in schema(store):
        if table.has_uid:
            uid_of[table.name] = store.uids(table.name)
    for table in schema(store):
        refs = {r.column: r for r in table.references}
        order = ("id",) if table.has_uid else table.primary_key
        rows = []
        for row in store.table_rows(table.name, order):
            item: dict[str, Any] = {}
            for column in table.columns:
                value = row[column.name]
                if column.name in refs:
                    ref = refs[column.name]
                    item[ref.key] = None if value is None else uid_of[ref.table][value]
                elif not (column.name == "id" and table.has_uid):
                    item[column.name] = value
            rows.append(item)
        out[table.name] = rows
    return {"format": FORMAT, "version": VERSION, "schema": store.schema_version(),
            "exported": now_iso(), "tables": out}


def export_file(store: Store, path: str | Path) -> dict[str, int]:
    """Write the backup to ``path`` ('-' for stdout); returns rows per table.

    The file appears whole or not at all (written beside it, then renamed).
    """
    data = export_data(store)
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    counts = {name: len(rows) for name, rows in data["tables"].items()}
    if str(path) == "-":
        sys.stdout.write(text)
        return counts
    with output_file(path) as out:
        out.write(text.encode("utf-8"))
    return counts


# -- validation ----------------------------------------------------------------------

def _type_ok(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    if "INT" in kind:
        return isinstance(value, int)
    if "REAL" in kind or "FLOA" in kind or "DOUB" in kind or "NUM" in kind:
        return isinstance(value, (int, float))
    return isinstance(value, str)


def _type_name(kind: str) -> str:
    if "INT" in kind:
        return "a whole number"
    if "REAL" in kind or "FLOA" in kind or "DOUB" in kind or "NUM" in kind:
        return "a number"
    return "text"


def read_file(path: str | Path) -> dict[str, Any]:
    """Parse a backup file; a missing, unreadable or non-JSON file is a BackupError."""
    name = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BackupError(f"{name} does not exist", "give the path of a file made by "
                          "coach export") from None
    except OSError as error:
        raise BackupError(f"cannot read {name} ({error.strerror})",
                          "check the path and its permissions") from None
    except UnicodeDecodeError:
        raise BackupError(f"{name} is not a coach backup (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BackupError(f"{name} is not valid JSON ({error.msg} at line {error.lineno}, "
                          f"column {error.colno}); it may be cut short") from None
    return data


def validate(data: Any, store: Store, name: str = "the file") -> dict[str, list[dict]]:
    """Check everything before a single write; returns the tables. Raises BackupError."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{name} is not a coach backup (no \"format\": \"{FORMAT}\")")
    version = data.get("version")
    if version != VERSION:
        raise BackupError(f"{name} is backup version {version!r}; this coach reads version "
                          f"{VERSION}", "import it with the coach that exported it, or update "
                          "this coach; nothing was imported")
    file_schema = data.get("schema", 0)
    if not isinstance(file_schema, int) or isinstance(file_schema, bool):
        raise BackupError(f"{name}: \"schema\" should be a whole number")
    if file_schema > store.schema_version():
        raise BackupError(f"{name} was written by a newer coach (database schema "
                          f"{file_schema}, this one has {store.schema_version()})",
                          "update this coach, then import again; nothing was imported")
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise BackupError(f"{name} has no \"tables\" object")
    known = {t.name: t for t in schema(store)}
    for table_name, rows in tables.items():
        if table_name not in known:
            raise BackupError(f"{name} has an unknown table {table_name!r}",
                              "known tables: " + ", ".join(known))
        if not isinstance(rows, list):
            raise BackupError(f"{name}: table {table_name!r} should be a list of rows")
    uids: dict[str, set[str]] = {}
    for table in known.values():
        rows = tables.get(table.name, [])
        seen: set[str] = set()
        fields_ = table.file_fields()
        for number, row in enumerate(rows, start=1):
            where = f"{name}: {table.name} row {number}"
            if not isinstance(row, dict):
                raise BackupError(f"{where} is not an object")
            extra = sorted(set(row) - set(fields_))
            if extra:
                raise BackupError(f"{where} has unknown field {extra[0]!r}")
            for key, spec in fields_.items():
                value = row.get(key)
                if isinstance(spec, Reference):
                    if value is None:
                        if not spec.nullable:
                            raise BackupError(f"{where} has no {key!r}")
                    elif not isinstance(value, str):
                        raise BackupError(f"{where}: {key!r} should be text (a uid), "
                                          f"not {json.dumps(value)}")
                    continue
                if key not in row:
                    if spec.required:
                        raise BackupError(f"{where} has no {key!r}")
                    continue
                if value is None:
                    if not spec.nullable:
                        raise BackupError(f"{where}: {key!r} cannot be null")
                    continue
                if not _type_ok(value, spec.kind):
                    raise BackupError(f"{where}: {key!r} should be {_type_name(spec.kind)}, "
                                      f"not {json.dumps(value)[:40]}")
            if table.has_uid:
                if not row["uid"]:
                    raise BackupError(f"{where} has an empty 'uid'")
                if row["uid"] in seen:
                    raise BackupError(f"{where} repeats uid {row['uid']!r}")
                seen.add(row["uid"])
        uids[table.name] = seen
    # every reference points at a row in the file or already in the database
    for table in known.values():
        for number, row in enumerate(tables.get(table.name, []), start=1):
            for ref in table.references:
                value = row.get(ref.key)
                if value is None or value in uids.get(ref.table, ()):
                    continue
                if not store.has_uid(ref.table, value):
                    raise BackupError(f"{name}: {table.name} row {number} points at "
                                      f"{ref.table} uid {value!r}, which is not in the file")
    return {t: tables.get(t, []) for t in known}


# -- import --------------------------------------------------------------------------

#: Tables derived from others, imported after everything else.
DERIVED = ("cue_stats",)


def import_data(store: Store, data: Any, name: str = "the file") -> ImportResult:
    """Validate, then add the rows not already present, in one transaction."""
    tables = validate(data, store, name)
    result = ImportResult()
    order = schema(store)
    order = [t for t in order if t.name not in DERIVED] + \
        [t for t in order if t.name in DERIVED]
    with store.transaction() as db:
        for table in order:
            added = present = 0
            for row in tables.get(table.name, []):
                if _import_row(db, table, row):
                    added += 1
                    if table.name == "sets":
                        count_cue(db, row["exercise"], row.get("cue"), row.get("felt"),
                                  row.get("skipped"))
                else:
                    present += 1
            result.added[table.name] = added
            result.present[table.name] = present
    return result


def _import_row(db: sqlite3.Connection, table: Table, row: dict[str, Any]) -> bool:
    """Insert one row; False when it was already there (nothing changed)."""
    if table.has_uid and uid_exists(db, table.name, row["uid"]):
        return False
    values: dict[str, Any] = {}
    for key, spec in table.file_fields().items():
        if isinstance(spec, Reference):
            uid = row.get(key)
            if uid is None:
                values[spec.column] = None
            else:
                values[spec.column] = id_of_uid(db, spec.table, uid)
        elif key in row:
            values[key] = row[key]
    if not table.has_uid and table.primary_key:
        key = {k: values.get(k) for k in table.primary_key}
        existing = row_by_key(db, table.name, key)
        if existing is not None:
            numeric = [c.name for c in table.columns if c.name not in table.primary_key
                       and c.name in values and isinstance(values[c.name], (int, float))
                       and (existing[c.name] is None or values[c.name] > existing[c.name])]
            if not numeric:
                return False
            update_row(db, table.name, key, {c: values[c] for c in numeric})
            return True
    insert_row(db, table.name, values)
    return True


def import_file(store: Store, path: str | Path) -> ImportResult:
    return import_data(store, read_file(path), str(path))
