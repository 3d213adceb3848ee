"""Map a sine window to the matching cosine window with nn.RNN, carrying the hidden state.

Each step takes the next half period; the hidden state from the previous step is fed back in
after ``h_state.data`` cuts its history; the linear head is applied time step by time step and
the outputs are stacked with ``torch.stack(outs, dim=1)``. Stands for S06 of docs/compat.md.
"""

import os

import numpy as np
import torch
from torch import nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(1)

TIME_STEP = 10
INPUT_SIZE = 1
LR = 0.02


class RNN(nn.Module):
    def __init__(self):
        super(RNN, self).__init__()
        self.rnn = nn.RNN(
            input_size=INPUT_SIZE,
            hidden_size=32,
            num_layers=1,
            batch_first=True,
        )
        self.out = nn.Linear(32, 1)

    def forward(self, x, h_state):
        r_out, h_state = self.rnn(x, h_state)
        outs = []
        for time_step in range(r_out.size(1)):
            outs.append(self.out(r_out[:, time_step, :]))
        return torch.stack(outs, dim=1), h_state


rnn = RNN()
print(rnn)
optimizer = torch.optim.Adam(rnn.parameters(), lr=LR)
loss_func = nn.MSELoss()

h_state = None
losses = []
n_steps = 30 if QUICK else 300
for step in range(n_steps):
    start, end = step * np.pi, (step + 1) * np.pi
    steps = np.linspace(start, end, TIME_STEP, dtype=np.float32, endpoint=False)
    x_np = np.sin(steps)
    y_np = np.cos(steps)
    x = torch.from_numpy(x_np[np.newaxis, :, np.newaxis])
    y = torch.from_numpy(y_np[np.newaxis, :, np.newaxis])

    prediction, h_state = rnn(x, h_state)
    h_state = h_state.data

    loss = loss_func(prediction, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if step % (10 if QUICK else 50) == 0:
        print(step, "%.5f" % loss.item(), prediction.data.numpy().flatten()[:3])

print("FINAL loss=%.8g" % (sum(losses[-10:]) / 10))
