"""Neural-network layers: Module, Parameter, RNN, RNNCell, Linear, layers, losses, init,
functional and utils."""

from . import (
    functional,
    init,
    modules,  # noqa: E402,I001  (torch's module paths; needs the classes above)
    utils,
)
from .layers import Dropout, Embedding, Identity, Sequential
from .linear import Linear
from .loss import CrossEntropyLoss, L1Loss, MSELoss
from .module import Module
from .parameter import Parameter
from .rnn import RNN
from .rnn_cell import RNNCell

__all__ = [
    "Module",
    "Parameter",
    "RNN",
    "RNNCell",
    "Linear",
    "Sequential",
    "Dropout",
    "Embedding",
    "Identity",
    "MSELoss",
    "L1Loss",
    "CrossEntropyLoss",
    "functional",
    "init",
    "utils",
    "modules",
]
