#!/usr/bin/python
# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
# ruff: noqa: E402 - an Ansible module documents itself before its imports (ansible-test's order)

DOCUMENTATION = r"""
---
module: django_copy
short_description: Copy a MySQL, MariaDB or PostgreSQL database into a Django project's database with pgloader
version_added: 0.1.0
description:
  - Copies the rows of the tables of the project's models from a source database into the database of
    one alias, with C(pgloader) loading the data only; the tables, their types, keys and constraints
    are the ones the project's own migrations made (run them first, by deploying a release).
  - Tables are loaded level by level in the order of their foreign keys (a table after the tables it
    references; the tables of one level at once), so the target's constraints stay in place and are
    checked. Types are mapped explicitly where MySQL and PostgreSQL differ - C(tinyint(1)) to boolean,
    zero dates (C(0000-00-00)) to NULL, and geometry columns to the PostGIS column of the model, with
    the model field's SRID - and datetimes are read as UTC, as Django on MySQL writes them.
  - Before anything changes it checks that the source answers, lists the source's tables the models do
    not know (copied only with O(unknown_tables), into tables pgloader creates from the source's schema)
    and the models' tables the source lacks (left empty), and refuses a target table that already holds
    rows unless O(truncate) is set. The tables Django's migrations fill (O(replace), content types and
    permissions by default) are emptied and copied from the source when it has them, so that the ids the
    source's rows point to stay right. C(django_migrations) is never copied.
  - After the copy, every table's row count and checksum must match the source's, or the module fails
    naming the tables. The checksum covers each row's primary key and its integer, text and boolean
    columns (the types whose text is the same on both sides); dates, floats and geometries are counted,
    not summed.
  - Sequences are left where they are; reset them after the copy with M(djangoops.stack.django_sequences).
  - Runs on one app host with the release's own Python interpreter (set C(ansible_python_interpreter) to
    the release virtualenv's python), like M(djangoops.stack.django_migrate). The host needs C(pgloader)
    and, for a MySQL or MariaDB source, the C(mariadb) (or C(mysql)) client. Passwords reach C(pgloader)
    and the client through their environment and a private file, never a command line.
options:
  project_path:
    description:
      - Directory of the Django project (the one holding C(manage.py)).
    type: path
    required: true
  settings:
    description:
      - Settings module; defaults to C(DJANGO_SETTINGS_MODULE) from O(environment), O(env_file) or the environment.
    type: str
  environment:
    description:
      - Environment variables the settings read. They override O(env_file).
    type: dict
    default: {}
  env_file:
    description:
      - The release's environment file, read as systemd's C(EnvironmentFile=) reads it.
    type: path
  database:
    description:
      - The alias of C(settings.DATABASES) copied into (a PostgreSQL database).
    type: str
    default: default
  source:
    description:
      - The source database, C(mysql://user:password@host:port/name) (MySQL and MariaDB) or
        C(postgresql://user:password@host:port/name), with the password percent-encoded where needed.
      - Keep it in ansible-vault; it is not logged.
    type: str
    required: true
  truncate:
    description:
      - Empty the target's copied tables first when they hold rows. Without it such a table is refused.
    type: bool
    default: false
  unknown_tables:
    description:
      - Also copy the source's tables that no model of the project knows, into tables created from the
        source's schema. Without it they are listed and left.
    type: bool
    default: false
  exclude:
    description:
      - Tables not to copy (sessions, caches), by name.
    type: list
    elements: str
    default: []
  replace:
    description:
      - Tables the project's migrations fill, emptied and copied from the source when the source has them.
    type: list
    elements: str
    default: [django_content_type, auth_permission, django_site]
  workers:
    description:
      - pgloader's workers per load (C(workers)); the tables of one level are copied at once.
    type: int
    default: 4
  pgloader:
    description:
      - The pgloader command.
    type: str
    default: pgloader
author:
  - djangoops.stack developers (@djangoops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Checks the source and the target and reports what would be copied; changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - A table whose foreign key points at itself (a tree) is loaded in the source's row order, in batches;
    a row that comes before the row it points to fails the copy (the constraint is checked per batch).
"""

EXAMPLES = r"""
- name: Copy the old MySQL database into the app's PostgreSQL database
  djangoops.stack.django_copy:
    project_path: /srv/shop/current/src
    settings: shop.settings.production
    env_file: /srv/shop/shared/env
    source: "{{ vault_legacy_mysql_url }}"
  vars:
    ansible_python_interpreter: /srv/shop/current/venv/bin/python
"""

RETURN = r"""
tables:
  description:
    - Per copied table, in load order - C(table), C(level) (its place in the foreign key order), C(rows)
      (the source's row count) and C(checksum) (equal on both sides after the copy).
  returned: always
  type: list
  elements: dict
unknown:
  description: The source's tables no model knows (copied only with O(unknown_tables)).
  returned: always
  type: list
  elements: str
missing:
  description: The models' tables the source does not have (left as they are).
  returned: always
  type: list
  elements: str
holding_rows:
  description: Target tables that held rows before the copy (refused without O(truncate); emptied with it).
  returned: always
  type: dict
rows:
  description: Rows copied (in check mode, rows that would be copied).
  returned: always
  type: int
seconds:
  description: Seconds the load and the verification took.
  returned: always
  type: float
rows_per_second:
  description: Rows copied per second of load.
  returned: always
  type: float
msg:
  description: A one-line summary.
  returned: always
  type: str
"""

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import time
import traceback
from urllib.parse import parse_qsl, unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.djangoops.stack.plugins.module_utils import django_project

try:
    import django
    from django.apps import apps
    from django.db import connections, router

    HAS_DJANGO = True
    DJANGO_IMPORT_ERROR = None
except ImportError as exc:  # reported with the interpreter the module ran under
    HAS_DJANGO = False
    DJANGO_IMPORT_ERROR = exc

MYSQL_SCHEMES = ("mysql", "mariadb")
POSTGRESQL_SCHEMES = ("postgresql", "postgres", "pgsql", "postgis")
# Column types whose text is the same in MySQL and PostgreSQL (booleans as 0/1): they go into the checksum.
SUMMED_TYPES = (
    "integer",
    "bigint",
    "smallint",
    "serial",
    "bigserial",
    "smallserial",
    "varchar",
    "character",
    "char",
    "text",
    "boolean",
    "numeric",
)
NEVER_COPIED = ("django_migrations",)


class CopyError(Exception):
    """A refusal or a failure, with a message that names what to fix."""


class Source:
    """The source database: its tables, row counts and checksums (MySQL client or a Django connection)."""

    def __init__(self, url: str, target_alias: str, workdir: str):
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        if self.scheme not in MYSQL_SCHEMES + POSTGRESQL_SCHEMES:
            raise CopyError(f"source: the scheme must be mysql:// or postgresql:// (got {parts.scheme or 'none'}://)")
        self.mysql = self.scheme in MYSQL_SCHEMES
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.host = parts.hostname or ""
        self.port = parts.port or (3306 if self.mysql else 5432)
        self.name = unquote(parts.path.lstrip("/"))
        # sslmode, sslrootcert of a PostgreSQL source (as libpq reads them).
        self.options = {k: v for k, v in parse_qsl(parts.query) if k in ("sslmode", "sslrootcert")}
        if not self.host or not self.name:
            raise CopyError("source: give a host and a database name (mysql://user:password@host:port/name)")
        self.label = f"{'mysql' if self.mysql else 'postgresql'}://{self.user}@{self.host}:{self.port}/{self.name}"
        self.workdir = workdir
        self._connection = None
        if self.mysql:
            self.client = shutil.which("mariadb") or shutil.which("mysql")
            if not self.client:
                raise CopyError("the mariadb (or mysql) client is not installed on this host (package mariadb-client)")
            self.defaults = os.path.join(workdir, "source.cnf")
            fd = os.open(self.defaults, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("[client]\n")
                handle.write(f"user={self.user}\n")
                # Option files read escape sequences (\n, \\) in values: a backslash is written doubled.
                escaped = self.password.replace("\\", "\\\\")
                handle.write(f'password="{escaped}"\n' if self.password else "")
                handle.write(f"host={self.host}\nport={self.port}\nconnect-timeout=10\n")
        else:
            target = connections[target_alias]
            settings = dict(target.settings_dict)
            settings.update(NAME=self.name, USER=self.user, PASSWORD=self.password, HOST=self.host, PORT=str(self.port))
            settings["OPTIONS"] = dict(self.options)
            self._connection = target.__class__(settings, "djangoops_copy_source")

    def query(self, sql: str) -> list[list[str]]:
        if self.mysql:
            argv = [
                self.client,
                f"--defaults-extra-file={self.defaults}",
                "--batch",
                "--skip-column-names",
                "--database",
                self.name,
                "--execute",
                sql,
            ]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
            if done.returncode != 0:
                raise CopyError(f"source {self.label}: {done.stderr.strip() or 'the client failed'}")
            return [line.split("\t") for line in done.stdout.splitlines()]
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(sql)
                return [[None if v is None else str(v) for v in row] for row in cursor.fetchall()]
        except Exception as exc:
            raise CopyError(f"source {self.label}: {type(exc).__name__}: {exc}".strip()) from exc

    def tables(self) -> set[str]:
        if self.mysql:
            sql = (
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
                " AND table_type = 'BASE TABLE'"
            )
        else:
            # Not the tables of extensions (PostGIS's spatial_ref_sys): each database has its own.
            sql = (
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT EXISTS"
                " (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
                " AND d.deptype = 'e')"
            )
        return {row[0] for row in self.query(sql)}

    def columns(self, table: str) -> set[str]:
        schema = "DATABASE()" if self.mysql else "'public'"
        # A table name of the project's models.
        sql = f"SELECT column_name FROM information_schema.columns WHERE table_schema = {schema} AND table_name = '{table}'"  # noqa: S608, E501
        return {row[0] for row in self.query(sql)}

    def close(self):
        if self._connection is not None:
            self._connection.close()


def checksum_sql(table: str, columns: list[tuple[str, str]], mysql: bool) -> str:
    """COUNT(*) and the sum of a 32-bit slice of each row's MD5 over the given (column, kind) pairs."""
    quote = (lambda n: f"`{n}`") if mysql else (lambda n: f'"{n}"')
    parts = []
    for column, kind in columns:
        if mysql:
            parts.append(f"COALESCE(CAST({quote(column)} AS CHAR), '~')")
        elif kind == "boolean":
            parts.append(f"COALESCE({quote(column)}::int::text, '~')")
        else:
            parts.append(f"COALESCE({quote(column)}::text, '~')")
    row = f"CONCAT_WS('|', {', '.join(parts)})" if mysql else f"concat_ws('|', {', '.join(parts)})"
    if mysql:
        digest = f"CAST(CONV(SUBSTRING(MD5({row}), 1, 8), 16, 10) AS UNSIGNED)"
    else:
        digest = f"('x' || substr(md5({row}), 1, 8))::bit(32)::bigint"
    return f"SELECT COUNT(*), COALESCE(SUM({digest}), 0) FROM {quote(table)}"  # noqa: S608 - names from the models


def column_kind(db_type: str) -> str:
    kind = (db_type or "").split("(")[0].strip().lower()
    return kind if kind in SUMMED_TYPES else ""


class Plan:
    """What the copy does: the models' tables on the alias, their levels, the checks' findings."""

    def __init__(self, alias: str):
        self.alias = alias
        self.connection = connections[alias]
        self.models = {}  # table -> model
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.db_table in self.models:
                continue
            if router.allow_migrate_model(alias, model):
                self.models[meta.db_table] = model

    def dependencies(self, table: str, tables: set[str]) -> set[str]:
        found = set()
        for field in self.models[table]._meta.local_fields:
            if field.is_relation and (field.many_to_one or field.one_to_one):
                referenced = field.related_model._meta.db_table
                if referenced != table and referenced in tables:
                    found.add(referenced)
        return found

    def levels(self, tables: set[str]) -> list[list[str]]:
        remaining = {table: self.dependencies(table, tables) for table in tables}
        levels = []
        while remaining:
            ready = sorted(table for table, needs in remaining.items() if not needs)
            if not ready:  # a cycle of foreign keys: constraints are deferred, the rest goes in one level
                ready = sorted(remaining)
            levels.append(ready)
            for table in ready:
                del remaining[table]
            for needs in remaining.values():
                needs.difference_update(ready)
        return levels

    def checksum_columns(self, table: str, source_columns: set[str]) -> list[tuple[str, str]]:
        meta = self.models[table]._meta
        columns = []
        for field in meta.local_fields:
            if field.column and field.column in source_columns:
                kind = column_kind(field.db_type(self.connection))
                if kind:
                    columns.append((field.column, kind))
        return columns

    def geometry_rules(self, tables: list[str]) -> list[str]:
        rules = []
        for table in tables:
            for field in self.models[table]._meta.local_fields:
                srid = getattr(field, "srid", None)
                if srid is None or not hasattr(field, "geom_type"):
                    continue
                target = "geography" if getattr(field, "geography", False) else "geometry"
                rules.append(
                    f"column {table}.{field.column} to {target} drop typemod"
                    f' using (lambda (wkt) (when wkt (format nil "SRID={int(srid)};~a" wkt)))'
                )
        return rules

    def target_rows(self, tables) -> dict:
        quote = self.connection.ops.quote_name
        holding = {}
        with self.connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 - names from the models
                count = cursor.fetchone()[0]
                if count:
                    holding[table] = count
        return holding

    def target_checksum(self, table: str, columns) -> tuple[int, int]:
        with self.connection.cursor() as cursor:
            cursor.execute(checksum_sql(table, columns, mysql=False))
            count, total = cursor.fetchone()
        return int(count), int(total)


def target_url(alias: str) -> tuple[str, dict]:
    """pgloader's connection string for the alias (no password: it goes in PGPASSWORD) and its environment."""
    settings = connections[alias].settings_dict
    host = settings.get("HOST") or ""
    port = settings.get("PORT") or 5432
    options = settings.get("OPTIONS") or {}
    if not host or host.startswith("/"):
        netloc = f"unix:{host or '/var/run/postgresql'}:{port}"
    else:
        netloc = f"{host}:{port}"
    query = ""
    sslmode = options.get("sslmode", "")
    if sslmode in ("require", "verify-ca", "verify-full"):
        query = "?sslmode=require"
    elif sslmode in ("disable", "allow", "prefer"):
        query = f"?sslmode={sslmode}"
    env = {"PGPASSWORD": str(settings.get("PASSWORD") or "")}
    if options.get("sslrootcert") and sslmode in ("verify-ca", "verify-full"):
        # pgloader verifies the server's certificate against OpenSSL's default store: the alias's CA.
        env["SSL_CERT_FILE"] = str(options["sslrootcert"])
    return f"pgsql://{settings.get('USER') or ''}@{netloc}/{settings['NAME']}{query}", env


def load_file(source: Source, target: str, tables: list[str], casts: list[str], workers: int, create: bool) -> str:
    if source.mysql:  # the password is in MYSQL_PWD
        source_url = f"mysql://{source.user}@{source.host}:{source.port}/{source.name}"
    else:  # PGPASSWORD is the target's: the source's goes in the file (pgloader escapes @ as @@)
        sslmode = source.options.get("sslmode", "")
        query = f"?sslmode={'require' if sslmode in ('verify-ca', 'verify-full') else sslmode}" if sslmode else ""
        password = source.password.replace("@", "@@")
        source_url = f"pgsql://{source.user}:{password}@{source.host}:{source.port}/{source.name}{query}"
    options = ["create tables", "create no indexes", "no foreign keys"] if create else ["data only", "no foreign keys"]
    options += [
        "reset no sequences",
        "no truncate",
        "on error stop",
        f"workers = {workers}",
        "concurrency = 1",
        "prefetch rows = 25000",
        "batch rows = 25000",
    ]
    names = ", ".join(f"'{table}'" for table in tables)
    lines = [
        "LOAD DATABASE",
        f"  FROM {source_url}",
        f"  INTO {target}",
        "WITH " + ", ".join(options),
        "SET PostgreSQL PARAMETERS timezone = 'UTC'",
    ]
    if source.mysql:
        rules = [
            *casts,
            "type tinyint when (= precision 1) to boolean drop typemod using tinyint-to-boolean",
            "type datetime to timestamptz drop default drop not null using zero-dates-to-null",
            "type timestamp to timestamptz drop default drop not null using zero-dates-to-null",
            "type date to date drop default drop not null using zero-dates-to-null",
        ]
        lines.append("CAST " + ",\n     ".join(rules))
        lines.append(f"INCLUDING ONLY TABLE NAMES MATCHING {names}")
        lines.append(f"ALTER SCHEMA '{source.name}' RENAME TO 'public'")
    else:
        lines.append(f"INCLUDING ONLY TABLE NAMES MATCHING {names} IN SCHEMA 'public'")
    return "\n".join(lines) + "\n;\n"


def run_pgloader(command: str, workdir: str, text: str, env: dict, step: int) -> float:
    path = os.path.join(workdir, f"load-{step}.load")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    log = os.path.join(workdir, f"load-{step}.log")
    started = time.monotonic()
    done = subprocess.run(
        [command, "--root-dir", os.path.join(workdir, f"root-{step}"), "--logfile", log, path],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=24 * 3600,
        check=False,
    )
    seconds = time.monotonic() - started
    output = (done.stdout + done.stderr).strip()
    failed = done.returncode != 0 or any(word in output for word in ("KABOOM", " ERROR ", " FATAL "))
    if failed:
        errors = [line for line in output.splitlines() if " ERROR " in line or " FATAL " in line or "KABOOM" in line]
        raise CopyError(
            f"pgloader failed (exit {done.returncode}): " + " | ".join(errors[-5:] or output.splitlines()[-5:])
        )
    return seconds


def copy(module, params) -> dict:
    alias = params["database"]
    from django.conf import settings

    if alias not in settings.DATABASES:
        raise CopyError(f"database: {alias} is not in the settings' DATABASES ({', '.join(settings.DATABASES)})")
    plan = Plan(alias)
    if plan.connection.vendor != "postgresql":
        raise CopyError(f"database: {alias} is {plan.connection.vendor}, not PostgreSQL")
    workdir = tempfile.mkdtemp(prefix="djangoops-copy-")
    source = None
    try:
        source = Source(params["source"], alias, workdir)
        try:
            source_tables = source.tables()
        except CopyError as exc:
            raise CopyError(f"cannot reach the source: {exc}") from exc
        with plan.connection.cursor() as cursor:
            existing = set(plan.connection.introspection.table_names(cursor))
        excluded = set(params["exclude"]) | set(NEVER_COPIED)
        model_tables = {t for t in plan.models if t in existing} - excluded
        copied = model_tables & source_tables
        if not copied:
            raise CopyError(
                f"the target database ({alias}) has none of the models' tables that the source has"
                f" ({len(model_tables)} model tables there, {len(source_tables)} source tables): deploy a release"
                " first (its migrations make the tables), and check the source's database name."
            )
        missing = sorted(model_tables - source_tables)
        unknown = sorted(source_tables - set(plan.models) - excluded)
        replaced = sorted(copied & set(params["replace"]))
        holding = plan.target_rows(sorted(copied))
        refused = {t: n for t, n in holding.items() if t not in replaced}
        result = {
            "tables": [],
            "unknown": unknown,
            "missing": missing,
            "holding_rows": holding,
            "replaced": replaced,
            "rows": 0,
            "seconds": 0.0,
            "rows_per_second": 0.0,
            "source": source.label,
            "changed": False,
        }
        if refused and not params["truncate"]:
            listed = ", ".join(f"{t} ({n} rows)" for t, n in sorted(refused.items()))
            raise CopyError(
                f"the target database ({alias}) already holds rows in {listed}: nothing was copied."
                " Copy into an empty database, or empty these tables first with truncate (copy_data_truncate=true)."
            )
        # Tables that are not copied but point at a copied one: emptied with it, so they must be empty.
        referencing = {t for t in model_tables - copied if plan.dependencies(t, copied)}
        kept = plan.target_rows(sorted(referencing)) if holding else {}
        if kept:
            listed = ", ".join(f"{t} ({n} rows)" for t, n in sorted(kept.items()))
            raise CopyError(f"{listed} point at tables the copy empties and are not copied: nothing was copied.")
        levels = plan.levels(copied)
        columns = {}
        for number, level in enumerate(levels):
            for table in level:
                source_columns = source.columns(table)
                columns[table] = plan.checksum_columns(table, source_columns)
                count, total = (int(v) for v in source.query(checksum_sql(table, columns[table], source.mysql))[0])
                result["tables"].append({"table": table, "level": number, "rows": count, "checksum": total})
                result["rows"] += count
        if params["unknown_tables"]:
            for table in unknown:
                count = int(source.query(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608 - a name the source listed
                result["tables"].append({"table": table, "level": len(levels), "rows": count, "checksum": None})
                result["rows"] += count
        if module.check_mode:
            return result

        target, env = target_url(alias)
        if source.mysql:
            env["MYSQL_PWD"] = source.password
        elif source.options.get("sslrootcert") and source.options.get("sslmode") in ("verify-ca", "verify-full"):
            # One store for both connections: the target's CA and the source's.
            bundle = os.path.join(workdir, "ca-bundle.pem")
            with open(bundle, "w", encoding="utf-8") as out:
                for path in {env.get("SSL_CERT_FILE", ""), source.options["sslrootcert"]} - {""}:
                    with open(path, encoding="utf-8") as handle:
                        out.write(handle.read() + "\n")
            env["SSL_CERT_FILE"] = bundle
        started = time.monotonic()
        if holding:
            # Every copied table is empty or may be emptied; PostgreSQL truncates a table only together
            # with the tables whose foreign keys point at it.
            quote = plan.connection.ops.quote_name
            with plan.connection.cursor() as cursor:
                cursor.execute("TRUNCATE " + ", ".join(quote(t) for t in sorted(copied | referencing)))
        result["changed"] = True
        load_seconds = 0.0
        try:
            for number, level in enumerate(levels):
                text = load_file(source, target, level, plan.geometry_rules(level), params["workers"], create=False)
                load_seconds += run_pgloader(params["pgloader"], workdir, text, env, number)
            if params["unknown_tables"] and unknown:
                text = load_file(source, target, unknown, [], params["workers"], create=True)
                load_seconds += run_pgloader(params["pgloader"], workdir, text, env, len(levels))
        except CopyError as exc:
            raise CopyError(exc.args[0], result) from exc
        mismatched = []
        for entry in result["tables"]:
            if entry["checksum"] is None:
                continue
            count, total = plan.target_checksum(entry["table"], columns[entry["table"]])
            if (count, total) != (entry["rows"], entry["checksum"]):
                mismatched.append(
                    f"{entry['table']} (source {entry['rows']} rows, copied {count}"
                    + (", checksums differ" if count == entry["rows"] else "")
                    + ")"
                )
        result["seconds"] = round(time.monotonic() - started, 1)
        result["load_seconds"] = round(load_seconds, 1)
        result["rows_per_second"] = round(result["rows"] / load_seconds, 1) if load_seconds else 0.0
        if mismatched:
            raise CopyError("the copy does not match the source: " + "; ".join(mismatched), result)
        return result
    finally:
        if source is not None:
            source.close()
        shutil.rmtree(workdir, ignore_errors=True)


def summary(result: dict, check_mode: bool) -> str:
    verb = "would copy" if check_mode else "copied"
    text = f"{verb} {result['rows']} rows of {len(result['tables'])} tables from {result['source']}"
    if not check_mode:
        text += f" in {result['load_seconds']} s ({result['rows_per_second']} rows/s;"
        text += f" {result['seconds']} s with the checks), counts and checksums equal"
    if result["replaced"]:
        text += f"; replaced Django's own rows of {', '.join(result['replaced'])}"
    if result["unknown"]:
        done = "" if check_mode else " (copied)" if result.get("unknown_copied") else " (not copied)"
        text += f"; source tables no model knows{done}: {', '.join(result['unknown'])}"
    if result["missing"]:
        text += f"; models' tables the source lacks (left empty): {', '.join(result['missing'])}"
    return text


def main():
    module = AnsibleModule(
        argument_spec={
            **django_project.PROJECT_OPTIONS,
            "database": {"type": "str", "default": "default"},
            "source": {"type": "str", "required": True, "no_log": True},
            "truncate": {"type": "bool", "default": False},
            "unknown_tables": {"type": "bool", "default": False},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "replace": {
                "type": "list",
                "elements": "str",
                "default": ["django_content_type", "auth_permission", "django_site"],
            },
            "workers": {"type": "int", "default": 4},
            "pgloader": {"type": "str", "default": "pgloader"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not module.check_mode and not shutil.which(params["pgloader"]):
        module.fail_json(msg=f"{params['pgloader']} is not installed on this host (package pgloader)")
    django_project.enter(module, HAS_DJANGO, DJANGO_IMPORT_ERROR)
    output = io.StringIO()
    failure = None
    # fail_json and exit_json print the result: only outside the redirection.
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            django.setup()
            result = copy(module, params)
        except CopyError as exc:
            partial = exc.args[1] if len(exc.args) > 1 else {}
            failure = {"msg": str(exc.args[0]), **partial, "changed": bool(partial.get("changed"))}
        except Exception as exc:
            failure = {"msg": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    if failure:
        module.fail_json(output=output.getvalue(), **failure)
    result["unknown_copied"] = bool(params["unknown_tables"] and result["unknown"])
    module.exit_json(msg=summary(result, module.check_mode), output=output.getvalue(), **result)


if __name__ == "__main__":
    main()
