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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["fast_init"]

_T = TypeVar("_T")


def fast_init(cls: type[_T]) -> type[_T]:
    """Give the frozen, slotted dataclass ``cls`` a cheap ``__init__`` (see the module)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init needs a frozen, slotted dataclass")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if len(fields) != len(cls.__dataclass_fields__):  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__}: fast_init does not support InitVar or ClassVar fields")
    for field in fields:
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: fast_init supports plain fields only")
    twin = type(
        f"_{cls.__name__}Building",
        (cls,),
        {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": cls.__module__,
        },
    )
    namespace: dict[str, Any] = {
        "_set": object.__setattr__,
        "_cls": cls,
        "_twin": twin,
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
    stores = "".join(f"    self.{name} = {name}\n" for name in arguments)
    post_init = "    self.__post_init__()\n" if hasattr(cls, "__post_init__") else ""
    source = (
        f"def __init__(self, {', '.join(signature)}):\n"
        "    if self.__class__ is not _cls:\n"
        f"        _slow(self, {', '.join(arguments)})\n"
        "        return\n"
        "    _set(self, '__class__', _twin)\n"
        f"{stores}"
        "    self.__class__ = _cls\n"
        f"{post_init}"
    )
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's own field names
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(getattr(cls.__init__, "__annotations__", {}))
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
