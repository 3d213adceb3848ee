"""Torch-compatible random number generation on NumPy: the generator behind ``manual_seed``.

:class:`Generator` reproduces the streams of torch 2.13's CPU generator bit for bit: the same
MT19937 engine and seeding, the same number of 32-bit draws per sample, and the same
arithmetic (fused multiply-adds emulated exactly, torch's AVX2 ``log``/``sincos`` polynomials
replayed step by step). After ``manual_seed(s)`` in both libraries, ``uniform``, ``normal``,
``bernoulli``, ``randint`` and ``randperm`` give the numbers ``uniform_``, ``normal_``/``randn``,
``bernoulli_``, ``randint`` and ``randperm`` give, and :meth:`Generator.get_state` is
byte-compatible with ``torch.get_rng_state()``.

Platform notes: float32 ``normal`` with 16 or more elements follows torch's x86-64 AVX2
kernel (torch on CPUs without AVX2 or on ARM computes differently); float64 ``normal`` calls
the C library's ``log`` through :mod:`math`, as torch does, so it agrees where both use the
same libm. The library never touches NumPy's global random state.
"""

from __future__ import annotations

import math
import os
from typing import Any, SupportsIndex

import numpy as np

from ._kernels.rng_exact import _box_muller16_f32, _box_muller16_f64, _fma32, _fma64
from ._random_draws import DiscreteDraws, Shape, _check_float_dtype, _check_seed, _check_shape

__all__ = [
    "Generator",
    "default_generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
]

#: The seed of a fresh ``torch.Generator()`` (torch's ``default_rng_seed_val``).
DEFAULT_SEED = 67280421310721

# torch's CPUGeneratorImplState, byte for byte (little-endian, padding zeroed): the MT19937
# key is stored as 624 uint64; normal_y holds the cached double normal sample.
_STATE_DTYPE = np.dtype(
    {
        "names": "seed left seeded next key normal_y normal_valid float_y float_valid".split(),
        "formats": ["<u8", "<i4", "<i4", "<u8", ("<u8", 624), "<f8", "<i4", "<f4", "u1"],
        "offsets": [0, 8, 12, 16, 24, 5024, 5040, 5048, 5052],
        "itemsize": 5056,
    }
)
_F32 = np.float32


class Generator(DiscreteDraws):
    """A torch-compatible CPU random number generator (MT19937).

    Mirrors ``torch.Generator()`` on the CPU: for the same seed every draw method returns the
    numbers the matching torch call returns and consumes the same stream.

    Args:
        seed (int, optional): initial seed, any int in ``[-2**63, 2**64)``.
            Default: ``None``, torch's default seed 67280421310721.
        device: ``"cpu"`` (or a CPU ``device``), torch's only argument; a string or device
            given first is taken as the device, as ``torch.Generator("cpu")``.

    Example::

        >>> g = Generator(0)
        >>> g.uniform(3)
        array([0.4962566 , 0.7682218 , 0.08847743], dtype=float32)
    """

    def __init__(self, seed: Any = None, device: Any = None) -> None:
        if isinstance(seed, str) or type(seed).__name__ == "device":  # torch's Generator("cpu")
            seed, device = None, seed
        if device is not None and str(device) not in ("cpu", "cpu:0"):
            raise RuntimeError(
                f"elman runs on the CPU only: Generator device must be 'cpu', got {str(device)!r}"
            )
        self._bitgen = np.random.MT19937()
        self.manual_seed(DEFAULT_SEED if seed is None else seed)

    @property
    def device(self) -> str:
        """``"cpu"``: elman's generators are CPU generators."""
        return "cpu"

    # ---- seeding and state ----

    def manual_seed(self, seed: SupportsIndex) -> Generator:
        """Seed the generator like ``torch.Generator.manual_seed``; returns ``self``.

        MT19937 is initialised with the low 32 bits of the seed; :meth:`initial_seed` returns
        the whole seed (negative seeds as their 64-bit two's complement).

        Raises:
            TypeError: ``seed`` is not an integer (bool included).
            ValueError: ``seed`` is outside ``[-2**63, 2**64)``.
        """
        self._seed = _check_seed(seed)
        # RandomState's 32-bit seeding is MT19937's init_genrand, as torch's mt19937(seed)
        legacy: Any = np.random.RandomState(self._seed & 0xFFFFFFFF).get_state(legacy=False)
        key = legacy["state"]["key"]
        self._bitgen.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}
        self._next_at_twist = 0  # torch's `next` field while a twist is pending
        self._normal_cache: float | None = None  # the second Box-Muller sample of a pair
        self._float_normal_cache: float | None = None  # unused by CPU kernels; kept for state
        return self

    def initial_seed(self) -> int:
        """The seed last set by :meth:`manual_seed` or :meth:`seed`, as an unsigned 64-bit int."""
        return self._seed

    def seed(self) -> int:
        """Reseed from the operating system's entropy (like ``torch.Generator.seed``).

        Returns:
            int: the new 64-bit seed.
        """
        value = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(value)
        return value

    def get_state(self) -> np.ndarray:
        """The full state as a uint8 array of 5056 bytes, the layout of ``torch.get_rng_state()``.

        Example::

            >>> g = Generator(7)
            >>> s = g.get_state()
            >>> a = g.normal(3)
            >>> g.set_state(s)
            >>> bool((g.normal(3) == a).all())
            True
        """
        st = np.zeros(1, _STATE_DTYPE)
        mt = self._bitgen.state["state"]
        pos = int(mt["pos"])
        st["seed"], st["left"], st["seeded"] = self._seed, 625 - pos, 1
        st["next"] = pos if pos < 624 else self._next_at_twist
        st["key"] = mt["key"]
        if self._normal_cache is not None:
            st["normal_y"], st["normal_valid"] = self._normal_cache, 1
        if self._float_normal_cache is not None:
            st["float_y"], st["float_valid"] = self._float_normal_cache, 1
        return st.view(np.uint8).copy()

    def set_state(self, state: Any) -> None:
        """Restore a state from :meth:`get_state` (or ``torch.get_rng_state().numpy()``).

        Raises:
            TypeError: ``state`` is not a uint8 array.
            RuntimeError: it has the wrong size or does not describe a valid MT19937 state.
        """
        arr = np.asarray(state)
        if arr.dtype != np.uint8:
            raise TypeError(f"RNG state must be a numpy.uint8 array, but got dtype {arr.dtype}")
        if arr.size != _STATE_DTYPE.itemsize:
            raise RuntimeError(
                f"Expected a CPUGeneratorImplState of size {_STATE_DTYPE.itemsize} but found "
                f"the input RNG state size to be {arr.size}"
            )
        st = np.frombuffer(arr.tobytes(), _STATE_DTYPE)[0]
        left, nxt = int(st["left"]), int(st["next"])
        # Stricter than torch: `left` and `next` must agree (every state torch produces does),
        # because NumPy's MT19937 keeps a single position.
        if (
            st["seeded"] == 0
            or not 0 < left <= 624
            or nxt > 624
            or (left != 1 and left + nxt != 625)
        ):
            raise RuntimeError("Invalid mt19937 state")
        key = (st["key"] & 0xFFFFFFFF).astype(np.uint32)
        self._bitgen.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 625 - left}}
        self._seed, self._next_at_twist = int(st["seed"]), nxt
        self._normal_cache = float(st["normal_y"]) if st["normal_valid"] else None
        self._float_normal_cache = float(st["float_y"]) if st["float_valid"] else None

    # ---- raw streams ----

    def _raw32(self, n: int) -> np.ndarray:
        """The next n 32-bit MT19937 outputs (torch's ``random()``), as uint64."""
        if n:
            self._next_at_twist = 624
        return self._bitgen.random_raw(n)

    def _raw64(self, n: int) -> np.ndarray:
        """n of torch's ``random64()``: two draws, the first in the high word."""
        r = self._raw32(2 * n)
        return (r[0::2] << np.uint64(32)) | r[1::2]

    def _mantissas(self, n: int, dt: np.dtype) -> np.ndarray:
        """n draws k of torch's ``uniform_real_distribution<dt>(0, 1)``, u = k * 2**-digits.

        float32 masks one 32-bit draw to 24 bits; float64 masks ``random64()`` to 53 bits.
        """
        if dt == np.float32:
            return self._raw32(n) & np.uint64(2**24 - 1)
        return self._raw64(n) & np.uint64(2**53 - 1)

    def _unit(self, n: int, dt: np.dtype) -> np.ndarray:
        """n uniforms in [0, 1) of dtype dt, exactly as torch draws them."""
        digits = np.finfo(dt).nmant + 1
        return self._mantissas(n, dt).astype(dt) * dt.type(2.0**-digits)

    # ---- distributions ----

    def uniform(
        self, shape: Shape, low: float = 0.0, high: float = 1.0, dtype: Any = np.float32
    ) -> np.ndarray:
        """Samples of U[low, high), bit-identical to ``torch.empty(shape).uniform_(low, high)``.

        float32 uses one 32-bit draw per element, float64 two.

        Args:
            shape (int or tuple of ints): output shape.
            low (float): lower bound. Default: 0.
            high (float): upper bound (exclusive). Default: 1.
            dtype: ``np.float32`` or ``np.float64``. Default: ``np.float32``.

        Returns:
            np.ndarray: a new array of ``shape`` and ``dtype``.

        Example::

            >>> Generator(0).uniform((2, 2), -1.0, 1.0)
            array([[-0.00748682,  0.5364436 ],
                   [-0.82304513, -0.735939  ]], dtype=float32)
        """
        dims, dt = _check_shape(shape), _check_float_dtype(dtype, "uniform")
        low, high = float(low), float(high)
        limit = float(np.finfo(dt).max)
        kind = "float" if dt == np.float32 else "double"
        for name, v in (("from", low), ("to", high)):
            if not -limit <= v <= limit:
                raise RuntimeError(f"{name} is out of bounds for {kind}")
        if low > high:
            raise RuntimeError(
                "uniform_ expects to return a [from, to) range, "
                f"but found from={low:g} > to={high:g}"
            )
        if high - low > limit:
            raise RuntimeError(
                f"uniform_ expects to-from <= std::numeric_limits<{kind.capitalize()}>::max(), but "
                f"found to={high:g} and from={low:g} which result in to-from to exceed the limit"
            )
        # torch casts the bounds to the dtype first (low < high may round to low == high)
        lo, hi = (float(_F32(low)), float(_F32(high))) if dt == np.float32 else (low, high)
        n, digits = math.prod(dims), np.finfo(dt).nmant + 1
        if lo == -hi and hi > 0:
            # nn.init's case: u*2h - h == h*(2u - 1), and 2u - 1 (an integer k - 2**(digits-1)
            # scaled by a power of two) is exact, so one rounded multiply equals the FMA.
            k = self._mantissas(n, dt).view(np.int64) - 2 ** (digits - 1)
            out = k.astype(dt) * dt.type(2.0 ** (1 - digits)) * dt.type(hi)
        elif lo == 0:  # fma(u, d, 0) is u * d rounded once
            out = self._unit(n, dt) * dt.type(hi)
        elif dt == np.float32:
            out = _fma32(self._unit(n, dt), _F32(hi) - _F32(lo), _F32(lo))
        else:
            out = _fma64(self._unit(n, dt), hi - lo, lo)
        return out.reshape(dims)

    def normal(
        self, shape: Shape, mean: float = 0.0, std: float = 1.0, dtype: Any = np.float32
    ) -> np.ndarray:
        """Samples of N(mean, std**2), bit-identical to ``torch.empty(shape).normal_(mean, std)``.

        Like torch: 16 or more elements use Box-Muller on blocks of 16 uniforms (a ragged
        tail redraws the last 16); fewer use the scalar double path, which caches the second
        sample of each pair in the generator state.

        Args:
            shape (int or tuple of ints): output shape.
            mean (float): mean. Default: 0.
            std (float): standard deviation, >= 0. Default: 1.
            dtype: ``np.float32`` or ``np.float64``. Default: ``np.float32``.

        Returns:
            np.ndarray: a new array of ``shape`` and ``dtype``.

        Example::

            >>> Generator(0).normal(4)
            array([ 1.5409961 , -0.2934289 , -2.1787894 ,  0.56843126], dtype=float32)
        """
        dims, dt = _check_shape(shape), _check_float_dtype(dtype, "normal")
        if not std >= 0.0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        n = math.prod(dims)
        if n < 16:
            return self._normal_scalar(n, mean, std).astype(dt).reshape(dims)
        fill = _box_muller16_f32 if dt == np.float32 else _box_muller16_f64
        u = self._unit(n, dt)
        out = np.empty(n, dt)
        full = n // 16 * 16
        out[:full] = fill(u[:full].reshape(-1, 16), mean, std).ravel()
        if n % 16:  # torch redraws 16 fresh uniforms for the last 16 outputs
            out[n - 16 :] = fill(self._unit(16, dt).reshape(1, 16), mean, std).ravel()
        return out.reshape(dims)

    def _normal_scalar(self, n: int, mean: float, std: float) -> np.ndarray:
        """torch's ``normal_distribution<double>``, element by element, with its cached sample."""
        values = [] if self._normal_cache is None else [self._normal_cache]
        pairs = max(0, n - len(values) + 1) // 2
        u = self._unit(2 * pairs, np.dtype(np.float64)).tolist()
        for u1, u2 in zip(u[0::2], u[1::2], strict=True):
            r = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            values += [r * math.cos(theta), r * math.sin(theta)]
        self._normal_cache = values[n] if len(values) > n else None
        return _fma64(np.array(values[:n], np.float64), std, mean)


# ---- the global generator ----------------------------------------------------------------

#: The generator behind :func:`manual_seed`. Like torch's default CPU generator it starts
#: from a non-deterministic seed; call :func:`manual_seed` for reproducible runs.
default_generator = Generator()
default_generator.seed()


def manual_seed(seed: SupportsIndex) -> Generator:
    """Seed the global generator, like ``torch.manual_seed``; returns it.

    Args:
        seed (int): any int in ``[-2**63, 2**64)``; negative seeds wrap to ``2**64 + seed``.

    Example::

        >>> manual_seed(0).uniform(2)
        array([0.4962566, 0.7682218], dtype=float32)
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Reseed the global generator non-deterministically; returns the new seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The global generator's current seed, like ``torch.initial_seed``."""
    return default_generator.initial_seed()


def get_rng_state() -> np.ndarray:
    """The global generator's state as uint8 (layout of ``torch.get_rng_state()``)."""
    return default_generator.get_state()


def set_rng_state(state: Any) -> None:
    """Restore the global generator's state from :func:`get_rng_state`."""
    default_generator.set_state(state)
