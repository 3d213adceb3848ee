"""torch.nn.modules.rnn: RNN and RNNCell (re-exported from elman.nn)."""

from ..rnn import RNN
from ..rnn_cell import RNNCell

__all__ = ["RNN", "RNNCell"]
