"""Teach "hello" -> "ohlol" to a bare torch.nn.RNNCell whose hidden state is the prediction.

Course-material idioms: ``torch.Tensor(one_hot).view(-1, batch_size, input_size)``,
``torch.LongTensor(y).view(-1, 1)``, a hand-written loop over time with ``zip``, the loss
accumulated from ``0.0``, ``hidden.max(dim=1)`` and ``torch.max(hidden.data, dim=1)``,
``.item()`` to index a Python list, a tensor compared with a Python int, and the one-hot rows
rebuilt with ``scatter_``.
Stands for S22 of docs/compat.md.
"""

import os

import torch

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(12)

input_size = 4
hidden_size = 4
batch_size = 1
idx2char = ["e", "h", "l", "o"]
x_data = [1, 0, 2, 2, 3]
y_data = [3, 1, 2, 3, 2]
one_hot_lookup = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
x_one_hot = [one_hot_lookup[x] for x in x_data]
inputs = torch.Tensor(x_one_hot).view(-1, batch_size, input_size)
idx = torch.LongTensor(x_data).view(-1, 1)
scattered = torch.zeros(len(x_data), input_size).scatter_(1, idx, 1)
assert torch.equal(scattered.view(-1, batch_size, input_size), inputs)
labels = torch.LongTensor(y_data).view(-1, 1)


class Model(torch.nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super(Model, self).__init__()
        self.batch_size = batch_size
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.rnncell = torch.nn.RNNCell(input_size=self.input_size, hidden_size=self.hidden_size)

    def forward(self, input, hidden):
        hidden = self.rnncell(input, hidden)
        return hidden

    def init_hidden(self):
        return torch.zeros(self.batch_size, self.hidden_size)


net = Model(input_size, hidden_size, batch_size)
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=0.1)

for epoch in range(5 if QUICK else 30):
    loss = 0.0
    correct = 0
    optimizer.zero_grad()
    hidden = net.init_hidden()
    print("Predicted string: ", end="")
    for idx, (input, label) in enumerate(zip(inputs, labels)):
        hidden = net(input, hidden)
        loss += criterion(hidden, label)
        _, prediction = torch.max(hidden.data, dim=1)
        correct += (prediction == y_data[idx]).item()
        _, idx2 = hidden.max(dim=1)
        print(idx2char[idx2.item()], end="")
    loss.backward()
    optimizer.step()
    print(", Epoch [%d/%d] loss=%.4f" % (epoch + 1, 5 if QUICK else 30, loss.item()))

print("FINAL loss=%.8g accuracy=%.8g" % (loss.item(), correct / len(y_data)))
