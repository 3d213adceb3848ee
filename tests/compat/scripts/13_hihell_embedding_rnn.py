"""Teach "hihell" -> "ihello" to nn.Embedding + two-layer nn.RNN + nn.Linear, whole sequence.

Indices instead of one-hot rows: ``torch.LongTensor([[...]])`` as a batch of one sequence,
an explicit zero ``h_0`` of shape (layers, batch, hidden) built from ``x.size(0)``, outputs
reshaped with ``view(-1, num_classes)``, ``outputs.max(1)`` and ``idx.data.numpy()`` turned
back into characters. Stands for S08 (12_3, 12_4) and S22 of docs/compat.md.
"""

import os

import torch
import torch.nn as nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(777)

idx2char = ["h", "i", "e", "l", "o"]
x_data = [[0, 1, 0, 2, 3, 3]]
y_data = [1, 0, 2, 3, 3, 4]
inputs = torch.LongTensor(x_data)
labels = torch.LongTensor(y_data)

num_classes = 5
input_size = 5
embedding_size = 10
hidden_size = 8
batch_size = 1
sequence_length = 6
num_layers = 2


class Model(nn.Module):
    def __init__(self, num_layers, hidden_size):
        super(Model, self).__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, embedding_size)
        self.rnn = nn.RNN(
            input_size=embedding_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
        )
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h_0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        emb = self.embedding(x)
        emb = emb.view(batch_size, sequence_length, -1)
        out, _ = self.rnn(emb, h_0)
        return self.fc(out.view(-1, self.hidden_size)).view(-1, num_classes)


model = Model(num_layers, hidden_size)
print(model)
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)

for epoch in range(10 if QUICK else 60):
    outputs = model(inputs)
    optimizer.zero_grad()
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    _, idx = outputs.max(1)
    idx = idx.data.numpy()
    result_str = [idx2char[c] for c in idx.squeeze()]
    print("epoch: %d, loss: %1.3f" % (epoch + 1, loss.item()))
    print("Predicted string: ", "".join(result_str))

print("Learning finished!")
accuracy = sum(a == b for a, b in zip(result_str, "ihello")) / 6
print("FINAL loss=%.8g accuracy=%.8g" % (loss.item(), accuracy))
