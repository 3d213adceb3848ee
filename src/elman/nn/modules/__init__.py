"""torch's module paths (``torch.nn.modules.rnn.RNN``, ...) as thin re-exports.

Files written by ``torch.save(model)`` and code written for torch name classes by these
paths; each submodule re-exports the elman classes of the same names (the code lives in
:mod:`elman.nn`). ``elman.nn.modules.rnn.RNN is elman.nn.RNN``.
"""

from ..layers import Dropout, Embedding, Identity, Sequential
from ..linear import Linear
from ..loss import CrossEntropyLoss, L1Loss, MSELoss
from ..module import Module
from ..rnn import RNN
from ..rnn_cell import RNNCell

__all__ = [
    "Module",
    "RNN",
    "RNNCell",
    "Linear",
    "Identity",
    "Embedding",
    "Sequential",
    "Dropout",
    "MSELoss",
    "L1Loss",
    "CrossEntropyLoss",
    "container",
    "dropout",
    "linear",
    "loss",
    "module",
    "rnn",
    "sparse",
]

from . import container, dropout, linear, loss, module, rnn, sparse  # noqa: E402
