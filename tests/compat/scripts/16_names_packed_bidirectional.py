"""Classify surnames with a packed, bidirectional, two-layer nn.RNN over ASCII codes.

A Dataset of ``(name, country)`` strings (the DataLoader's default collation hands back
tuples of strings), padding into ``torch.zeros((n, lengths.max())).long()``, sorting with
``lengths.sort(0, descending=True)`` and reordering by the permutation tensor,
``pack_padded_sequence`` with NumPy lengths, ``flatten_parameters()``, ``hidden[-1]`` into the
head, ``output.data.max(1, keepdim=True)[1]`` and ``pred.eq(target.data.view_as(pred))``.
Stands for S10 (with nn.RNN in place of nn.GRU) of docs/compat.md.
"""

import os
import random

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, Dataset

QUICK = os.environ.get("COMPAT_QUICK") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))

HIDDEN_SIZE = 32
N_LAYERS = 2
BATCH_SIZE = 16
N_EPOCHS = 1 if QUICK else 12
N_CHARS = 128

torch.manual_seed(10)
random.seed(10)

rows = []
with open(os.path.join(HERE, "..", "data", "names.txt"), encoding="utf-8") as f:
    for line in f:
        if not line.startswith("#"):
            country, name = line.strip().split(",")
            rows.append((name, country))
random.shuffle(rows)
split = int(len(rows) * 0.8)


class NameDataset(Dataset):
    def __init__(self, is_train_set=False):
        chosen = rows[:split] if is_train_set else rows[split:]
        self.names = [r[0] for r in chosen]
        self.countries = [r[1] for r in chosen]
        self.len = len(self.countries)
        self.country_list = sorted(set(r[1] for r in rows))

    def __getitem__(self, index):
        return self.names[index], self.countries[index]

    def __len__(self):
        return self.len

    def get_countries(self):
        return self.country_list

    def get_country_id(self, country):
        return self.country_list.index(country)


train_dataset = NameDataset(is_train_set=True)
test_dataset = NameDataset(is_train_set=False)
train_loader = DataLoader(dataset=train_dataset, batch_size=BATCH_SIZE, shuffle=True)
test_loader = DataLoader(dataset=test_dataset, batch_size=BATCH_SIZE, shuffle=True)
N_COUNTRIES = len(train_dataset.get_countries())


def create_variable(tensor):
    if torch.cuda.is_available():
        return tensor.cuda()
    return tensor


def pad_sequences(vectorized_seqs, seq_lengths, countries):
    seq_tensor = torch.zeros((len(vectorized_seqs), seq_lengths.max())).long()
    for idx, (seq, seq_len) in enumerate(zip(vectorized_seqs, seq_lengths)):
        seq_tensor[idx, :seq_len] = torch.LongTensor(seq)
    seq_lengths, perm_idx = seq_lengths.sort(0, descending=True)
    seq_tensor = seq_tensor[perm_idx]
    target = torch.LongTensor([train_dataset.get_country_id(c) for c in countries])
    if len(countries):
        target = target[perm_idx]
    return create_variable(seq_tensor), create_variable(seq_lengths), create_variable(target)


def make_variables(names, countries):
    vectorized_seqs = [[ord(c) for c in name] for name in names]
    seq_lengths = torch.LongTensor([len(s) for s in vectorized_seqs])
    return pad_sequences(vectorized_seqs, seq_lengths, countries)


class RNNClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, n_layers=1, bidirectional=True):
        super(RNNClassifier, self).__init__()
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.n_directions = int(bidirectional) + 1
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.rnn = nn.RNN(hidden_size, hidden_size, n_layers, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, input, seq_lengths):
        input = input.t()
        batch_size = input.size(1)
        hidden = self._init_hidden(batch_size)
        embedded = self.embedding(input)
        rnn_input = pack_padded_sequence(embedded, seq_lengths.data.cpu().numpy())
        self.rnn.flatten_parameters()
        output, hidden = self.rnn(rnn_input, hidden)
        fc_output = self.fc(hidden[-1])
        return fc_output

    def _init_hidden(self, batch_size):
        hidden = torch.zeros(self.n_layers * self.n_directions, batch_size, self.hidden_size)
        return create_variable(hidden)


classifier = RNNClassifier(N_CHARS, HIDDEN_SIZE, N_COUNTRIES, N_LAYERS)
if torch.cuda.device_count() > 1:
    classifier = nn.DataParallel(classifier)
if torch.cuda.is_available():
    classifier.cuda()
optimizer = torch.optim.Adam(classifier.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()


def train():
    total_loss = 0
    for i, (names, countries) in enumerate(train_loader, 1):
        input, seq_lengths, target = make_variables(names, countries)
        output = classifier(input, seq_lengths)
        loss = criterion(output, target)
        total_loss += loss.item()
        classifier.zero_grad()
        loss.backward()
        optimizer.step()
    return total_loss / i


def test():
    correct = 0
    data_size = len(test_loader.dataset)
    with torch.no_grad():
        for names, countries in test_loader:
            input, seq_lengths, target = make_variables(names, countries)
            output = classifier(input, seq_lengths)
            pred = output.data.max(1, keepdim=True)[1]
            correct += pred.eq(target.data.view_as(pred)).cpu().sum()
    print(
        "Test set: Accuracy: {}/{} ({:.0f}%)".format(
            correct, data_size, 100.0 * correct / data_size
        )
    )
    return correct.item() / data_size


for epoch in range(1, N_EPOCHS + 1):
    train_loss = train()
    accuracy = test()
    print("epoch %d train loss %.4f" % (epoch, train_loss))

print("FINAL loss=%.8g accuracy=%.8g" % (train_loss, accuracy))
