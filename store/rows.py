"""The model objects of a joined query's rows, made as peewee's reader makes them, for less.

peewee's reader for a join (`ModelCursorWrapper.process_row`, peewee 4.5.3, pinned) makes each
object through its constructor, then, for every column, calls the field's converter and sets
the value through the field's descriptor. The page of an S11 standard reads one row of 57
columns over six tables on every save, and reading it was most of that query's time: about 50
conversions that return the value they are given (an integer read as an integer, text as text)
and 57 descriptor calls that each put one value in the object's `__data__`.

`JoinRows` works out once, from a reader that has read its first row, which object each column
belongs to and how its value is stored, and then makes the same objects directly: each value
goes into `__data__` (or the object's `__dict__`, for a column no field names), a converter is
called only when the value is not already of the kind it would return, and the joined objects
are linked by peewee's own rules. Anything it does not know to be plain (a field with a
converter of its own, a descriptor other than peewee's field accessors, a model with its own
constructor) is done as peewee does it. tests/store/test_rows.py compares every object with
peewee's, `__data__`, `__rel__`, attributes and dirty fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import (
    Field,
    FieldAccessor,
    ForeignKeyAccessor,
    ForeignKeyField,
    IntegerField,
    Model,
    ModelCursorWrapper,
    _StringField,
)

# how a column's value is stored on its object
IN_DATA, IN_DICT, BY_SETATTR = 0, 1, 2


def _store(model: type[Model], column: str) -> int:
    """What `setattr(instance, column, value)` does on a new instance of `model`."""
    found = next((klass.__dict__[column] for klass in model.__mro__ if column in klass.__dict__), None)
    if found is None:
        return IN_DICT
    if type(found) in (FieldAccessor, ForeignKeyAccessor):  # on a new object: __data__[column] = value
        return IN_DATA
    return BY_SETATTR if hasattr(type(found), "__set__") else IN_DICT


def _converter(converter: Any) -> tuple[Any, type | None, bool]:
    """(the converter, or None when it changes nothing; the type of value it returns as given,
    or None; whether it leaves None as None)."""
    if converter is None:
        return None, None, True
    function, field = getattr(converter, "__func__", None), getattr(converter, "__self__", None)
    if function is ForeignKeyField.python_value:  # a value read from a row is never a model
        return _converter(field.rel_field.python_value)
    if function is Field.python_value:  # None as it is, anything else through the field's adapt
        adapt = type(field).adapt
        if adapt is Field.adapt:
            return None, None, True
        if adapt is IntegerField.adapt:
            return converter, int, True
        if adapt is _StringField.adapt:
            return converter, str, True
        return converter, None, True
    return converter, None, False


@dataclass(frozen=True)
class _Column:
    index: int  # in the row
    owner: int  # which object, in JoinRows.models' order
    store: int  # IN_DATA, IN_DICT or BY_SETATTR
    name: str
    converter: Any
    plain: type | None  # values of exactly this type need no conversion
    none_as_is: bool


@dataclass(frozen=True)
class JoinRows:
    """Makes the objects of a row of one compiled query, as its peewee reader would."""

    models: tuple[type[Model], ...]
    keys: tuple[Any, ...]  # the reader's key for each model (a model or an alias)
    root: int
    columns: tuple[_Column, ...]
    links: tuple[tuple[Any, ...], ...]  # the reader's src_to_dest
    reachable: dict[Any, frozenset[Any]]

    @classmethod
    def of(cls, reader: Any) -> JoinRows | None:
        """From a join's reader that has read a row (initialized); None for any other reader."""
        if type(reader) is not ModelCursorWrapper or not reader.initialized:
            return None
        constructors = reader._constructor_list
        if not all(is_model and model.__init__ is Model.__init__ for _, model, is_model in constructors):
            return None
        keys = tuple(key for key, _, _ in constructors)
        models = tuple(model for _, model, _ in constructors)
        place = {key: i for i, key in enumerate(keys)}
        root = place[reader.model]
        columns = []
        for index, key, name, converter in reader._row_spec:
            owner = place.get(key, root)
            convert, plain, none_as_is = _converter(converter)
            columns.append(_Column(index, owner, _store(models[owner], name), name, convert, plain, none_as_is))
        return cls(models, keys, root, tuple(columns), tuple(reader.src_to_dest), dict(reader._dest_reachable))

    def make(self, row: tuple[Any, ...]) -> Model:
        """The root object of the row, with the joined objects linked as peewee links them."""
        made = []
        for model in self.models:
            instance = model.__new__(model)
            instance.__data__ = {}
            instance._dirty = set()
            instance.__rel__ = {}
            made.append(instance)
        filled = set()
        for column in self.columns:
            value = row[column.index]
            if value is not None:
                filled.add(column.owner)
                if column.converter is not None and type(value) is not column.plain:
                    value = column.converter(value)
            elif not column.none_as_is:
                value = column.converter(value)
            instance = made[column.owner]
            if column.store == IN_DATA:
                instance.__data__[column.name] = value
            elif column.store == IN_DICT:
                instance.__dict__[column.name] = value
            else:
                setattr(instance, column.name, value)
        self._link(dict(zip(self.keys, made, strict=True)), {self.keys[i] for i in filled})
        for instance in made:
            instance._dirty.clear()
        return made[self.root]

    def _link(self, objects: dict[Any, Model], set_keys: set[Any]) -> None:
        """Each joined object on its source, or None for an outer join that found nothing:
        ModelCursorWrapper.process_row's rules, step for step."""
        for src, attr, dest, is_dict, is_outer, is_fk in self.links:
            instance = objects.get(src)
            joined = objects.get(dest)
            if joined is None and dest not in objects:
                continue
            assign = dest not in set_keys and dest in self.reachable and bool(self.reachable[dest] & set_keys)
            if dest not in set_keys and not assign:
                if is_outer:
                    joined = None
                else:
                    continue
            if src not in set_keys and dest not in set_keys and is_outer:
                continue
            if is_dict:
                instance[attr] = joined  # type: ignore[index]
            elif is_fk and joined is None:
                instance.__rel__[attr] = None
            else:
                setattr(instance, attr, joined)
