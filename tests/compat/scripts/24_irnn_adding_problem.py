"""The adding problem with an IRNN: ReLU nn.RNN whose recurrent matrix starts as the identity.

Inputs are (value, marker) pairs; the target is the sum of the two marked values. The
recurrent weight is set through ``rnn.state_dict()['weight_hh_l0'].copy_(torch.eye(H))`` and
``nn.init.eye_``; biases through ``.data.fill_(0)``; input weights with ``nn.init.normal_``.
Data from ``torch.rand``/``torch.randint``/``torch.randperm``, a ``TensorDataset`` and a shuffling
``DataLoader`` with its own generator; RMSprop with ``clip_grad_norm_``; evaluation under
``torch.inference_mode()`` with ``clamp``, ``torch.mean((pred - y) ** 2)`` and
``torch.where``; ``torch.set_num_threads``.
Stands for S29 and S28 of docs/compat.md.
"""

import os

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.set_num_threads(1)
print("threads:", torch.get_num_threads())
torch.manual_seed(24)

T = 20 if QUICK else 40
H = 32


def adding_data(n):
    values = torch.rand(n, T)
    markers = torch.zeros(n, T)
    first = torch.randint(0, T // 2, (n,))
    second = torch.randint(T // 2, T, (n,))
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=2)  # (N, T, 2)
    y = (values * markers).sum(dim=1, keepdim=True)
    return x, y


x_train, y_train = adding_data(512 if QUICK else 4000)
y_train = y_train.squeeze(1)
x_test, y_test = adding_data(500)
y_test = y_test.squeeze(1)
shuffled = torch.randperm(x_train.size(0))
x_train, y_train = x_train[shuffled], y_train[shuffled]


class IRNN(nn.Module):
    def __init__(self, input_size, hidden_size):
        super(IRNN, self).__init__()
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity="relu", bias=True, batch_first=True)
        self.rnn.state_dict()["weight_hh_l0"].copy_(torch.eye(hidden_size))
        nn.init.eye_(self.rnn.weight_hh_l0)
        self.rnn.bias_ih_l0.data.fill_(0)
        self.rnn.bias_hh_l0.data.fill_(0)
        nn.init.normal_(self.rnn.weight_ih_l0, mean=0.0, std=0.001)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        output, h_n = self.rnn(x)
        return self.out(h_n).squeeze()


model = IRNN(2, H)
print(model)
criterion = nn.MSELoss()
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
loader = DataLoader(
    TensorDataset(x_train, y_train),
    batch_size=32,
    shuffle=True,
    generator=torch.Generator().manual_seed(0),
)

for epoch in range(1 if QUICK else 12):
    model.train()
    running = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running += loss.item() * xb.size(0)
    model.eval()
    with torch.inference_mode():
        pred = model(x_test).clamp(0.0, 2.0)
        test_mse = torch.mean((pred - y_test) ** 2).item()
        solved = torch.where((pred - y_test).abs() < 0.1, 1.0, 0.0).mean().item()
    print(
        "epoch %d train mse %.5f test mse %.5f solved %.3f"
        % (epoch, running / len(loader.dataset), test_mse, solved)
    )

print("FINAL loss=%.8g accuracy=%.8g" % (test_mse, solved))
