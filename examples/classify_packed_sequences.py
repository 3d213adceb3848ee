"""A many-to-one classifier on variable-length sequences, with packed sequences.

Each sequence (length 5 to 30) is noise around one of three patterns; the model reads it with a
2-layer bidirectional RNN and classifies it from h_n.
Run: python examples/classify_packed_sequences.py [steps]
"""

import sys

import numpy as np

import elman
import elman.nn as nn
from elman import optim
from elman.nn.utils.rnn import pack_padded_sequence

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
elman.manual_seed(0)
rng = np.random.default_rng(0)
patterns = rng.standard_normal((3, 30, 4)).astype(np.float32)


def batch(n):
    labels = rng.integers(0, 3, size=n)
    lengths = rng.integers(5, 31, size=n)
    x = patterns[labels] + 1.0 * rng.standard_normal((n, 30, 4)).astype(np.float32)
    x[np.arange(30)[None, :] >= lengths[:, None]] = 0.0  # padding
    return x, lengths, labels


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(4, 32, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(64, 3)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(packed)  # (layers * 2, N, 32), original batch order
        return self.fc(elman.cat([h_n[-2], h_n[-1]], dim=1))


model = Classifier()
optimizer = optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss()
for step in range(steps):
    x, lengths, labels = batch(32)
    loss = loss_fn(model(elman.from_numpy(x), lengths), elman.from_numpy(labels))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step % 50 == 0:
        print(f"step {step:4d}  loss {loss.item():.4f}")

x, lengths, labels = batch(500)
with elman.no_grad():
    pred = model(elman.from_numpy(x), lengths).argmax(dim=1).numpy()
print(f"accuracy on 500 new sequences: {np.mean(pred == labels):.3f} (chance 0.333)")
