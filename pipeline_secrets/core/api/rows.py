"""Model instances from hand-written SELECTs, for the few queries every API call makes.

Building a query with the ORM costs more CPU than running it (about 0.5 ms against 0.05 ms
for a primary-key look-up on SQLite), so the per-request look-ups (token with its user and
membership, the secret's index row) are written once as SQL joining several tables. The
rows come back as ordinary model instances, converted from database values exactly as the
ORM converts them (the same backend and field converters), so they behave like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


class RowLoader(Generic[M]):
    """Selects and loads every concrete column of ``model``."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.fields: list[Field[Any, Any]] = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.width = len(self.fields)
        self.pk_index = self.attnames.index(model._meta.pk.attname)  # type: ignore[union-attr]
        self._converters: dict[str, list[tuple[int, list[Converter], Any]]] = {}

    @property
    def table(self) -> str:
        return connection.ops.quote_name(self.model._meta.db_table)

    def column(self, alias: str, name: str) -> str:
        """``alias.column`` of the field ``name``, quoted."""
        field = self.model._meta.get_field(name)
        return f"{alias}.{connection.ops.quote_name(str(field.column))}"  # type: ignore[union-attr]

    def columns(self, alias: str) -> str:
        """The select list of every concrete column, in ``load``'s order."""
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(f.column)}" for f in self.fields)

    def _converters_for(self) -> list[tuple[int, list[Converter], Any]]:
        found = self._converters.get(connection.vendor)
        if found is None:
            found = []
            for index, field in enumerate(self.fields):
                col = field.get_col(self.model._meta.db_table)
                funcs = [
                    *connection.ops.get_db_converters(col),
                    *col.get_db_converters(connection),
                ]
                if funcs:
                    found.append((index, funcs, col))
            self._converters[connection.vendor] = found
        return found

    def load(self, values: Sequence[Any]) -> M | None:
        """The instance of the columns ``values`` (None when its primary key is NULL: the
        outer side of a LEFT JOIN that found nothing)."""
        if values[self.pk_index] is None:
            return None
        converted = list(values)
        for index, funcs, col in self._converters_for():
            value = converted[index]
            for func in funcs:
                value = func(value, col, connection)
            converted[index] = value
        return self.model.from_db(connection.alias, self.attnames, converted)


_statements: dict[tuple[str, str], str] = {}


def statement(name: str, build: Callable[[], str]) -> str:
    """The SQL text ``build`` makes for this database, built once per database vendor."""
    key = (connection.vendor, name)
    sql = _statements.get(key)
    if sql is None:
        sql = _statements[key] = build()
    return sql


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else tuple(row)


def split(row: Sequence[Any], *loaders: RowLoader[Any]) -> list[Any]:
    """The instances of a joined row, one per loader, in select-list order."""
    found = []
    start = 0
    for loader in loaders:
        found.append(loader.load(row[start : start + loader.width]))
        start += loader.width
    return found


def insert(instance: M) -> M:
    """Save a new ``instance`` with one INSERT (RETURNING its primary key where the database
    can), its values prepared by its fields exactly as ``Model.save`` prepares them. For
    models without save hooks or signal receivers: neither is run."""
    meta = instance._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if f is not pk or getattr(instance, f.attname)]
    quote = connection.ops.quote_name
    sql = statement(
        f"insert:{meta.label}:{len(fields)}",
        lambda: (
            # Identifiers from the model's metadata only; every value is a bound parameter.
            f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        ),
    )
    params = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        if pk in fields:
            cursor.execute(sql, params)
        elif connection.features.can_return_columns_from_insert:
            cursor.execute(f"{sql} RETURNING {quote(pk.column)}", params)
            instance.pk = cursor.fetchone()[0]
        else:
            cursor.execute(sql, params)
            instance.pk = connection.ops.last_insert_id(cursor, meta.db_table, pk.column)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def update(instance: M, *names: str) -> None:
    """Write the fields ``names`` of a saved ``instance`` with one UPDATE by primary key,
    their values prepared as ``Model.save`` prepares them (no save hooks or signals)."""
    meta = instance._meta
    pk = meta.pk
    assert pk is not None
    concrete = {f.name: f for f in meta.concrete_fields}
    fields = [concrete[name] for name in names]
    quote = connection.ops.quote_name
    sql = statement(
        f"update:{meta.label}:{','.join(names)}",
        lambda: (
            # Identifiers from the model's metadata only; every value is a bound parameter.
            f"UPDATE {quote(meta.db_table)} SET "  # noqa: S608
            f"{', '.join(f'{quote(f.column)} = %s' for f in fields)} "
            f"WHERE {quote(pk.column)} = %s"
        ),
    )
    params = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, pk.get_db_prep_value(instance.pk, connection)])
