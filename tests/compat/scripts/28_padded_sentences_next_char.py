"""Next-character prediction on three space-padded sentences with a batch-first nn.RNN.

The walkthrough's idioms: a NumPy float32 one-hot array turned into a tensor with
``torch.from_numpy``, targets built with the legacy ``torch.Tensor(list)`` and converted with
``target_seq.view(-1).long()``, the device picked by ``torch.cuda.is_available()``, the zero
initial state made inside ``forward`` and moved ``.to(device)``, ``out.contiguous().view(-1,
hidden_dim)``, and a prediction read from ``nn.functional.softmax(out[-1], dim=0).data`` with
``torch.max(prob, dim=0)[1].item()``, sampling character by character. Stands for S14 of
docs/compat.md.
"""

import os

import numpy as np
import torch
from torch import nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(14)

text = ["hey how are you", "good i am fine", "have a nice day"]
chars = sorted(set("".join(text)))
int2char = dict(enumerate(chars))
char2int = {char: ind for ind, char in int2char.items()}

maxlen = len(max(text, key=len))
for i in range(len(text)):
    while len(text[i]) < maxlen:
        text[i] += " "

input_seq = []
target_seq = []
for i in range(len(text)):
    input_seq.append(text[i][:-1])
    target_seq.append(text[i][1:])
for i in range(len(text)):
    input_seq[i] = [char2int[character] for character in input_seq[i]]
    target_seq[i] = [char2int[character] for character in target_seq[i]]

dict_size = len(char2int)
seq_len = maxlen - 1
batch_size = len(text)


def one_hot_encode(sequence, dict_size, seq_len, batch_size):
    features = np.zeros((batch_size, seq_len, dict_size), dtype=np.float32)
    for i in range(batch_size):
        for u in range(seq_len):
            features[i, u, sequence[i][u]] = 1
    return features


input_seq = one_hot_encode(input_seq, dict_size, seq_len, batch_size)
input_seq = torch.from_numpy(input_seq)
target_seq = torch.Tensor(target_seq)

is_cuda = torch.cuda.is_available()
if is_cuda:
    device = torch.device("cuda")
else:
    device = torch.device("cpu")


class Model(nn.Module):
    def __init__(self, input_size, output_size, hidden_dim, n_layers):
        super(Model, self).__init__()
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.rnn = nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_size)

    def forward(self, x):
        batch_size = x.size(0)
        hidden = self.init_hidden(batch_size)
        out, hidden = self.rnn(x, hidden)
        out = out.contiguous().view(-1, self.hidden_dim)
        out = self.fc(out)
        return out, hidden

    def init_hidden(self, batch_size):
        hidden = torch.zeros(self.n_layers, batch_size, self.hidden_dim).to(device)
        return hidden


model = Model(input_size=dict_size, output_size=dict_size, hidden_dim=12, n_layers=1)
model = model.to(device)
n_epochs = 20 if QUICK else 200
lr = 0.01
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=lr)

input_seq = input_seq.to(device)
for epoch in range(1, n_epochs + 1):
    optimizer.zero_grad()
    output, hidden = model(input_seq)
    output = output.to(device)
    target_seq = target_seq.to(device)
    loss = criterion(output, target_seq.view(-1).long())
    loss.backward()
    optimizer.step()
    if epoch % 10 == 0:
        print("Epoch: {}/{}.............".format(epoch, n_epochs), end=" ")
        print("Loss: {:.4f}".format(loss.item()))


def predict(model, character):
    character = np.array([[char2int[c] for c in character]])
    character = one_hot_encode(character, dict_size, character.shape[1], 1)
    character = torch.from_numpy(character)
    character = character.to(device)
    out, hidden = model(character)
    prob = nn.functional.softmax(out[-1], dim=0).data
    char_ind = torch.max(prob, dim=0)[1].item()
    return int2char[char_ind], hidden


def sample(model, out_len, start="hey"):
    model.eval()
    start = start.lower()
    chars = [ch for ch in start]
    size = out_len - len(chars)
    for ii in range(size):
        char, h = predict(model, chars)
        chars.append(char)
    return "".join(chars)


samples = [sample(model, 15, s) for s in ("good", "hey", "have")]
print(samples)
truth = {t.split()[0]: t for t in text}
matches = sum(a == b for s in samples for a, b in zip(s, truth[s.split()[0]])) / (15 * 3)
print("FINAL loss=%.8g accuracy=%.8g" % (loss.item(), matches))
