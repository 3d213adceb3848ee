"""Neural-network layers: Module, Parameter, RNN, RNNCell, Linear, init and functional."""

from . import functional, init, utils
from .linear import Linear
from .module import Module
from .parameter import Parameter
from .rnn import RNN, RNNCell

__all__ = ["Module", "Parameter", "RNN", "RNNCell", "Linear", "functional", "init", "utils"]
