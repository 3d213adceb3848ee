"""Predict the next point of a sine wave with a two-layer batch-first nn.RNN.

NumPy windows turned into tensors with the legacy ``torch.Tensor(ndarray)`` constructor
(float64 data becomes float32), a shape check with a ``None`` hidden state, ``view(-1,
hidden_dim)`` before the head, and the hidden state kept across steps via ``.data``.
Stands for S16 of docs/compat.md.
"""

import os

import numpy as np
import torch
from torch import nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(16)
seq_length = 20


class RNN(nn.Module):
    def __init__(self, input_size, output_size, hidden_dim, n_layers):
        super(RNN, self).__init__()
        self.hidden_dim = hidden_dim
        self.rnn = nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_size)

    def forward(self, x, hidden):
        r_out, hidden = self.rnn(x, hidden)
        r_out = r_out.view(-1, self.hidden_dim)
        output = self.fc(r_out)
        return output, hidden


test_rnn = RNN(input_size=1, output_size=1, hidden_dim=10, n_layers=2)
time_steps = np.linspace(0, np.pi, seq_length)
data = np.sin(time_steps)
data.resize((seq_length, 1))
test_input = torch.Tensor(data).unsqueeze(0)
print("Input size: ", test_input.size())
test_out, test_h = test_rnn(test_input, None)
print("Output size: ", test_out.size())
print("Hidden state size: ", test_h.size())

rnn = RNN(1, 1, 32, 2)
print(rnn)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(rnn.parameters(), lr=0.01)


def train(rnn, n_steps, print_every):
    hidden = None
    losses = []
    for batch_i, step in enumerate(range(n_steps)):
        time_steps = np.linspace(step * np.pi, (step + 1) * np.pi, seq_length + 1)
        data = np.sin(time_steps)
        data.resize((seq_length + 1, 1))
        x = data[:-1]
        y = data[1:]
        x_tensor = torch.Tensor(x).unsqueeze(0)
        y_tensor = torch.Tensor(y)
        prediction, hidden = rnn(x_tensor, hidden)
        hidden = hidden.data
        loss = criterion(prediction, y_tensor)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_i % print_every == 0:
            print("Loss: ", loss.item())
    return rnn, losses


trained_rnn, losses = train(rnn, 25 if QUICK else 150, 5 if QUICK else 15)
print("FINAL loss=%.8g" % (sum(losses[-5:]) / 5))
