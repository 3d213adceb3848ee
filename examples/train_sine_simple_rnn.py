"""The seed's SimpleRNN (RNN + Linear) trained to continue noisy sine waves.

Run: python examples/train_sine_simple_rnn.py [steps]
"""

import sys

import numpy as np

import elman
import elman.nn as nn
from elman import optim

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 600
elman.manual_seed(0)
rng = np.random.default_rng(0)

# many series of 41 points: sum of two sines with random phases, plus noise
t = np.arange(41)
phases = rng.uniform(0, 2 * np.pi, size=(512, 2, 1))
series = np.sin(2 * np.pi * t / 12 + phases[:, 0]) + 0.5 * np.sin(2 * np.pi * t / 7 + phases[:, 1])
series = (series + rng.normal(0, 0.05, series.shape)).astype(np.float32)
X, Y = series[:, :-1, None], series[:, 1:, None]  # predict the next value at every step


class SimpleRNN(nn.Module):
    def __init__(self, n_inputs, n_hidden, n_outputs):
        super().__init__()
        self.M = n_hidden
        self.rnn = nn.RNN(input_size=n_inputs, hidden_size=n_hidden, nonlinearity="tanh",
                          batch_first=True)
        self.fc = nn.Linear(n_hidden, n_outputs)

    def forward(self, X):
        h0 = elman.zeros(1, X.size(0), self.M)
        out, _ = self.rnn(X, h0)
        return self.fc(out)


model = SimpleRNN(n_inputs=1, n_hidden=32, n_outputs=1)
optimizer = optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.MSELoss()
for step in range(steps):
    idx = rng.integers(0, 448, size=32)
    loss = loss_fn(model(elman.from_numpy(X[idx])), elman.from_numpy(Y[idx]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        print(f"step {step:4d}  loss {loss.item():.5f}")

with elman.no_grad():
    val = loss_fn(model(elman.from_numpy(X[448:])), elman.from_numpy(Y[448:])).item()
naive = float(np.mean((X[448:, :, 0] - Y[448:, :, 0]) ** 2))  # "tomorrow = today"
print(f"validation MSE {val:.5f}  vs naive last-value {naive:.5f} ({naive / val:.1f}x better)")
