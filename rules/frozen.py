"""Cheap construction for the frozen, slotted dataclasses of the patient model.

A frozen dataclass's generated ``__init__`` stores each field with ``object.__setattr__`` (the
class's own ``__setattr__`` raises): about 1.5 k machine instructions per field, ~21 k for a
14-field :class:`rules.facts.TherapyExposure`, built once per order of every call.

:func:`fast_init` replaces that ``__init__`` with one that, for the duration of the
constructor only, gives the instance a twin class: a subclass of the dataclass that adds no
slot and keeps ``object``'s ``__setattr__``, so each field is a plain slot store (CPython
allows ``__class__`` assignment between classes of the same layout). The instance leaves the
constructor as an instance of the dataclass itself, so what users see does not change:
assignment and deletion still raise :class:`dataclasses.FrozenInstanceError`; ``__eq__``,
``__hash__``, ``__repr__``, ``fields``, ``replace`` and ordering are the dataclass's own, and
the signature (names, order, defaults) is the same. ``__post_init__`` runs last, as before.
Measured with callgrind on a 14-field class: ~21 k -> ~5 k instructions per construction.

Only plain fields are supported (no ``default_factory``, ``InitVar``, keyword-only fields or
``init=False`` fields): anything else is refused when the class is decorated. A subclass of a
decorated class is built by the dataclass's original ``__init__``.

:func:`builder` goes one step further for a construction on a hot path: a plain function that
takes every field positionally and builds the instance through the twin without the class
call (``type.__call__``, ``__init__`` reached through the slot wrapper): ~5.4 k -> ~3.4 k
instructions for a :class:`rules.facts.TherapyExposure`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["builder", "expect_fields", "fast_init", "twin"]

_T = TypeVar("_T")


def _plain_fields(cls: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    """The fields of the frozen, slotted dataclass ``cls``, refused unless all are plain."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init needs a frozen, slotted dataclass")
    fields = dataclasses.fields(cls)
    if len(fields) != len(cls.__dataclass_fields__):
        raise TypeError(f"{cls.__name__}: fast_init does not support InitVar or ClassVar fields")
    for field in fields:
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: fast_init supports plain fields only")
    return fields


#: The twin of each class (:func:`twin`), made once: fast_init, builder and rules.values share it.
_TWINS: dict[type[Any], type[Any]] = {}


def twin(cls: type[Any]) -> type[Any]:
    """A subclass of ``cls`` with no slot of its own and ``object``'s ``__setattr__`` (one per
    class): an instance built as this twin stores its fields as plain slots, then takes
    ``cls`` as its class (see the module)."""
    made = _TWINS.get(cls)
    if made is None:
        made = _TWINS[cls] = type(
            f"_{cls.__name__}Building",
            (cls,),
            {
                "__slots__": (),
                "__setattr__": object.__setattr__,
                "__delattr__": object.__delattr__,
                "__module__": cls.__module__,
            },
        )
    return made


def expect_fields(cls: type[Any], names: Sequence[str], user: str) -> None:
    """Stop the import of ``user`` unless the dataclass ``cls``'s fields are ``names``, in this
    order: for a caller that builds ``cls`` with positional arguments, so that a field added or
    moved fails loudly instead of shifting a value."""
    if tuple(field.name for field in dataclasses.fields(cls)) != tuple(names):
        raise ImportError(f"{cls.__name__}'s fields changed: update {user}")


def _stores(cls: type[Any], names: list[str]) -> str:
    """The generated lines that store each field on ``self`` (an instance of the twin), give it
    back its class, then run ``__post_init__`` when the class has one."""
    stores = "".join(f"    self.{name} = {name}\n" for name in names)
    post_init = "    self.__post_init__()\n" if hasattr(cls, "__post_init__") else ""
    return f"{stores}    self.__class__ = _cls\n{post_init}"


def builder(cls: type[_T]) -> Callable[..., _T]:
    """A function ``build(*values)`` answering what ``cls(*values)`` answers, for the frozen,
    slotted dataclass ``cls`` with plain fields: every field's value positionally, in field
    order (no defaults); ``__post_init__`` runs last when the class has one (see the module)."""
    fields = _plain_fields(cls)
    names = [field.name for field in fields]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_twin": twin(cls)}
    source = (
        f"def build({', '.join(names)}):\n"
        "    self = _new(_twin)\n"
        f"{_stores(cls, names)}"
        "    return self\n"
    )
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's own field names
    build: Callable[..., _T] = namespace["build"]
    build.__qualname__ = build.__name__ = f"build_{cls.__name__}"
    build.__module__ = cls.__module__
    return build


def fast_init(cls: type[_T]) -> type[_T]:
    """Give the frozen, slotted dataclass ``cls`` a cheap ``__init__`` (see the module)."""
    fields = _plain_fields(cls)
    namespace: dict[str, Any] = {
        "_set": object.__setattr__,
        "_cls": cls,
        "_twin": twin(cls),
        "_slow": cls.__init__,
    }
    signature, arguments = [], []
    for field in fields:
        arguments.append(field.name)
        if field.default is dataclasses.MISSING:
            signature.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            signature.append(f"{field.name}=_default_{field.name}")
    source = (
        f"def __init__(self, {', '.join(signature)}):\n"
        "    if self.__class__ is not _cls:\n"
        f"        _slow(self, {', '.join(arguments)})\n"
        "        return\n"
        "    _set(self, '__class__', _twin)\n"
        f"{_stores(cls, arguments)}"
    )
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's own field names
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(getattr(cls.__init__, "__annotations__", {}))
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
