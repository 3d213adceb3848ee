"""Classify simulated 3-axis sensor windows (activity recognition) with a 2-layer nn.RNN.

A map-style Dataset returning ``(float32 ndarray, int)`` pairs, so the DataLoader's default
collation turns NumPy arrays and Python ints into tensors; ``random_split``; the output of
every step flattened with ``out.reshape(out.shape[0], -1)`` into the head (many-to-one over the
whole window); CrossEntropyLoss and Adam; accuracy by ``scores.max(1)`` and ``float()`` counts,
and a NumPy comparison of ``torch.max(test_output, 1)[1].data.numpy()`` after
``.type(torch.FloatTensor)``. Stands for S17, S07 and S05 of docs/compat.md.
"""

import os

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset, random_split

QUICK = os.environ.get("COMPAT_QUICK") == "1"

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(17)

input_size = 3
hidden_size = 48
num_layers = 2
num_classes = 4
sequence_length = 24
learning_rate = 0.005
batch_size = 32
num_epochs = 1 if QUICK else 6


class ActivityWindows(Dataset):
    """Walking, running, climbing, still: class-dependent frequency and amplitude per axis."""

    def __init__(self, n, seed):
        rng = np.random.RandomState(seed)
        t = np.arange(sequence_length) / 8.0
        self.x = np.zeros((n, sequence_length, input_size), dtype=np.float32)
        self.y = rng.randint(0, num_classes, size=n)
        freq = np.array([1.0, 2.2, 0.6, 0.1])
        amp = np.array([1.0, 1.6, 0.8, 0.05])
        for i in range(n):
            c = self.y[i]
            phase = rng.uniform(0, 2 * np.pi, size=input_size)
            for axis in range(input_size):
                self.x[i, :, axis] = amp[c] * np.sin(2 * np.pi * freq[c] * t + phase[axis])
            self.x[i] += rng.normal(0, 0.3, size=(sequence_length, input_size))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index], int(self.y[index])


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size * sequence_length, num_classes)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
        out, _ = self.rnn(x, h0)
        out = out.reshape(out.shape[0], -1)
        out = self.fc(out)
        return out


dataset = ActivityWindows(400 if QUICK else 1600, seed=5)
train_dataset, test_dataset = random_split(
    dataset, [0.75, 0.25], generator=torch.Generator().manual_seed(42)
)
train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)

model = RNN(input_size, hidden_size, num_layers, num_classes).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=learning_rate)

for epoch in range(num_epochs):
    for batch_idx, (data, targets) in enumerate(train_loader):
        data = data.to(device=device)
        targets = targets.to(device=device)
        scores = model(data)
        loss = criterion(scores, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: last batch loss {loss.item():.4f}")


def check_accuracy(loader, model):
    num_correct = 0
    num_samples = 0
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            x = x.to(device=device)
            y = y.to(device=device)
            scores = model(x)
            _, predictions = scores.max(1)
            num_correct += (predictions == y).sum()
            num_samples += predictions.size(0)
        print(
            f"Got {num_correct} / {num_samples} with accuracy "
            f"{float(num_correct) / float(num_samples) * 100:.2f}"
        )
    model.train()
    return float(num_correct) / float(num_samples)


train_acc = check_accuracy(train_loader, model)
test_acc = check_accuracy(test_loader, model)

model.eval()
test_x = torch.stack([torch.from_numpy(test_dataset[i][0]) for i in range(len(test_dataset))])
test_x = test_x.type(torch.FloatTensor)
test_y = np.array([test_dataset[i][1] for i in range(len(test_dataset))])
test_output = model(test_x)
pred_y = torch.max(test_output, 1)[1].data.numpy()
numpy_acc = float((pred_y == test_y).astype(int).sum()) / float(test_y.size)
assert abs(numpy_acc - test_acc) < 1e-9
print("FINAL loss=%.8g accuracy=%.8g train_accuracy=%.8g" % (loss.item(), test_acc, train_acc))
