"""Optimizers and learning-rate schedulers with torch's update rules and state layout.

``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad`` and ``Adadelta`` step as torch's
single-tensor ("for-loop") implementations do, in place on the parameters' arrays;
``lr_scheduler`` holds ``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR`` and
``ReduceLROnPlateau``.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "LBFGS",
    "lr_scheduler",
]
