"""What a config key accepts, read from the configs and the code they build, never from a list of keys.

A key's expected type is the annotation of the parameter it feeds: the key's node names a class or
function in `_target_`, and that parameter's annotation (typing.get_type_hints, following **kwargs up
the class's bases) says what it takes. A key no signature describes keeps the type of the value the
experiment gives it, and a number the experiment gives as >= 0 (a size, a rate, a count, a seed)
stays >= 0. `problem` says what is wrong with one value, or nothing.
"""

from __future__ import annotations

import collections.abc as abc
import functools
import inspect
import json
import os
import types
import typing
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf


UNKNOWN = object()  # no annotation to go by
_SEQUENCES = (list, tuple, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Iterable, abc.Collection)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)


def plain(value: Any) -> Any:
    """OmegaConf containers -> Python lists and dicts (unresolved interpolations stay strings)."""
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=False)
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---- annotations --------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _parameter_annotation(target: str, name: str) -> Any:
    """The annotation of `target`'s parameter `name` (following **kwargs into base classes), or UNKNOWN."""
    try:
        obj = get_object(target)
    except Exception:  # an unknown target fails later, when Hydra builds it, with its own message
        return UNKNOWN
    functions = [cls.__dict__["__init__"] for cls in obj.__mro__ if "__init__" in cls.__dict__] \
        if isinstance(obj, type) else [obj]
    for function in functions:
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            return UNKNOWN
        if name in parameters:
            try:
                return typing.get_type_hints(function).get(name, UNKNOWN)
            except Exception:  # a forward reference typing cannot resolve: go by the raw annotation
                raw = parameters[name].annotation
                return UNKNOWN if raw is inspect.Parameter.empty or isinstance(raw, str) else raw
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return UNKNOWN
    return UNKNOWN


def annotation_of(cfg: DictConfig, key: str) -> tuple[Any, str | None]:
    """(annotation, target) for the parameter that `key` feeds, or (UNKNOWN, None)."""
    parent, _, name = key.rpartition(".")
    node = OmegaConf.select(cfg, parent, throw_on_resolution_failure=False) if parent else cfg
    if not isinstance(node, DictConfig) or "_target_" not in node or name.startswith("_"):
        return UNKNOWN, None
    target = str(node._get_node("_target_")._value())
    return _parameter_annotation(target, name), target


def accepts(annotation: Any, value: Any) -> bool:
    """Whether `value` (a plain config value) fits `annotation`; True where the annotation cannot tell."""
    if annotation in (UNKNOWN, inspect.Parameter.empty, Any, object) or isinstance(annotation, typing.TypeVar):
        return True
    if isinstance(value, dict) and "_target_" in value:
        return True  # a node Hydra builds into the object
    if annotation is None or annotation is type(None):
        return value is None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return accepts(args[0], value)
    if origin in (typing.Union, types.UnionType):
        return any(accepts(arg, value) for arg in args)
    if origin is typing.Literal:
        return any(type(arg) is type(value) and arg == value for arg in args)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation in (float, complex):
        return _number(value)
    if annotation is str:
        return isinstance(value, str)
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(args) == len(value) and all(accepts(a, v) for a, v in zip(args, value))
        return not args or all(accepts(args[0], v) for v in value)
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        return isinstance(value, dict)
    if origin is abc.Callable or annotation is abc.Callable:
        return callable(value)
    if origin is type:
        return True
    if isinstance(annotation, type):
        if issubclass(annotation, os.PathLike):
            return isinstance(value, (str, os.PathLike))
        return isinstance(value, annotation)
    return True  # a typing construct not handled here: the target decides


def _flat(annotation: Any) -> list[Any]:
    """The members of a union, nested unions and Literals opened (Literal values kept as Literal[v])."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _flat(args[0])
    if origin in (typing.Union, types.UnionType):
        return [member for arg in args for member in _flat(arg)]
    if origin is typing.Literal:
        return [typing.Literal[arg] for arg in args]
    return [annotation]


def describe(annotation: Any) -> str:
    """`annotation` in words: 'a whole number or null'."""
    members = _flat(annotation)
    literals = [typing.get_args(m)[0] for m in members if typing.get_origin(m) is typing.Literal]
    words = [_word(m) for m in members if typing.get_origin(m) is not typing.Literal and m not in (None, type(None))]
    if "a number" in words:
        words = [w for w in words if w != "a whole number"]
    if literals:
        words.insert(0, "one of " + ", ".join(repr(v) for v in literals))
    if any(m in (None, type(None)) for m in members):
        words.append("null")
    return " or ".join(dict.fromkeys(words))


def _word(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    words = {bool: "true or false", int: "a whole number", float: "a number", complex: "a number", str: "a string"}
    if annotation in words:
        return words[annotation]
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"a list of {len(args)} values ({', '.join(describe(a) for a in args)})"
        return f"a list ({describe(args[0])} each)" if args else "a list"
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        return "a mapping"
    if origin is abc.Callable or annotation is abc.Callable:
        return "a config node with a _target_"
    if isinstance(annotation, type) and issubclass(annotation, os.PathLike):
        return "a path"
    name = getattr(annotation, "__name__", None) or str(annotation)
    if not isinstance(annotation, type):
        return name
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name} object"


# ---- the check ----------------------------------------------------------------------------------

def _like_default(default: Any, value: Any) -> str | None:
    """What `value` should be, going by the type of the experiment's own value; None if it fits."""
    if value is None or default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if isinstance(default, float):
        return None if _number(value) else "a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, (list, tuple)):
        return None if isinstance(value, (list, tuple)) else "a list"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else "a mapping"
    return None


def show(value: Any) -> str:
    """A value as the user would write it on the command line; strings quoted, so 'abc' reads as text."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def problem(key: str, value: Any, default: Any, annotation: Any = UNKNOWN, target: str | None = None) -> str | None:
    """One line saying why `key=value` cannot work, or None. `default` is the experiment's own value."""
    value, default = plain(value), plain(default)
    if isinstance(value, str) and "${" in value:
        return None  # an interpolation: checked once resolved
    if annotation is not UNKNOWN:
        expected = None if accepts(annotation, value) else \
            f"{target} takes {key.rpartition('.')[2]} as {describe(annotation)}"
    else:
        expected = _like_default(default, value)
        expected = expected and f"expected {expected}"
    if expected is None and _number(default) and default >= 0 and _number(value) and value < 0:
        expected = "expected a number >= 0"
    if expected is None:
        return None
    if "a string" in expected and isinstance(value, (int, float, bool)):
        expected += f" (quote it: {key}='{show(value)}')"
    uses = "" if default is None else f" (this experiment uses {show(default)})"
    return f"{key}={show(value)} is not valid: {expected}{uses}"
