"""Small layers for building models: Sequential, Dropout, Embedding and Identity."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import numpy as np

from ..autograd import Tensor
from . import functional as F
from . import init
from ._checks import (
    as_input,
    check_device,
    check_param_dtype,
    check_parameter_memory,
    check_probability,
    check_size,
)
from .functional_embedding import check_padding_idx
from .module import Module
from .parameter import Parameter

__all__ = ["Sequential", "Dropout", "Embedding", "Identity"]


class Sequential(Module):
    r"""A chain of modules: ``forward`` feeds each module's output to the next.

    Build it from modules (registered as ``"0"``, ``"1"``, ...) or from one ``OrderedDict``
    of names to modules. It indexes (an int gives a module, a slice a new Sequential), has a
    length, iterates over its modules and grows with ``append``, ``extend`` and ``insert``,
    as torch's.

    Example:
        >>> import elman
        >>> net = elman.nn.Sequential(elman.nn.Linear(4, 3), elman.nn.Identity())
        >>> net
        Sequential(
          (0): Linear(in_features=4, out_features=3, bias=True)
          (1): Identity()
        )
        >>> net(elman.zeros(2, 4)).shape
        elman.Size([2, 3])
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def _key_at(self, idx: Any) -> str:
        size = len(self)
        idx = operator.index(idx)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range")
        key: str = next(islice(iter(self._modules), idx % size, None))
        return key

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return self.__class__(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._key_at(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._key_at(idx), module)

    def __delitem__(self, idx: Any) -> None:
        if isinstance(idx, slice):
            for key in list(self._modules)[idx]:
                delattr(self, key)
        else:
            delattr(self, self._key_at(idx))
        # renumber, as torch does
        renumbered = OrderedDict((str(i), m) for i, m in enumerate(self._modules.values()))
        object.__setattr__(self, "_modules", renumbered)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __add__(self, other: Any) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(
                "add operator supports only objects of Sequential class, but "
                f"{type(other)} is given."
            )
        return Sequential(*self, *other)

    def __iadd__(self, other: Any) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(
                "add operator supports only objects of Sequential class, but "
                f"{type(other)} is given."
            )
        offset = len(self)
        for i, module in enumerate(list(other)):
            self.add_module(str(i + offset), module)
        return self

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns ``self``."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, sequential: Iterable[Module]) -> Sequential:
        """Append every module of ``sequential``; returns ``self``."""
        for layer in sequential:
            self.append(layer)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` (negative counts from the end)."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        index = index + n if index < 0 else index
        for i in range(n, index, -1):
            self._modules[str(i)] = self._modules[str(i - 1)]
        self._modules[str(index)] = module
        return self

    def pop(self, key: Any) -> Any:
        """Remove and return the module (or slice) at ``key``."""
        v = self[key]
        del self[key]
        return v

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as torch's).

    Example:
        >>> import elman
        >>> x = elman.ones(2)
        >>> elman.nn.Identity(54, unused="x")(x) is x
        True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Dropout(Module):
    r"""During training, zero each element with probability ``p`` and scale the others by
    :math:`1/(1-p)`; in eval mode, the identity.

    The mask is drawn from the global generator exactly as torch draws it, so the same seed
    gives the same mask. See :func:`elman.nn.functional.dropout`.

    Args:
        p: the probability of zeroing an element. Default 0.5.
        inplace: overwrite the input (see :func:`~elman.nn.functional.dropout`). Default False.

    Shapes: input (\*) -> output (\*).

    Example:
        >>> import elman
        >>> drop = elman.nn.Dropout(p=0.2)
        >>> drop.eval()(elman.ones(3))
        tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        check_probability(p)
        self.p = p
        self.inplace = inplace

    def forward(self, input: Any) -> Tensor:
        return F.dropout(as_input(input), self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    r"""A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``.

    ``output[i...] = weight[input[i...]]``. The weight is initialised from
    :math:`\mathcal{N}(0, 1)` with the global generator (bit-identical to torch for the same
    seed); the row ``padding_idx``, if given, starts at zero and never receives a gradient.

    Args:
        num_embeddings: the number of rows.
        embedding_dim: the size of each row.
        padding_idx: a row kept at zero (negative counts from the end).
        max_norm: rows looked up with a larger norm are rescaled in place to this norm.
        norm_type: the p of the p-norm for ``max_norm``. Default 2.
        scale_grad_by_freq: divide gradients by each index's count in the batch.
        sparse: accepted for torch compatibility; gradients are dense.
        device: ``None`` or ``"cpu"``.
        dtype: float32 (default) or float64.

    Shapes: input (\*) of integers in [0, num_embeddings) -> output (\*, embedding_dim).

    Example:
        >>> import elman
        >>> emb = elman.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(elman.tensor([[0, 2], [4, 9]])).shape
        elman.Size([2, 2, 3])
        >>> emb.weight[0].tolist()
        [0.0, 0.0, 0.0]
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = check_size("num_embeddings", num_embeddings, True, True)
        self.embedding_dim = check_size("embedding_dim", embedding_dim, True, True)
        self.padding_idx = check_padding_idx(padding_idx, self.num_embeddings)
        check_device(device)
        dt = check_param_dtype(dtype)
        if _weight is None:
            elements = self.num_embeddings * self.embedding_dim
            check_parameter_memory(elements, 1, dt, "Embedding")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            self.weight = Parameter(np.empty(shape, dtype=dt), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            w = as_input(_weight)
            if tuple(w.shape) != shape:
                raise AssertionError(
                    "Shape of weight does not match num_embeddings and embedding_dim"
                )
            self.weight = Parameter(w._data, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input: Any) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (2-D), frozen unless ``freeze=False``.

        Example:
            >>> import elman
            >>> emb = elman.nn.Embedding.from_pretrained(elman.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> emb(elman.tensor([1]))
            tensor([[3., 4.]])
        """
        w = as_input(embeddings)
        if w.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = w.shape
        return cls(
            rows,
            cols,
            _weight=w,
            _freeze=freeze,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            dtype=w.dtype,
        )
