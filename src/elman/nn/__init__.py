"""Neural-network layers: Module, Parameter, RNN, RNNCell, Linear, layers, losses, init,
functional and utils."""

from . import (
    functional,
    init,
    modules,  # noqa: E402,I001  (torch's module paths; needs the classes above)
    utils,
)
from .activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .layers import Dropout, Embedding, Identity, Sequential
from .linear import Linear
from .loss import CrossEntropyLoss, L1Loss, MSELoss
from .loss_extra import BCEWithLogitsLoss, NLLLoss
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
    "NLLLoss",
    "BCEWithLogitsLoss",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "Softmax",
    "LogSoftmax",
    "functional",
    "init",
    "utils",
    "modules",
]


# what torch.nn has that elman will not provide, and why (docs/compat.md "Outside elman's purpose")
_OUTSIDE = {
    **dict.fromkeys(
        ("LSTM", "GRU", "LSTMCell", "GRUCell"),
        "gated recurrent cells are outside elman's purpose (elman is the Elman RNN: use nn.RNN "
        "or nn.RNNCell)",
    ),
    **dict.fromkeys(
        (
            "Transformer",
            "TransformerEncoder",
            "TransformerDecoder",
            "TransformerEncoderLayer",
            "TransformerDecoderLayer",
            "MultiheadAttention",
        ),
        "attention models are outside elman's purpose (elman is the Elman RNN)",
    ),
    **dict.fromkeys(
        ("DataParallel", "parallel"),
        "multi-GPU training is outside elman's purpose (elman runs on the CPU)",
    ),
    **dict.fromkeys(
        ("Conv1d", "Conv2d", "BatchNorm1d", "BatchNorm2d", "Dropout2d", "LayerNorm", "MaxPool2d"),
        "convolution and normalisation layers are outside elman's purpose (elman is the Elman RNN)",
    ),
}


def __getattr__(name: str) -> object:
    if name in _OUTSIDE:
        raise AttributeError(f"module 'elman.nn' has no attribute '{name}': {_OUTSIDE[name]}")
    raise AttributeError(f"module 'elman.nn' has no attribute '{name}'")
