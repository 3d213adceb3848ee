"""The errors raised for files that cannot be trusted."""

from __future__ import annotations

import pickle

__all__ = ["CheckpointError", "UnsafeFileError"]


class CheckpointError(ValueError):
    """A checkpoint or weights file is damaged, altered, incomplete or of an unknown format.

    The message names the offending file and says what is wrong with it. Subclasses
    :class:`ValueError`, so ``except ValueError`` catches it too. A torch ``.pt`` file that
    is truncated, not a zip, missing ``data.pkl``, or whose tensors reach outside their
    storage raises it too.
    """


class UnsafeFileError(pickle.UnpicklingError):
    """A torch ``.pt`` file asks for something :func:`elman.load` will not do.

    Raised when the file's pickle names a global outside the allowlist (say ``os.system``,
    or a whole pickled ``torch.nn.modules.rnn.RNN`` that was not allowlisted with
    :func:`elman.serialization.safe_globals`), applies ``REDUCE``/``NEWOBJ``/``BUILD`` to
    something that is not allowed, or uses an opcode elman refuses. Nothing named by the
    file has run when it is raised. The message names the file, the offending global or
    opcode, and what to do. Subclasses :class:`pickle.UnpicklingError`, which torch's
    weights-only loader raises in the same situations.
    """
