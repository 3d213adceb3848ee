"""``torch.backends``: the switches scripts set for reproducibility (``cudnn.deterministic``,
``cudnn.benchmark``). elman's kernels are deterministic already; the flags are kept as set."""

from . import cudnn, mps

__all__ = ["cudnn", "mps"]
