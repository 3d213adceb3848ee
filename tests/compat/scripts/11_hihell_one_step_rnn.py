"""Teach "hihell" -> "ihello" to an nn.RNN fed one character at a time.

The lecture-notebook idioms: one-hot rows built with the legacy ``torch.Tensor(list)`` and
``torch.LongTensor(list)`` constructors, iterating over tensors with ``zip``, ``view`` to add
the batch and time axes, a loss accumulated from the integer 0, ``output.max(1)``, the
``%``-formatting of a tensor, and the shape tour of nn.RNN (one step, a whole sequence, a
batch, ``transpose(dim0=, dim1=)`` for the sequence-first layout). Stands for S08 and S09 of
docs/compat.md.
"""

import os
import sys

import torch
import torch.nn as nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(777)

# the shape tour
h = [1, 0, 0, 0]
e = [0, 1, 0, 0]
l_ = [0, 0, 1, 0]
o = [0, 0, 0, 1]
cell = nn.RNN(input_size=4, hidden_size=2, batch_first=True)
hidden = torch.randn(1, 1, 2)
inputs = torch.Tensor([h, e, l_, l_, o])
for one in inputs:
    one = one.view(1, 1, -1)
    out, hidden = cell(one, hidden)
print("one input size", one.size(), "out size", out.size())
inputs = inputs.view(1, 5, -1)
out, hidden = cell(inputs, hidden)
print("sequence input size", inputs.size(), "out size", out.size())
hidden = torch.randn(1, 3, 2)
inputs = torch.Tensor([[h, e, l_, l_, o], [e, o, l_, l_, l_], [l_, l_, e, e, l_]])
out, hidden = cell(inputs, hidden)
print("batch input size", inputs.size(), "out size", out.size())
cell = nn.RNN(input_size=4, hidden_size=2)
inputs = inputs.transpose(dim0=0, dim1=1)
out, hidden = cell(inputs, hidden)
print("batch input size", inputs.size(), "out size", out.size())
tour = out.sum().item()

# the training
idx2char = ["h", "i", "e", "l", "o"]
x_data = [0, 1, 0, 2, 3, 3]
one_hot_lookup = [
    [1, 0, 0, 0, 0],
    [0, 1, 0, 0, 0],
    [0, 0, 1, 0, 0],
    [0, 0, 0, 1, 0],
    [0, 0, 0, 0, 1],
]
y_data = [1, 0, 2, 3, 3, 4]
x_one_hot = [one_hot_lookup[x] for x in x_data]
inputs = torch.Tensor(x_one_hot)
labels = torch.LongTensor(y_data)

num_classes = 5
input_size = 5
hidden_size = 5
batch_size = 1
sequence_length = 1
num_layers = 1


class Model(nn.Module):
    def __init__(self):
        super(Model, self).__init__()
        self.rnn = nn.RNN(input_size=input_size, hidden_size=hidden_size, batch_first=True)

    def forward(self, hidden, x):
        x = x.view(batch_size, sequence_length, input_size)
        out, hidden = self.rnn(x, hidden)
        return hidden, out.view(-1, num_classes)

    def init_hidden(self):
        return torch.zeros(num_layers, batch_size, hidden_size)


model = Model()
print(model)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)

for epoch in range(10 if QUICK else 100):
    optimizer.zero_grad()
    loss = 0
    hidden = model.init_hidden()
    predicted = ""
    for input, label in zip(inputs, labels):
        hidden, output = model(hidden, input)
        val, idx = output.max(1)
        predicted += idx2char[idx.item()]
        loss += criterion(output, torch.LongTensor([label]))
    sys.stdout.write("predicted string: %s" % predicted)
    print(", epoch: %d, loss: %1.3f" % (epoch + 1, loss))
    loss.backward()
    optimizer.step()

print("Learning finished!")
correct = sum(a == b for a, b in zip(predicted, "ihello")) / 6
print("FINAL loss=%.8g accuracy=%.8g tour=%.8g" % (loss.item(), correct, tour))
