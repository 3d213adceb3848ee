"""The adding problem (Hochreiter & Schmidhuber 1997) with the IRNN recipe (Le et al. 2015).

Each input is T steps of (value, marker); the target is the sum of the two marked values.
Always answering 1 gives MSE ~0.167. A ReLU RNN whose W_hh starts as the identity learns it;
this is the recipe `elman train adding --init identity --nonlinearity relu` uses.
Run: python examples/adding_problem.py [steps] [T]
"""

import sys

import numpy as np

import elman
import elman.nn as nn
from elman import optim

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
T = int(sys.argv[2]) if len(sys.argv) > 2 else 50
elman.manual_seed(0)
rng = np.random.default_rng(0)


def batch(n):
    values = rng.uniform(0, 1, size=(n, T))
    first, second = rng.integers(0, T // 2, n), rng.integers(T // 2, T, n)
    marks = np.zeros((n, T))
    marks[np.arange(n), first] = marks[np.arange(n), second] = 1
    x = np.stack([values, marks], -1).astype(np.float32)
    y = (values[np.arange(n), first] + values[np.arange(n), second])[:, None].astype(np.float32)
    return elman.from_numpy(x), elman.from_numpy(y)


rnn = nn.RNN(2, 100, batch_first=True, nonlinearity="relu")
head = nn.Linear(100, 1)
nn.init.eye_(rnn.weight_hh_l0)  # IRNN: identity recurrence, zero biases, small input weights
nn.init.zeros_(rnn.bias_ih_l0)
nn.init.zeros_(rnn.bias_hh_l0)
nn.init.normal_(rnn.weight_ih_l0, 0.0, 0.001)
params = list(rnn.parameters()) + list(head.parameters())
optimizer = optim.Adam(params, lr=1e-3)
x_val, y_val = batch(1000)
for step in range(steps + 1):
    x, y = batch(32)
    out, _ = rnn(x)
    loss = nn.functional.mse_loss(head(out[:, -1]), y)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    if step % 500 == 0:
        with elman.no_grad():
            out, _ = rnn(x_val)
            val = nn.functional.mse_loss(head(out[:, -1]), y_val).item()
        print(f"step {step:5d}  train {loss.item():.4f}  validation {val:.4f}  (always-1: 0.167)")
