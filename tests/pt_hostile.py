"""Hostile ``.pt`` files: pickles and zips built by hand to make a loader run code, read
outside its buffers or allocate without bound. Used by tests/io/test_pt_hostile.py and the
mutation campaign. Every payload that could run code tries to create ``sentinel``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

PROTO = b"\x80\x02"
STOP = b"."
MARK = b"("
TUPLE = b"t"
REDUCE = b"R"
EMPTY_TUPLE = b")"
EMPTY_DICT = b"}"
EMPTY_LIST = b"]"
BUILD = b"b"
NEWOBJ = b"\x81"
BINPERSID = b"Q"
SETITEM = b"s"
APPEND = b"a"
NONE = b"N"
FALSE = b"\x89"
TRUE = b"\x88"


def G(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def S(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def I(n: int) -> bytes:  # noqa: E743 - an opcode builder, named like the others
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    data = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def T(*parts: bytes) -> bytes:
    return MARK + b"".join(parts) + TUPLE


def call(module: str, name: str, *args: bytes) -> bytes:
    return G(module, name) + T(*args) + REDUCE


def pickle_of(body: bytes) -> bytes:
    return PROTO + body + STOP


def storage_pid(cls: bytes, key: str = "0", numel: int = 4, location: str = "cpu") -> bytes:
    return T(S("storage"), cls, S(key), S(location), I(numel)) + BINPERSID


def tensor(pid: bytes, offset: int = 0, size: tuple = (4,), stride: tuple = (1,)) -> bytes:
    return call(
        "torch._utils",
        "_rebuild_tensor_v2",
        pid,
        I(offset),
        T(*(I(n) for n in size)),
        T(*(I(n) for n in stride)),
        FALSE,
        call("collections", "OrderedDict"),
    )


def torch_zip(
    pkl: bytes,
    storages: dict[str, bytes] | None = None,
    folder: str = "archive",
    names: dict[str, str] | None = None,
    compress: int = zipfile.ZIP_STORED,
) -> bytes:
    """A zip laid out as torch.save lays it out (entry names overridable)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        entries = {f"{folder}/data.pkl": pkl, f"{folder}/byteorder": b"little"}
        for key, data in (storages or {}).items():
            entries[f"{folder}/data/{key}"] = data
        entries[f"{folder}/version"] = b"3\n"
        for name, data in entries.items():
            zf.writestr((names or {}).get(name, name), data)
    return buf.getvalue()


def legacy(obj_pickle: bytes, sys_info: bytes | None = None, keys: bytes | None = None) -> bytes:
    magic = pickle_of(I(0x1950A86A20F9469CFC6C))
    proto = pickle_of(I(1001))
    info = sys_info or pickle_of(EMPTY_DICT + S("little_endian") + TRUE + SETITEM)
    return magic + proto + info + obj_pickle + (keys or pickle_of(EMPTY_LIST))


def _shell(sentinel: str) -> str:
    return f"touch {sentinel}"


def _py(sentinel: str) -> str:
    return f"open({sentinel!r}, 'w').close()"


#: name -> (builder(sentinel) -> file bytes, "unsafe" | "corrupt", regex of the message)
Case = tuple[Callable[[str], bytes], str, str]


def _zip(body: Callable[[str], bytes]) -> Callable[[str], bytes]:
    return lambda s: torch_zip(pickle_of(body(s)))


CASES: dict[str, Case] = {
    "os.system": (_zip(lambda s: call("os", "system", S(_shell(s)))), "unsafe", "os.system"),
    "posix.system": (_zip(lambda s: call("posix", "system", S(_shell(s)))), "unsafe", "posix"),
    "nt.system": (_zip(lambda s: call("nt", "system", S(_shell(s)))), "unsafe", "nt.system"),
    "subprocess.call": (
        _zip(lambda s: call("subprocess", "call", T(S("touch"), S(s)))),
        "unsafe",
        "subprocess",
    ),
    "subprocess.Popen": (
        _zip(lambda s: call("subprocess", "Popen", T(S("touch"), S(s)))),
        "unsafe",
        "subprocess.Popen",
    ),
    "builtins.eval": (_zip(lambda s: call("builtins", "eval", S(_py(s)))), "unsafe", "eval"),
    "__builtin__.eval": (_zip(lambda s: call("__builtin__", "eval", S(_py(s)))), "unsafe", "eval"),
    "builtins.exec": (_zip(lambda s: call("builtins", "exec", S(_py(s)))), "unsafe", "exec"),
    "builtins.open": (
        _zip(lambda s: call("builtins", "open", S(s), S("w"))),
        "unsafe",
        "builtins.open",
    ),
    "builtins.__import__": (
        _zip(
            lambda s: call(
                "builtins", "getattr", call("builtins", "__import__", S("os")), S("system")
            )
        ),
        "unsafe",
        "getattr",
    ),
    "builtins.getattr on an allowlisted class": (
        _zip(lambda s: call("builtins", "getattr", G("collections", "OrderedDict"), S("fromkeys"))),
        "unsafe",
        "getattr",
    ),
    "STACK_GLOBAL os.system (protocol 4)": (
        lambda s: torch_zip(
            b"\x80\x04" + S("os") + S("system") + b"\x93" + T(S(_shell(s))) + REDUCE + STOP
        ),
        "unsafe",
        "os.system",
    ),
    "INST os.system (protocol 0)": (
        lambda s: torch_zip(b"(" + S(_shell(s)) + b"ios\nsystem\n."),
        "unsafe",
        "INST",
    ),
    "OBJ with a class": (
        lambda s: torch_zip(PROTO + MARK + G("os", "system") + S(_shell(s)) + b"o" + STOP),
        "unsafe",
        "os.system",
    ),
    "EXT1 extension registry": (lambda s: torch_zip(PROTO + b"\x82\x01" + STOP), "unsafe", "EXT1"),
    "runpy.run_path": (_zip(lambda s: call("runpy", "run_path", S(s))), "unsafe", "runpy"),
    "importlib.import_module": (
        _zip(lambda s: call("importlib", "import_module", S("os"))),
        "unsafe",
        "importlib",
    ),
    "pickle.loads nested": (
        _zip(
            lambda s: call(
                "pickle",
                "loads",
                call("_codecs", "encode", S(f"cos\nsystem\n(V{_shell(s)}\ntR."), S("latin1")),
            )
        ),
        "unsafe",
        "pickle.loads",
    ),
    "functools.partial": (
        _zip(lambda s: call("functools", "partial", G("os", "system"), S(_shell(s)))),
        "unsafe",
        "functools",
    ),
    "REDUCE on a value made by an allowlisted callable": (
        _zip(lambda s: call("collections", "OrderedDict") + T(S(_shell(s))) + REDUCE),
        "unsafe",
        "not a callable of the allowlist",
    ),
    "REDUCE on a dtype value": (
        _zip(lambda s: G("torch", "float32") + T(S(s)) + REDUCE),
        "unsafe",
        "REDUCE on",
    ),
    "nested REDUCE: rebuild_from_type_v2 with OrderedDict": (
        _zip(
            lambda s: call(
                "torch._tensor",
                "_rebuild_from_type_v2",
                G("collections", "OrderedDict"),
                G("torch", "Tensor"),
                EMPTY_TUPLE,
                EMPTY_DICT,
            )
        ),
        "unsafe",
        "only torch tensors",
    ),
    "NEWOBJ of a rebuild function": (
        _zip(lambda s: G("torch._utils", "_rebuild_tensor_v2") + EMPTY_TUPLE + NEWOBJ),
        "unsafe",
        "NEWOBJ",
    ),
    "BUILD sets __class__ on an OrderedDict": (
        _zip(
            lambda s: (
                call("collections", "OrderedDict")
                + EMPTY_DICT
                + S("__class__")
                + G("collections", "OrderedDict")
                + SETITEM
                + BUILD
            )
        ),
        "unsafe",
        "__class__",
    ),
    "BUILD on a plain dict": (
        _zip(lambda s: EMPTY_DICT + EMPTY_DICT + S("x") + I(1) + SETITEM + BUILD),
        "unsafe",
        "BUILD",
    ),
    "APPEND to a tensor-like tuple (torch.Size)": (
        _zip(lambda s: call("torch", "Size", T(I(1))) + I(2) + APPEND),
        "unsafe",
        "APPEND",
    ),
    "SETITEM on a Size": (
        _zip(lambda s: call("torch", "Size", T(I(1))) + I(0) + I(2) + SETITEM),
        "unsafe",
        "SETITEM",
    ),
    "global hidden in a persistent id": (
        _zip(
            lambda s: tensor(
                T(S("storage"), call("os", "system", S(_shell(s))), S("0"), S("cpu"), I(4))
                + BINPERSID
            )
        ),
        "unsafe",
        "os.system",
    ),
    "allowlisted class where a storage class belongs": (
        lambda s: torch_zip(
            pickle_of(tensor(storage_pid(G("collections", "OrderedDict")))), {"0": b"\0" * 16}
        ),
        "unsafe",
        "where a storage class belongs",
    ),
    "persistent id that is not a storage": (
        _zip(lambda s: T(S("module"), G("collections", "OrderedDict"), S("x"), S("y")) + BINPERSID),
        "unsafe",
        "not a storage reference",
    ),
    "text persistent id (PERSID)": (
        lambda s: torch_zip(PROTO + b"P" + s.encode() + b"\n" + STOP),
        "unsafe",
        "PERSID",
    ),
    "rebuild_parameter_with_state sets _data": (
        lambda s: torch_zip(
            pickle_of(
                call(
                    "torch._utils",
                    "_rebuild_parameter_with_state",
                    tensor(storage_pid(G("torch", "FloatStorage"))),
                    TRUE,
                    call("collections", "OrderedDict"),
                    EMPTY_DICT + S("_data") + I(1) + SETITEM,
                )
            ),
            {"0": b"\0" * 16},
        ),
        "unsafe",
        "Python attributes",
    ),
    "whole pickled torch module": (
        _zip(
            lambda s: G("torch.nn.modules.rnn", "RNN") + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + BUILD
        ),
        "unsafe",
        "whole pickled module",
    ),
    "user class with a __reduce__ payload": (
        _zip(lambda s: G("__main__", "Evil") + EMPTY_TUPLE + NEWOBJ),
        "unsafe",
        "__main__.Evil",
    ),
    "legacy format: os.system in the object": (
        lambda s: legacy(pickle_of(call("os", "system", S(_shell(s))))),
        "unsafe",
        "os.system",
    ),
    "legacy format: os.system in the system info": (
        lambda s: legacy(
            pickle_of(EMPTY_DICT), sys_info=pickle_of(call("os", "system", S(_shell(s))))
        ),
        "unsafe",
        "os.system",
    ),
    "path traversal: ../../data.pkl": (
        lambda s: torch_zip(pickle_of(EMPTY_DICT), names={"archive/version": "../../evil"}),
        "unsafe",
        "escape",
    ),
    "path traversal: absolute name": (
        lambda s: torch_zip(pickle_of(EMPTY_DICT), names={"archive/version": "/tmp/evil"}),
        "unsafe",
        "escape",
    ),
    "path traversal: backslashes": (
        lambda s: torch_zip(pickle_of(EMPTY_DICT), names={"archive/version": "..\\..\\evil"}),
        "unsafe",
        "escape",
    ),
    "zip bomb: a deflated data.pkl of 64 MiB": (
        lambda s: _bomb(),
        "corrupt",
        "compressed",
    ),
    "oversized storage (2**60 elements)": (
        lambda s: torch_zip(
            pickle_of(tensor(storage_pid(G("torch", "FloatStorage"), numel=2**60))),
            {"0": b"\0" * 16},
        ),
        "corrupt",
        "holds 16 bytes",
    ),
    "negative storage size": (
        lambda s: torch_zip(
            pickle_of(tensor(storage_pid(G("torch", "FloatStorage"), numel=-4))), {"0": b"\0" * 16}
        ),
        "corrupt",
        "malformed storage reference",
    ),
    "negative tensor size": (
        lambda s: torch_zip(
            pickle_of(tensor(storage_pid(G("torch", "FloatStorage")), size=(-4,))),
            {"0": b"\0" * 16},
        ),
        "corrupt",
        "negative",
    ),
    "oversized tensor (2**70 elements)": (
        lambda s: torch_zip(
            pickle_of(
                tensor(storage_pid(G("torch", "FloatStorage")), size=(2**35, 2**35), stride=(0, 0))
            ),
            {"0": b"\0" * 16},
        ),
        "corrupt",
        "too large",
    ),
    "stride outside the storage": (
        lambda s: torch_zip(
            pickle_of(tensor(storage_pid(G("torch", "FloatStorage")), size=(2, 2), stride=(3, 1))),
            {"0": b"\0" * 16},
        ),
        "corrupt",
        "outside its storage",
    ),
    "offset outside the storage": (
        lambda s: torch_zip(
            pickle_of(tensor(storage_pid(G("torch", "FloatStorage")), offset=9, size=(0,))),
            {"0": b"\0" * 16},
        ),
        "corrupt",
        "past the end",
    ),
    "entry longer than the file": (lambda s: _lying_size(), "corrupt", "truncated|readable"),
    "duplicate entry names": (lambda s: _duplicate(), "corrupt", "appears twice"),
    "storage key escaping the folder": (
        lambda s: torch_zip(
            pickle_of(tensor(storage_pid(G("torch", "FloatStorage"), key="../../etc/passwd")))
        ),
        "corrupt",
        "malformed storage reference",
    ),
}


def _bomb() -> bytes:
    """A deflated data.pkl declaring 64 MiB: ~64 KiB on disk."""
    zeros = bytes(64 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(pickle_of(S("x")) + zeros) + deflate.flush()
    return _single_entry("archive/data.pkl", body, len(zeros) + 10, zipfile.ZIP_DEFLATED)


def _single_entry(name: str, body: bytes, size: int, method: int) -> bytes:
    n = name.encode()
    crc = 0
    local = struct.pack(
        "<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, method, 0, 0x21, crc, len(body), size, len(n), 0
    )
    central = struct.pack(
        "<4s4B4HL2L5H2L",
        b"PK\x01\x02",
        20,
        0,
        20,
        0,
        0,
        method,
        0,
        0x21,
        crc,
        len(body),
        size,
        len(n),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    end_offset = len(local) + len(n) + len(body)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central) + len(n), end_offset, 0)
    return local + n + body + central + n + end


def _lying_size() -> bytes:
    return _single_entry("archive/data.pkl", pickle_of(EMPTY_DICT), 2**31, zipfile.ZIP_STORED)


def _duplicate() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pickle_of(EMPTY_DICT))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr("archive/data.pkl", pickle_of(EMPTY_LIST))
    return buf.getvalue()
