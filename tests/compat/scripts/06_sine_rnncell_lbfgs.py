"""Predict future values of noisy sine waves with two stacked nn.RNNCell in float64, LBFGS.

The official time-sequence-prediction example with its LSTMCell swapped for RNNCell (the
swap an Elman-RNN user makes), plus the multi-channel sensor-forecasting course activity:
data generated with NumPy and saved with ``torch.save`` as an ndarray, read back with
``torch.load(..., weights_only=False)``; ``.double()``; the input split along time with
``split(1, dim=1)``; autoregressive ``future`` steps; ``optim.LBFGS`` driven by a closure.
Stands for S04 and S20 of docs/compat.md.
"""

import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

QUICK = os.environ.get("COMPAT_QUICK") == "1"


class Sequence(nn.Module):
    def __init__(self, hidden=24):
        super(Sequence, self).__init__()
        self.hidden = hidden
        self.cell1 = nn.RNNCell(1, hidden)
        self.cell2 = nn.RNNCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t = self.cell1(input_t, h_t)
            h_t2 = self.cell2(h_t, h_t2)
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):
            h_t = self.cell1(output, h_t)
            h_t2 = self.cell2(h_t, h_t2)
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


if __name__ == "__main__":
    np.random.seed(2)
    torch.manual_seed(0)
    T, L, N = 20, 200, 24
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype("float64")
    data += 0.01 * np.random.randn(N, L)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "traindata.pt")
        torch.save(data, open(path, "wb"))
        data = torch.load(path, weights_only=False)

    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])

    seq = Sequence()
    seq.double()
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    steps = 2 if QUICK else 10
    for i in range(steps):
        print("STEP: ", i)

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            print("loss:", loss.item())
            loss.backward()
            return loss

        train_loss = optimizer.step(closure)
        with torch.no_grad():
            future = 50
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print("test loss:", loss.item())
            y = pred.detach().numpy()
            rmse = np.sqrt(np.mean((np.asarray(pred[:, :-future]) - test_target.numpy()) ** 2))
    print("future range: %.4f .. %.4f, rmse %.5f" % (y[:, -50:].min(), y[:, -50:].max(), rmse))
    print("FINAL loss=%.8g test_loss=%.8g" % (train_loss.item(), loss.item()))
