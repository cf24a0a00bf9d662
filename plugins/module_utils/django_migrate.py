"""Migration phases for a rolling deploy: the logic of the djangoops.stack.django_migrate module.

Runs inside the release's own interpreter, next to its Django. Nothing here is imported from the app
and nothing has to be added to it: the markers of django-syzygy and django-safemigrate are read by
attribute name and value, without importing either package.

A pending migration is either PRE (safe while the old release still serves traffic) or POST (only
after every host runs the new release):

* POST when the migration says so: ``post_deploy = True``; ``stage`` whose name or value is
  ``post_deploy``/``post_deployment`` (django-syzygy's ``Stage.POST_DEPLOY``, also on a single
  operation, or syzygy's ``MIGRATION_STAGES_OVERRIDE`` setting); ``safe`` whose name or value is
  ``after_deploy`` (django-safemigrate's ``Safe.after_deploy`` / ``Safe.after_deploy()``) or
  ``safe = False`` (safemigrate 1.x);
* POST when one of its operations drops a column or a table in this database (``RemoveField``,
  ``DeleteModel``, also inside ``SeparateDatabaseAndState.database_operations``); state-only
  changes do not count, nor do operations the database router sends elsewhere;
* POST when it depends on a pending POST migration;
* PRE otherwise, including ``RunSQL``/``RunPython`` without a marker.

A PRE migration is refused (checks ``DM001`` to ``DM004``) when it would break the old code, and the
release is refused when its migration graph has conflicting leaves (``DM005``) or its models have
changes without a migration (``DM006``). Refusals are computed for every database before anything
is applied, so a refusal changes nothing anywhere.

A FIRST INSTALL is the exception, decided per database alias: when ``django_migrations`` records no
migration of any app that has migrations in this release (the table is absent or empty, or holds
rows of other apps only), no old code of this project can be using that database. Every pending
migration is then PRE, ``DM001`` to ``DM004`` do not apply (``DM005`` and ``DM006`` still do), and
the pre phase applies everything before the first host serves; the post phase has nothing left.
A database where some app of the project has a recorded migration is planned as above.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum

try:
    import django
    from django.apps import apps as django_apps
    from django.conf import settings as django_settings
    from django.core.management import call_command
    from django.db import connections, router
    from django.db.backends.signals import connection_created
    from django.db.migrations import operations as ops
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.questioner import MigrationQuestioner
    from django.db.migrations.state import ProjectState
    from django.db.models import NOT_PROVIDED

    HAS_DJANGO = True
    DJANGO_IMPORT_ERROR = None
except ImportError as exc:  # the module reports it with the interpreter it ran under
    HAS_DJANGO = False
    DJANGO_IMPORT_ERROR = exc

# SQLSTATEs worth another attempt: lock_not_available (lock_timeout expired) and deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"55P03", "40P01"})


class Stage(StrEnum):
    """When a pending migration may run."""

    PRE = "pre"
    POST = "post"


class Phase(StrEnum):
    """What a run of the module does."""

    PRE = "pre"  # apply the PRE migrations, relax columns that POST migrations drop
    POST = "post"  # apply everything still pending
    ALL = "all"  # PRE rules, then everything in one go (no old code left running)
    CHECK = "check"  # plan and refusals only, never changes anything
    SCHEMA = "schema"  # does the live schema have what this code's models need (before a rollback)?


@dataclass(frozen=True)
class CheckSpec:
    id: str
    name: str


class Check(Enum):
    """The reasons a release is refused, with stable ids (like django-linear-migrations' checks)."""

    NOT_NULL_WITHOUT_DB_DEFAULT = CheckSpec("DM001", "not-null-column-without-db-default")
    RENAME_COLUMN = CheckSpec("DM002", "column-rename")
    RENAME_TABLE = CheckSpec("DM003", "table-rename")
    NOT_NULL_ADDED = CheckSpec("DM004", "not-null-added-to-existing-column")
    CONFLICTING_LEAVES = CheckSpec("DM005", "conflicting-leaf-migrations")
    MISSING_MIGRATION = CheckSpec("DM006", "model-changes-without-migration")


@dataclass
class Refusal:
    check: Check
    migration: str | None
    operation: str
    reason: str
    fix: str
    database: str | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.check.value.id,
            "check": self.check.value.name,
            "database": self.database,
            "migration": self.migration,
            "operation": self.operation,
            "reason": self.reason,
            "fix": self.fix,
        }

    def __str__(self) -> str:
        where = f"{self.database}: " if self.database else ""
        what = f"{self.migration}: {self.operation}" if self.migration else self.operation
        return f"[{self.check.value.id}] {where}{what}: {self.reason}. Fix: {self.fix}"


@dataclass
class Relaxation:
    migration: str
    operation: str
    table: str
    column: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Finding:
    """What one operation does to one database."""

    operation: str
    effect: bool = False  # touches this database at all
    routed: bool = False  # the router allows it here (with or without a database effect)
    drops: str | None = None  # why it breaks the old code (dropped column/table)
    refusals: list[Refusal] = field(default_factory=list)
    relax: Relaxation | None = None


@dataclass
class PlannedMigration:
    key: tuple[str, str]
    stage: Stage
    reasons: list[str]
    routed: bool
    refusals: list[Refusal]
    relaxations: list[Relaxation]

    @property
    def label(self) -> str:
        return label(self.key)


@dataclass
class AliasPlan:
    alias: str
    migrations: list[PlannedMigration]
    graph: object = None
    first_install: bool = False  # no migration of the project recorded: everything is PRE

    def stage(self, stage: Stage) -> list[PlannedMigration]:
        return [m for m in self.migrations if m.stage is stage]

    @property
    def refusals(self) -> list[Refusal]:
        return [r for m in self.stage(Stage.PRE) for r in m.refusals]


@dataclass
class RetryPolicy:
    retries: int = 3
    delay: float = 2.0  # seconds before the first retry, doubled after each

    def pause(self, attempt: int) -> float:
        return self.delay * (2**attempt)


class MigrateError(Exception):
    """A migration or relaxation failed after its retries; the result so far travels with it."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


def setup() -> None:
    """django.setup(): once the environment and the settings module are in place."""
    django.setup()


def label(key: tuple[str, str]) -> str:
    return f"{key[0]}.{key[1]}"


# Markers ---------------------------------------------------------------------------------------

_STAGE_POST = frozenset({"post_deploy", "post_deployment"})
_STAGE_PRE = frozenset({"pre_deploy", "pre_deployment"})
_SAFE_POST = frozenset({"after_deploy"})
_SAFE_PRE = frozenset({"before_deploy", "always"})


def marker_token(value) -> str | None:
    """Normalise a marker value to a lower-case token, whatever type the library gave it.

    ``Stage.POST_DEPLOY`` (an Enum) gives its name ``post_deploy``; a dataclass with a ``when``
    (safemigrate 5: ``Safe.after_deploy()``) gives its ``when``; an uncalled classmethod
    (``Safe.after_deploy``) gives its ``__name__``; anything else its ``str()`` after the last dot.
    """
    if value is None or isinstance(value, bool):
        return None
    when = getattr(value, "when", None)
    if when is not None and when is not value:
        return marker_token(when)
    if isinstance(value, Enum):
        return value.name.lower()
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__.lower()
    text = str(value).strip().rsplit(".", 1)[-1]
    return text.lower().replace("-", "_").replace(" ", "_") or None


def _stage_tokens(value) -> set[str]:
    tokens = {marker_token(value)}
    if isinstance(value, Enum) and isinstance(value.value, str):
        tokens.add(marker_token(value.value))
    return tokens - {None}


def marker_stage(migration, overrides: dict | None = None) -> tuple[Stage | None, str | None]:
    """The stage a migration's own markers ask for, and the marker that said so."""
    key = f"{migration.app_label}.{migration.name}"
    override = (overrides or {}).get(key) or (overrides or {}).get(migration.app_label)
    found_pre = None
    candidates = [
        ("post_deploy", getattr(migration, "post_deploy", None)),
        ("stage", getattr(migration, "stage", None)),
        ("MIGRATION_STAGES_OVERRIDE", override),
        ("safe", getattr(migration, "safe", None)),
    ]
    for name, value in candidates:
        if value is None:
            continue
        if name == "post_deploy":
            if value is True:
                return Stage.POST, "post_deploy = True"
            found_pre = found_pre or "post_deploy = False"
            continue
        if name == "safe" and isinstance(value, bool):
            if value is False:
                return Stage.POST, "safe = False"
            found_pre = found_pre or "safe = True"
            continue
        tokens = _stage_tokens(value)
        post, pre = (_SAFE_POST, _SAFE_PRE) if name == "safe" else (_STAGE_POST, _STAGE_PRE)
        if tokens & post:
            return Stage.POST, f"{name} = {sorted(tokens & post)[0]}"
        if tokens & pre:
            found_pre = found_pre or f"{name} = {sorted(tokens & pre)[0]}"
    for operation in migration.operations:
        tokens = _stage_tokens(getattr(operation, "stage", None))
        if tokens & _STAGE_POST:
            return Stage.POST, f"{type(operation).__name__}.stage = post_deploy"
    return (Stage.PRE, found_pre) if found_pre else (None, None)


# Operations ------------------------------------------------------------------------------------


def describe(operation) -> str:
    name = type(operation).__name__
    if isinstance(operation, ops.RenameField):
        return f"{name} {operation.model_name}.{operation.old_name} -> {operation.new_name}"
    if isinstance(operation, ops.RenameModel):
        return f"{name} {operation.old_name} -> {operation.new_name}"
    if isinstance(operation, ops.AlterModelTable):
        return f"{name} {operation.name} -> {operation.table}"
    if isinstance(operation, ops.fields.FieldOperation):
        return f"{name} {operation.model_name}.{operation.name}"
    if isinstance(operation, ops.models.ModelOperation):
        return f"{name} {operation.name}"
    return name


def _model(state, app_label: str, model_name: str):
    try:
        return state.apps.get_model(app_label, model_name)
    except LookupError:
        return None


def _has_column(fld) -> bool:
    return fld.column is not None and not fld.many_to_many and not getattr(fld, "generated", False)


def _refusal(check: Check, operation: str, reason: str, fix: str) -> Refusal:
    return Refusal(check=check, migration=None, operation=operation, reason=reason, fix=fix)


class _Inspector:
    """Walks the pending plan of one database alias, moving a ProjectState forward like Django."""

    def __init__(self, alias: str):
        self.alias = alias
        self.created: set[tuple[str, str]] = set()  # models whose table this plan creates

    def routed(self, operation, model) -> bool:
        return model is not None and operation.allow_migrate_model(self.alias, model)

    def operation(self, operation, app_label: str, state) -> list[Finding]:
        """Findings for one operation; moves `state` forward past it."""
        if isinstance(operation, ops.SeparateDatabaseAndState):
            # Only the database operations touch the database; they run on their own copy of the
            # state, as SeparateDatabaseAndState.database_forwards does.
            db_state = state.clone()
            findings = []
            for inner in operation.database_operations:
                for finding in self.operation(inner, app_label, db_state):
                    finding.operation = f"{describe(operation)} > {finding.operation}"
                    findings.append(finding)
            operation.state_forwards(app_label, state)
            routed = bool(router.allow_migrate(self.alias, app_label))
            return [*findings, Finding(f"{describe(operation)} (state)", routed=routed)]
        if isinstance(operation, ops.RunSQL | ops.RunPython):
            noop = operation.sql == ops.RunSQL.noop if isinstance(operation, ops.RunSQL) else False
            if isinstance(operation, ops.RunPython):
                noop = operation.code is ops.RunPython.noop
            routed = bool(router.allow_migrate(self.alias, app_label, **operation.hints))
            operation.state_forwards(app_label, state)
            return [Finding(describe(operation), effect=routed and not noop, routed=routed)]
        handler = {
            ops.CreateModel: self._create_model,
            ops.DeleteModel: self._delete_model,
            ops.AddField: self._add_field,
            ops.RemoveField: self._remove_field,
            ops.AlterField: self._alter_field,
            ops.RenameField: self._rename_field,
            ops.RenameModel: self._rename_model,
            ops.AlterModelTable: self._alter_model_table,
        }.get(type(operation), self._other)
        return [handler(operation, app_label, state)]

    def _other(self, operation, app_label, state) -> Finding:
        model_name = getattr(operation, "model_name", None) or getattr(operation, "name", None)
        model = _model(state, app_label, model_name) if isinstance(model_name, str) else None
        operation.state_forwards(app_label, state)
        if model is None:
            model = _model(state, app_label, model_name) if isinstance(model_name, str) else None
        routed = self.routed(operation, model) if model is not None else router.allow_migrate(self.alias, app_label)
        return self._finding(operation, bool(routed))

    @staticmethod
    def _finding(operation, routed: bool) -> Finding:
        return Finding(describe(operation), effect=routed, routed=routed)

    def _create_model(self, operation, app_label, state) -> Finding:
        operation.state_forwards(app_label, state)
        model = _model(state, app_label, operation.name)
        self.created.add((app_label, operation.name_lower))
        return self._finding(operation, self.routed(operation, model))

    def _delete_model(self, operation, app_label, state) -> Finding:
        model = _model(state, app_label, operation.name)
        operation.state_forwards(app_label, state)
        finding = self._finding(operation, self.routed(operation, model))
        if finding.effect:
            finding.drops = f"{describe(operation)} drops table {model._meta.db_table}"
        return finding

    def _add_field(self, operation, app_label, state) -> Finding:
        operation.state_forwards(app_label, state)
        model = _model(state, app_label, operation.model_name)
        finding = self._finding(operation, self.routed(operation, model))
        if not finding.effect or (app_label, operation.model_name_lower) in self.created:
            return finding
        fld = model._meta.get_field(operation.name)
        if _has_column(fld) and not fld.null and fld.db_default is NOT_PROVIDED:
            table = model._meta.db_table
            finding.refusals.append(
                _refusal(
                    Check.NOT_NULL_WITHOUT_DB_DEFAULT,
                    describe(operation),
                    f"adds column {table}.{fld.column} as NOT NULL without a database default, so every INSERT "
                    "of the old code, which does not name the column, fails",
                    f"give {operation.model_name}.{operation.name} a database default (db_default=...), or add it "
                    "with null=True now and make it NOT NULL in a post-deploy migration of a later release",
                )
            )
        return finding

    def _remove_field(self, operation, app_label, state) -> Finding:
        model = _model(state, app_label, operation.model_name)
        fld = model._meta.get_field(operation.name) if model is not None else None
        operation.state_forwards(app_label, state)
        finding = self._finding(operation, self.routed(operation, model))
        if not finding.effect or fld is None:
            return finding
        table = model._meta.db_table
        if fld.many_to_many:
            through = fld.remote_field.through
            if through is not None and through._meta.auto_created:
                finding.drops = f"{describe(operation)} drops table {through._meta.db_table}"
            else:
                finding.effect = False
            return finding
        if not _has_column(fld):
            finding.effect = False
            return finding
        finding.drops = f"{describe(operation)} drops column {table}.{fld.column}"
        if not fld.null and fld.db_default is NOT_PROVIDED:
            finding.relax = Relaxation("", describe(operation), table, fld.column)
        return finding

    def _alter_field(self, operation, app_label, state) -> Finding:
        model = _model(state, app_label, operation.model_name)
        old = model._meta.get_field(operation.name) if model is not None else None
        operation.state_forwards(app_label, state)
        new_model = _model(state, app_label, operation.model_name)
        finding = self._finding(operation, self.routed(operation, new_model))
        if not finding.effect or old is None or (app_label, operation.model_name_lower) in self.created:
            return finding
        new = new_model._meta.get_field(operation.name)
        table = new_model._meta.db_table
        if _has_column(old) and _has_column(new) and old.column != new.column:
            finding.refusals.append(self._column_rename(operation, table, old.column, new.column))
        if _has_column(new) and old.null and not new.null:
            finding.refusals.append(
                _refusal(
                    Check.NOT_NULL_ADDED,
                    describe(operation),
                    f"makes the existing column {table}.{new.column} NOT NULL while the old code may still write "
                    "NULL into it",
                    f"keep null=True on {operation.model_name}.{operation.name} in this release; backfill it and "
                    "set NOT NULL in a migration marked post_deploy = True once every host runs code that fills it",
                )
            )
        return finding

    def _column_rename(self, operation, table, old, new) -> Refusal:
        return _refusal(
            Check.RENAME_COLUMN,
            describe(operation),
            f"renames column {table}.{old} to {new} while the old code still reads and writes {old}",
            f"keep the column: set db_column='{old}' on the renamed field (a state-only change), or add the new "
            "field now, copy the data, and remove the old one in a post-deploy migration",
        )

    def _rename_field(self, operation, app_label, state) -> Finding:
        model = _model(state, app_label, operation.model_name)
        old = model._meta.get_field(operation.old_name) if model is not None else None
        old_through = old.remote_field.through._meta.db_table if old is not None and old.many_to_many else None
        operation.state_forwards(app_label, state)
        new_model = _model(state, app_label, operation.model_name)
        finding = self._finding(operation, self.routed(operation, new_model))
        if not finding.effect or old is None or (app_label, operation.model_name_lower) in self.created:
            return finding
        new = new_model._meta.get_field(operation.new_name)
        if _has_column(old) and _has_column(new) and old.column != new.column:
            finding.refusals.append(self._column_rename(operation, new_model._meta.db_table, old.column, new.column))
        elif old_through and new.many_to_many and new.remote_field.through._meta.db_table != old_through:
            finding.refusals.append(self._table_rename(operation, old_through, new.remote_field.through._meta.db_table))
        elif not (_has_column(old) or old_through):
            finding.effect = False
        return finding

    def _table_rename(self, operation, old, new) -> Refusal:
        return _refusal(
            Check.RENAME_TABLE,
            describe(operation),
            f"renames table {old} to {new} while the old code still uses {old}",
            f"keep the table: set Meta.db_table = '{old}' on the renamed model (a state-only change), or create "
            "the new model now, copy the data, and delete the old one in a post-deploy migration",
        )

    def _rename_model(self, operation, app_label, state) -> Finding:
        model = _model(state, app_label, operation.old_name)
        old_table = model._meta.db_table if model is not None else None
        operation.state_forwards(app_label, state)
        new_model = _model(state, app_label, operation.new_name)
        finding = self._finding(operation, self.routed(operation, new_model))
        if (app_label, operation.old_name_lower) in self.created:
            self.created.add((app_label, operation.new_name_lower))
            return finding
        if finding.effect and old_table and old_table != new_model._meta.db_table:
            finding.refusals.append(self._table_rename(operation, old_table, new_model._meta.db_table))
        return finding

    def _alter_model_table(self, operation, app_label, state) -> Finding:
        model = _model(state, app_label, operation.name)
        old_table = model._meta.db_table if model is not None else None
        operation.state_forwards(app_label, state)
        new_model = _model(state, app_label, operation.name)
        finding = self._finding(operation, self.routed(operation, new_model))
        if (app_label, operation.name_lower) in self.created:
            return finding
        if finding.effect and old_table and old_table != new_model._meta.db_table:
            finding.refusals.append(self._table_rename(operation, old_table, new_model._meta.db_table))
        return finding


# Plans -----------------------------------------------------------------------------------------


def is_first_install(recorded: Iterable[tuple[str, str]], project_apps: Iterable[str]) -> bool:
    """True when a database holds none of the project: no recorded migration of any of its apps.

    ``recorded`` are the (app, name) rows of django_migrations (none when the table is absent),
    ``project_apps`` the apps that have migrations in the release. Rows of other apps (an app
    removed from the project, another tool's) do not count; one row of one app of the project
    makes it a database that old code of this project may be using. A project without migrations
    has nothing to install.
    """
    apps = set(project_apps)
    return bool(apps) and not any(app in apps for app, _name in recorded)


def plan_alias(alias: str) -> AliasPlan:
    """Classify every pending migration of one database alias, in the order Django would apply them."""
    connection = connections[alias]
    executor = MigrationExecutor(connection)
    loader = executor.loader
    loader.check_consistent_history(connection)
    graph = loader.graph
    pending = [migration for migration, backwards in executor.migration_plan(graph.leaf_nodes()) if not backwards]
    first_install = is_first_install(loader.applied_migrations, {app for app, _name in graph.nodes})
    # The state of the database as recorded, moved forward operation by operation below.
    state = executor._create_project_state(with_applied_migrations=True)
    overrides = getattr(django_settings, "MIGRATION_STAGES_OVERRIDE", None) or {}
    inspector = _Inspector(alias)
    planned: dict[tuple[str, str], PlannedMigration] = {}
    for migration in pending:
        key = (migration.app_label, migration.name)
        findings = []
        for operation in migration.operations:
            findings.extend(inspector.operation(operation, migration.app_label, state))
        if first_install:
            # No old code runs against this database: nothing to defer, nothing to refuse or relax.
            planned[key] = PlannedMigration(
                key=key,
                stage=Stage.PRE,
                reasons=[],
                routed=_routed(alias, migration, findings),
                refusals=[],
                relaxations=[],
            )
            continue
        reasons = []
        stage, marker = marker_stage(migration, overrides)
        if stage is Stage.POST:
            reasons.append(f"marked {marker}")
        reasons.extend(f.drops for f in findings if f.drops)
        parents = sorted(parent.key for parent in graph.node_map[key].parents)
        reasons.extend(
            f"depends on post-deploy {label(parent)}"
            for parent in parents
            if parent in planned and planned[parent].stage is Stage.POST
        )
        refusals = []
        for finding in findings:
            for refusal in finding.refusals:
                refusal.migration, refusal.database = label(key), alias
                refusals.append(refusal)
        relaxations = []
        for finding in findings:
            if finding.relax is not None:
                finding.relax.migration = label(key)
                relaxations.append(finding.relax)
        planned[key] = PlannedMigration(
            key=key,
            stage=Stage.POST if reasons else Stage.PRE,
            reasons=reasons,
            routed=_routed(alias, migration, findings),
            refusals=refusals,
            relaxations=relaxations,
        )
    return AliasPlan(alias=alias, migrations=list(planned.values()), graph=graph, first_install=first_install)


def _routed(alias: str, migration, findings: list[Finding]) -> bool:
    """Whether the router sends the migration here: one of its operations, or its app when it has none."""
    if findings:
        return any(f.routed for f in findings)
    return bool(router.allow_migrate(alias, migration.app_label))


def project_refusals() -> list[Refusal]:
    """Refusals about the release as a whole: conflicting leaves and model changes without a migration."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    refusals = []
    for app_label, names in sorted(loader.detect_conflicts().items()):
        names = sorted(names)
        refusals.append(
            Refusal(
                check=Check.CONFLICTING_LEAVES,
                migration=", ".join(f"{app_label}.{name}" for name in names),
                operation="migration graph",
                reason=f"app {app_label} has conflicting leaf migrations {' and '.join(names)}",
                fix=f"merge them with 'manage.py makemigrations --merge {app_label}' (or make one depend on the "
                "other) and ship the result with the release",
            )
        )
    autodetector = MigrationAutodetector(
        loader.project_state(),
        ProjectState.from_apps(django_apps),
        MigrationQuestioner(specified_apps=None, dry_run=True),
    )
    with contextlib.suppress(SystemExit):
        changes = autodetector.changes(graph=loader.graph)
        for app_label, migrations in sorted(changes.items()):
            described = [describe(operation) for migration in migrations for operation in migration.operations]
            refusals.append(
                Refusal(
                    check=Check.MISSING_MIGRATION,
                    migration=None,
                    operation=f"app {app_label}: {', '.join(described)}",
                    reason=f"the models of app {app_label} have changes that no migration contains",
                    fix=f"run 'manage.py makemigrations {app_label}' and ship the new migration with the release",
                )
            )
    return refusals


def pre_targets(plan: AliasPlan) -> list[tuple[str, str]]:
    """The PRE migrations no other PRE migration depends on: migrating to each applies exactly the PRE set.

    The PRE set is closed under dependencies (anything depending on a POST migration is POST), so
    Django's plan to each target contains only PRE migrations.
    """
    pre = {m.key for m in plan.stage(Stage.PRE)}
    nodes = plan.graph.node_map
    return [m.key for m in plan.stage(Stage.PRE) if not any(child.key in pre for child in nodes[m.key].children)]


# Applying --------------------------------------------------------------------------------------


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind an exception (psycopg 3 or psycopg2), following its causes."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        if code:
            return code
        exc = exc.__cause__ or exc.__context__
    return None


def install_lock_timeout(aliases: list[str], seconds: float) -> None:
    """Set lock_timeout on every connection of these aliases, also after a reconnect."""
    milliseconds = max(0, round(seconds * 1000))

    def apply(connection) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {int(milliseconds)}")

    def on_connect(sender, connection, **kwargs) -> None:
        if connection.alias in aliases:
            apply(connection)

    connection_created.connect(on_connect, weak=False, dispatch_uid="djangoops_django_migrate_lock_timeout")
    for alias in aliases:
        if connections[alias].connection is not None:
            apply(connections[alias])


def applied_keys(alias: str) -> set[tuple[str, str]]:
    return set(MigrationLoader(connections[alias]).applied_migrations)


def with_retries(action, policy: RetryPolicy, attempts: list[dict], what: str):
    """Run action(); retry it per the policy when PostgreSQL gave up waiting for a lock."""
    for attempt in range(policy.retries + 1):
        started = time.monotonic()
        try:
            return action()
        except Exception as exc:
            code = sqlstate(exc)
            attempts.append(
                {
                    "action": what,
                    "attempt": attempt + 1,
                    "seconds": round(time.monotonic() - started, 3),
                    "sqlstate": code,
                    "error": str(exc).strip(),
                }
            )
            if code not in RETRYABLE_SQLSTATES or attempt == policy.retries:
                raise
            time.sleep(policy.pause(attempt))
    return None  # not reached: the last attempt returns or raises


def column_needs_relaxing(alias: str, table: str, column: str) -> bool:
    """True when the column exists, is NOT NULL and has no database default (PostgreSQL only)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attnotnull, ad.adbin IS NOT NULL FROM pg_attribute a "
            "LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
            "WHERE a.attrelid = to_regclass(%s) AND a.attname = %s AND a.attnum > 0 AND NOT a.attisdropped",
            [connection.ops.quote_name(table), column],
        )
        row = cursor.fetchone()
    return bool(row and row[0] and not row[1])


def relax_column(alias: str, table: str, column: str) -> None:
    connection = connections[alias]
    quote = connection.ops.quote_name
    with connection.schema_editor(atomic=True) as editor:
        editor.execute(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} DROP NOT NULL")


def migrate(alias: str, target: tuple[str, str] | None, output: io.StringIO) -> None:
    """Django's own migrate command: the signals (content types, permissions) fire as usual."""
    args = list(target) if target else []
    call_command(
        "migrate", *args, database=alias, interactive=False, verbosity=0, skip_checks=True, stdout=output, stderr=output
    )


# The run ---------------------------------------------------------------------------------------


def pending_relaxations(alias: str, plan: AliasPlan) -> list[Relaxation]:
    """Columns that POST migrations drop and that are still NOT NULL without a default in the database."""
    return [
        relaxation
        for migration in plan.stage(Stage.POST)
        for relaxation in migration.relaxations
        if column_needs_relaxing(alias, relaxation.table, relaxation.column)
    ]


def _alias_result(plan: AliasPlan, phase: Phase, relax: list[Relaxation]) -> dict:
    post = [{"migration": m.label, "reason": "; ".join(m.reasons)} for m in plan.stage(Stage.POST)]
    return {
        "first_install": plan.first_install,
        "plan": {
            "pre": [m.label for m in plan.stage(Stage.PRE)],
            "post": post,
            "relax": [r.as_dict() for r in relax],
        },
        "applied": [],
        "recorded": [],
        "deferred": post if phase in (Phase.PRE, Phase.CHECK) else [],
        "relaxed": [],
        "refused": [],
        "attempts": [],
    }


def failure_message(alias: str, exc: Exception, alias_result: dict, lock_timeout: float) -> str:
    attempts = alias_result["attempts"]
    what = alias_result.get("failed") or (attempts[-1]["action"] if attempts else "migrate")
    error = " ".join(str(exc).split())
    if sqlstate(exc) in RETRYABLE_SQLSTATES:
        message = (
            f"{alias}: {what}: a lock was not granted within lock_timeout={lock_timeout}s in {len(attempts)} "
            f"attempt(s) ({error}); that migration was rolled back, the database keeps its previous schema"
        )
    else:
        message = f"{alias}: {what}: {type(exc).__name__}: {error}"
    if alias_result["applied"] or alias_result["recorded"]:
        message += f"; applied before the failure: {', '.join(alias_result['applied'] + alias_result['recorded'])}"
    return message


def _changed(results: dict) -> bool:
    return any(r["applied"] or r["recorded"] or r["relaxed"] for r in results.values())


def run(
    phase: Phase,
    databases: list[str],
    lock_timeout: float,
    policy: RetryPolicy,
    check_mode: bool,
    output: io.StringIO,
) -> dict:
    """Plan every alias, refuse before touching anything, then apply. Raises MigrateError on failure."""
    unknown = [alias for alias in databases if alias not in connections.settings]
    if unknown:
        raise MigrateError(
            f"databases {', '.join(unknown)} not in settings.DATABASES ({', '.join(connections.settings)})",
            {"changed": False, "phase": str(phase), "databases": {}},
        )
    install_lock_timeout(databases, lock_timeout)

    plans = {alias: plan_alias(alias) for alias in databases}
    relax = {
        alias: pending_relaxations(alias, plan) if phase in (Phase.PRE, Phase.CHECK) else []
        for alias, plan in plans.items()
    }
    results = {alias: _alias_result(plan, phase, relax[alias]) for alias, plan in plans.items()}
    result = {"changed": False, "phase": str(phase), "lock_timeout": lock_timeout, "databases": results}

    refused = project_refusals()
    for alias, plan in plans.items():
        alias_refusals = plan.refusals if phase is not Phase.POST else []
        results[alias]["refused"] = [r.as_dict() for r in [*refused, *alias_refusals]]
    refused += [r for alias, plan in plans.items() if phase is not Phase.POST for r in plan.refusals]
    result["refused"] = [r.as_dict() for r in refused]
    if refused:
        lines = "\n".join(f"  {r}" for r in refused)
        raise MigrateError(f"refused {len(refused)} problem(s); nothing was changed in any database:\n{lines}", result)
    if phase is Phase.CHECK:
        return result

    for alias, plan in plans.items():
        to_apply = plan.stage(Stage.PRE) if phase is Phase.PRE else plan.migrations
        if check_mode:
            results[alias]["applied"] = [m.label for m in to_apply if m.routed]
            results[alias]["recorded"] = [m.label for m in to_apply if not m.routed]
            results[alias]["relaxed"] = [r.as_dict() for r in relax[alias]]
            continue
        try:
            _apply(alias, plan, phase, to_apply, policy, results[alias], output)
        except Exception as exc:
            result["changed"] = _changed(results)
            raise MigrateError(failure_message(alias, exc, results[alias], lock_timeout), result) from exc
    result["changed"] = _changed(results)
    return result


def _apply(alias, plan, phase, to_apply, policy, alias_result, output) -> None:
    by_key = {m.key: m for m in to_apply}
    before = applied_keys(alias)
    attempts = alias_result["attempts"]

    failing = True
    try:
        if phase is Phase.PRE and not plan.first_install:
            for target in pre_targets(plan):
                what = f"migrate to {label(target)}"
                with_retries(lambda t=target: migrate(alias, t, output), policy, attempts, what)
        elif to_apply:
            with_retries(lambda: migrate(alias, None, output), policy, attempts, "migrate all pending")
        failing = False
    finally:
        now = applied_keys(alias)
        done = [key for key in by_key if key in now and key not in before]
        alias_result["applied"] = [label(k) for k in done if by_key[k].routed]
        alias_result["recorded"] = [label(k) for k in done if not by_key[k].routed]
        missing = [label(key) for key in by_key if key not in now]
        if failing and missing:
            alias_result["failed"] = missing[0]  # Django applies in plan order: the first one left failed
    if phase is not Phase.PRE:
        return
    # Recomputed now: the pre migrations just applied may have created a column a post one drops.
    for relaxation in pending_relaxations(alias, plan):
        what = f"relax {relaxation.table}.{relaxation.column}"
        with_retries(lambda r=relaxation: relax_column(alias, r.table, r.column), policy, attempts, what)
        alias_result["relaxed"].append(relaxation.as_dict())


# The schema a release needs (the rollback's check) -----------------------------------------------


def schema_gaps(alias: str) -> dict:
    """What this code's models need from the database and it lacks (tables, columns), and the
    migrations recorded there that this code does not know, with the migrations to reverse to."""
    connection = connections[alias]
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    missing_tables, missing_columns = [], []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for model in django_apps.get_models(include_auto_created=True):
            meta = model._meta
            if not meta.managed or meta.proxy or meta.swapped or not router.allow_migrate_model(alias, model):
                continue
            if meta.db_table not in tables:
                missing_tables.append(meta.db_table)
                continue
            columns = {column.name for column in connection.introspection.get_table_description(cursor, meta.db_table)}
            missing_columns += [
                f"{meta.db_table}.{fld.column}" for fld in meta.local_concrete_fields if fld.column not in columns
            ]
    unknown = sorted(
        key for key in loader.applied_migrations if key[0] in loader.migrated_apps and key not in loader.disk_migrations
    )
    reverse_to = sorted(
        f"{app}:{name}" for app in {key[0] for key in unknown} for (_app, name) in loader.graph.leaf_nodes(app)
    )
    return {
        "missing_tables": sorted(set(missing_tables)),
        "missing_columns": sorted(set(missing_columns)),
        "unknown_migrations": [label(key) for key in unknown],
        "reverse_to": reverse_to,
        "relaxed": [],
    }


def schema_run(databases: list[str], relax: list[str], check_mode: bool) -> dict:
    """Phase schema: every alias checked; the columns named in `relax` (table.column: columns a
    reversal just put back for the code being returned to) made nullable when they are NOT NULL
    without a database default, so that the release still running keeps inserting rows while the
    hosts switch. Raises MigrateError naming what is missing and the fix."""
    unknown = [alias for alias in databases if alias not in connections.settings]
    if unknown:
        raise MigrateError(
            f"databases {', '.join(unknown)} not in settings.DATABASES ({', '.join(connections.settings)})",
            {"changed": False, "phase": "schema", "databases": {}},
        )
    results = {alias: schema_gaps(alias) for alias in databases}
    for alias, gaps in results.items():
        for name in relax:
            table, _dot, column = name.partition(".")
            if f"{table}.{column}" in gaps["missing_columns"] or not column_needs_relaxing(alias, table, column):
                continue
            if not check_mode:
                relax_column(alias, table, column)
            gaps["relaxed"].append({"table": table, "column": column})
    result = {
        "changed": any(gaps["relaxed"] for gaps in results.values()),
        "phase": "schema",
        "databases": results,
        "refused": [],
    }
    problems = []
    for alias, gaps in results.items():
        missing = [f"table {t}" for t in gaps["missing_tables"]] + [f"column {c}" for c in gaps["missing_columns"]]
        if not missing:
            continue
        line = f"{alias}: this code's models need {', '.join(missing)}, which the database lacks"
        if gaps["unknown_migrations"]:
            line += (
                f" (the database has migrations this code does not know: {', '.join(gaps['unknown_migrations'])};"
                f" reversing them to {', '.join(gaps['reverse_to'])} with the code that has them"
                " puts back what they removed)"
            )
        problems.append(line)
    if problems:
        raise MigrateError("; ".join(problems), result)
    return result


# Reversing migrations before a rollback switches hosts ---------------------------------------------


def removed_by_reversal(operation) -> bool:
    """Reversed while the release being left still serves, these take away what that release reads."""
    return isinstance(operation, (ops.AddField, ops.CreateModel, ops.RenameField, ops.RenameModel, ops.AlterModelTable))


def reversal_plan(alias: str, targets: list[str]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """-> (target keys, migrations the reversal unapplies in order, what it would take away from the code
    still serving). A target is `app:migration` (a prefix, as for manage.py migrate) or `app:zero`."""
    executor = MigrationExecutor(connections[alias])
    keys = []
    for target in targets:
        app, _colon, name = target.partition(":")
        if name == "zero":
            keys.append((app, None))
            continue
        try:
            keys.append((app, executor.loader.get_migration_by_prefix(app, name).name))
        except (KeyError, ValueError) as exc:
            raise MigrateError(
                f"{alias}: cannot reverse to {target}: {exc}", {"changed": False, "phase": "reverse", "databases": {}}
            ) from exc
    plan = executor.migration_plan(keys)
    forwards = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
    if forwards:
        raise MigrateError(
            f"{alias}: {', '.join(targets)} is ahead of the database: migrating there would apply "
            f"{', '.join(forwards)}, not reverse anything",
            {"changed": False, "phase": "reverse", "databases": {}},
        )
    unapplied = [f"{m.app_label}.{m.name}" for m, _backwards in plan]
    taken = [
        f"{m.app_label}.{m.name} ({describe(op)})"
        for m, _backwards in plan
        for op in m.operations
        if removed_by_reversal(op)
    ]
    return keys, unapplied, taken


def reverse_run(
    databases: list[str], targets: list[str], lock_timeout: float, policy: RetryPolicy, check_mode: bool, output
) -> dict:
    """Phase reverse: unapply migrations down to each target, refusing (before any change) a reversal that
    would take away a column, table or name that the code still serving reads: reversing a migration that
    removed something puts it back (safe while the new code serves), reversing one that added or renamed
    something is not."""
    missing = [alias for alias in databases if alias not in connections.settings]
    if missing:
        raise MigrateError(
            f"databases {', '.join(missing)} not in settings.DATABASES ({', '.join(connections.settings)})",
            {"changed": False, "phase": "reverse", "databases": {}},
        )
    install_lock_timeout(databases, lock_timeout)
    plans = {alias: reversal_plan(alias, targets) for alias in databases}
    results = {
        alias: {"reversed": [], "would_reverse": unapplied, "takes_away": taken, "attempts": []}
        for alias, (_keys, unapplied, taken) in plans.items()
    }
    result = {"changed": False, "phase": "reverse", "lock_timeout": lock_timeout, "databases": results, "refused": []}
    problems = [f"{alias}: {', '.join(taken)}" for alias, (_keys, _unapplied, taken) in plans.items() if taken]
    if problems:
        raise MigrateError(
            "refused: reversing these migrations takes away what they added or renamed while the release being left "
            f"still serves and reads it: {'; '.join(problems)}. Reverse only migrations that removed something (their "
            "reversal puts it back); roll back one release at a time, or reverse these after the rollback with "
            "manage.yml once no host runs the code that reads them. Nothing was changed.",
            result,
        )
    if check_mode:
        return result
    for alias, (keys, unapplied, _taken) in plans.items():
        before = applied_keys(alias)
        try:
            for key in keys:
                target = key if key[1] is not None else (key[0], "zero")
                what = f"reverse to {target[0]}:{target[1]}"
                try:
                    with_retries(
                        lambda a=alias, t=target: migrate(a, t, output), policy, results[alias]["attempts"], what
                    )
                except Exception as exc:
                    error = " ".join(str(exc).split())
                    raise MigrateError(f"{alias}: {what}: {type(exc).__name__}: {error}", result) from exc
        finally:
            now = applied_keys(alias)
            results[alias]["reversed"] = [m for m in unapplied if tuple(m.split(".", 1)) in before - now]
            result["changed"] = result["changed"] or bool(results[alias]["reversed"])
    return result
