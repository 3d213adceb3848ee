"""A pickle interpreter that builds only plain data and what a policy allows.

The standard library's ``pickle.Unpickler`` resolves any global the file names and calls
whatever callable ends up under ``REDUCE``; subclassing it and overriding ``find_class``
still leaves ``BUILD`` (``__setstate__`` or ``__dict__`` updates on any object it made),
``APPEND``/``SETITEM`` (``append``/``__setitem__`` methods of any object), ``EXT*`` (the
copyreg extension registry) and ``INST``/``OBJ`` to reason about. This interpreter reads
opcodes with :func:`pickletools.genops` (a parser that executes nothing) and gives each
opcode only these powers:

==================================  =====================================================
opcodes                             what they can do
==================================  =====================================================
numbers, strings, bytes, None,      make that value (Python literals; nothing is looked up)
True/False
EMPTY_*/LIST/TUPLE*/DICT/           make a list, tuple, dict, set or frozenset of values
FROZENSET                           already on the stack
APPEND(S), SETITEM(S), ADDITEMS     add to a list / dict / set made by this interpreter
                                    (exact types; the policy decides for anything else)
MARK, POP, DUP, memo (GET/PUT/...)  move references; nothing is created or called
GLOBAL, STACK_GLOBAL                ``policy.find_global(module, name)``: a value from the
                                    policy's table, never an import
PERSID, BINPERSID                   ``policy.persistent_load(pid)``
REDUCE, NEWOBJ, NEWOBJ_EX           ``policy.reduce`` / ``policy.newobj`` with the value a
                                    GLOBAL produced
BUILD                               ``policy.build(instance, state)``
PROTO, FRAME, STOP                  bookkeeping
INST, OBJ, EXT1/2/4, NEXT_BUFFER,   refused (:class:`UnsafeFileError`): no torch file uses
READONLY_BUFFER, and any unknown    them, and each would reach a class or the copyreg
opcode                              registry without the policy
==================================  =====================================================

Malformed streams (stack underflow, an unhashable key, a truncated opcode) raise
:class:`CheckpointError`. The interpreter is iterative: deep nesting cannot overflow the C
stack, and memory grows linearly with the stream (memo references share objects).
"""

from __future__ import annotations

import pickletools
from collections import Counter, OrderedDict
from typing import IO, Any, Protocol

from ._errors import CheckpointError, UnsafeFileError

__all__ = ["Policy", "run_pickle", "MAX_MEMO"]

#: Memo indices above this are refused (torch files number a few per tensor).
MAX_MEMO = 1 << 31

_DICTS = (dict, OrderedDict, Counter)
_REFUSED = {
    "INST": "INST (a protocol-0 class instantiation)",
    "OBJ": "OBJ (a protocol-1 class instantiation)",
    "EXT1": "EXT1 (the copyreg extension registry)",
    "EXT2": "EXT2 (the copyreg extension registry)",
    "EXT4": "EXT4 (the copyreg extension registry)",
    "NEXT_BUFFER": "NEXT_BUFFER (out-of-band buffers)",
    "READONLY_BUFFER": "READONLY_BUFFER (out-of-band buffers)",
    "PERSID": "PERSID (a text persistent id; torch writes BINPERSID)",
}


class Policy(Protocol):
    """What a GLOBAL resolves to and what REDUCE/NEWOBJ/BUILD may do with it."""

    where: str  # the file (and entry) being read, for messages

    def find_global(self, module: str, name: str) -> Any: ...

    def persistent_load(self, pid: Any) -> Any: ...

    def reduce(self, func: Any, args: Any) -> Any: ...

    def newobj(self, cls: Any, args: Any, kwargs: Any) -> Any: ...

    def build(self, inst: Any, state: Any) -> None: ...

    def extend(self, container: Any, items: list[Any]) -> None:
        """APPEND(S) on something that is not a list made here."""

    def setitems(self, container: Any, items: list[Any]) -> None:
        """SETITEM(S) on something that is not a dict made here (items: k, v, k, v...)."""


class _Mark:
    __slots__ = ()


_MARK = _Mark()


def _pop_mark(stack: list[Any]) -> list[Any]:
    """The items above the topmost mark, removed from the stack with the mark."""
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is _MARK:
            items = stack[i + 1 :]
            del stack[i:]
            return items
    raise IndexError("no MARK on the stack")


def _top(stack: list[Any]) -> Any:
    value = stack[-1]
    if value is _MARK:
        raise IndexError("a MARK where a value was expected")
    return value


def _pop(stack: list[Any]) -> Any:
    value = stack.pop()
    if value is _MARK:
        raise IndexError("a MARK where a value was expected")
    return value


def run_pickle(stream: IO[bytes], policy: Policy) -> Any:
    """Interpret one pickle from ``stream`` (up to its STOP) under ``policy``.

    Raises:
        UnsafeFileError: an opcode or global the policy refuses.
        CheckpointError: the stream is not a well-formed pickle.
    """
    try:
        return _run(stream, policy)
    except (UnsafeFileError, CheckpointError):
        raise
    except RecursionError:
        raise CheckpointError(f"{policy.where}: pickle nested too deeply") from None
    except MemoryError:
        raise CheckpointError(f"{policy.where}: pickle too large to build in memory") from None
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as e:
        raise CheckpointError(
            f"{policy.where}: malformed pickle ({type(e).__name__}: {e})"
        ) from None


def _run(stream: IO[bytes], policy: Policy) -> Any:
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    for op, arg, pos in pickletools.genops(stream):
        name = op.name
        if name in _REFUSED:
            raise UnsafeFileError(
                f"{policy.where}: the pickle uses opcode {_REFUSED[name]} at byte {pos}, "
                "which elman.load refuses (torch.save never writes it)"
            )
        if (
            op.arg is not None
            and name not in ("GLOBAL", "PROTO", "FRAME")
            and not (name.endswith("GET") or name.endswith("PUT"))
        ):
            # every literal: ints, floats, strings, bytes (genops decoded them, nothing ran)
            stack.append(bytearray(arg) if name == "BYTEARRAY8" else arg)
            continue
        if name == "NONE":
            stack.append(None)
        elif name == "NEWTRUE":
            stack.append(True)
        elif name == "NEWFALSE":
            stack.append(False)
        elif name == "MARK":
            stack.append(_MARK)
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name == "EMPTY_DICT":
            stack.append({})
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "EMPTY_SET":
            stack.append(set())
        elif name == "TUPLE1":
            stack.append((_pop(stack),))
        elif name == "TUPLE2":
            b, a = _pop(stack), _pop(stack)
            stack.append((a, b))
        elif name == "TUPLE3":
            c, b, a = _pop(stack), _pop(stack), _pop(stack)
            stack.append((a, b, c))
        elif name == "TUPLE":
            stack.append(tuple(_pop_mark(stack)))
        elif name == "LIST":
            stack.append(_pop_mark(stack))
        elif name == "DICT":
            items = _pop_mark(stack)
            stack.append(_pairs_to_dict(items))
        elif name == "FROZENSET":
            stack.append(frozenset(_pop_mark(stack)))
        elif name in ("APPEND", "APPENDS"):
            items = [_pop(stack)] if name == "APPEND" else _pop_mark(stack)
            target = _top(stack)
            if type(target) is list:
                target.extend(items)
            else:
                policy.extend(target, items)
        elif name in ("SETITEM", "SETITEMS"):
            if name == "SETITEM":
                v, k = _pop(stack), _pop(stack)
                items = [k, v]
            else:
                items = _pop_mark(stack)
            target = _top(stack)
            if type(target) in _DICTS:
                if len(items) % 2:
                    raise IndexError("SETITEMS with an odd number of items")
                for i in range(0, len(items), 2):
                    target[items[i]] = items[i + 1]
            else:
                policy.setitems(target, items)
        elif name == "ADDITEMS":
            items = _pop_mark(stack)
            target = _top(stack)
            if type(target) is not set:
                raise TypeError("ADDITEMS on something that is not a set")
            target.update(items)
        elif name == "POP":
            if stack and stack[-1] is _MARK:
                stack.pop()
            else:
                stack.pop()
        elif name == "POP_MARK":
            _pop_mark(stack)
        elif name == "DUP":
            stack.append(_top(stack))
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            if not 0 <= arg < MAX_MEMO:
                raise ValueError(f"memo index {arg} out of range")
            memo[arg] = _top(stack)
        elif name == "MEMOIZE":
            memo[len(memo)] = _top(stack)
        elif name == "GLOBAL":
            module, _, qualname = arg.partition(" ")
            stack.append(policy.find_global(module, qualname))
        elif name == "STACK_GLOBAL":
            qualname, module = _pop(stack), _pop(stack)
            if type(module) is not str or type(qualname) is not str:
                raise TypeError("STACK_GLOBAL needs two strings")
            stack.append(policy.find_global(module, qualname))
        elif name == "BINPERSID":
            stack.append(policy.persistent_load(_pop(stack)))
        elif name == "REDUCE":
            args = _pop(stack)
            func = _pop(stack)
            if type(args) is not tuple:
                raise TypeError("REDUCE arguments are not a tuple")
            stack.append(policy.reduce(func, args))
        elif name == "NEWOBJ":
            args = _pop(stack)
            cls = _pop(stack)
            if type(args) is not tuple:
                raise TypeError("NEWOBJ arguments are not a tuple")
            stack.append(policy.newobj(cls, args, {}))
        elif name == "NEWOBJ_EX":
            kwargs, args, cls = _pop(stack), _pop(stack), _pop(stack)
            if type(args) is not tuple or type(kwargs) is not dict:
                raise TypeError("NEWOBJ_EX arguments are not a tuple and a dict")
            stack.append(policy.newobj(cls, args, kwargs))
        elif name == "BUILD":
            state = _pop(stack)
            policy.build(_top(stack), state)
        elif name in ("PROTO", "FRAME"):
            pass
        elif name == "STOP":
            result = _pop(stack)
            return result
        else:  # pragma: no cover - every opcode of pickletools is handled above
            raise UnsafeFileError(f"{policy.where}: opcode {name} at byte {pos} is not supported")
    raise ValueError("pickle ended without STOP")


def _pairs_to_dict(items: list[Any]) -> dict[Any, Any]:
    if len(items) % 2:
        raise IndexError("DICT with an odd number of items")
    return {items[i]: items[i + 1] for i in range(0, len(items), 2)}
