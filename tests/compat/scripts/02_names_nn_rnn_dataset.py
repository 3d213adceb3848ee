"""Classify surnames with nn.RNN over one-hot letters, a Dataset and random_split.

The revised official tutorial's shape: the device chosen up front, a Dataset subclass holding
one tensor per name, ``random_split`` with a seeded ``torch.Generator``, mini-batches made by
shuffling indices with NumPy, losses summed over a batch, gradient-norm clipping and
``optim.SGD``. Stands for S01 (its revised page) of docs/compat.md.
"""

import os
import random
import string

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import Dataset

QUICK = os.environ.get("COMPAT_QUICK") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))

device = torch.device("cpu")
if torch.cuda.is_available():
    device = torch.device("cuda")
torch.set_default_device(device)
print(f"Using device = {torch.get_default_device()}")

torch.manual_seed(2024)
random.seed(2024)
np.random.seed(2024)

allowed_characters = string.ascii_letters + " .,;'" + "_"
n_letters = len(allowed_characters)


def letterToIndex(letter):
    if letter not in allowed_characters:
        return allowed_characters.find("_")
    return allowed_characters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class NamesDataset(Dataset):
    def __init__(self, path):
        labels_set = set()
        self.data = []
        self.data_tensors = []
        self.labels = []
        self.labels_tensors = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                label, name = line.strip().split(",")
                labels_set.add(label)
                self.data.append(name)
                self.data_tensors.append(lineToTensor(name))
                self.labels.append(label)
        self.labels_uniq = sorted(labels_set)
        for idx in range(len(self.labels)):
            temp_tensor = torch.tensor([self.labels_uniq.index(self.labels[idx])], dtype=torch.long)
            self.labels_tensors.append(temp_tensor)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return self.labels_tensors[idx], self.data_tensors[idx], self.labels[idx], self.data[idx]


alldata = NamesDataset(os.path.join(HERE, "..", "data", "names.txt"))
train_set, test_set = torch.utils.data.random_split(
    alldata, [0.85, 0.15], generator=torch.Generator(device=device).manual_seed(2024)
)
print(f"train examples = {len(train_set)}, validation examples = {len(test_set)}")


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


def label_from_output(output, output_labels):
    top_n, top_i = output.topk(1)
    label_i = top_i[0].item()
    return output_labels[label_i], label_i


def train(rnn, training_data, n_epoch, n_batch_size, report_every, learning_rate):
    current_loss = 0
    all_losses = []
    rnn.train()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss()
    for it in range(1, n_epoch + 1):
        rnn.zero_grad()
        batches = list(range(len(training_data)))
        random.shuffle(batches)
        batches = np.array_split(batches, len(batches) // n_batch_size)
        for idx, batch in enumerate(batches):
            batch_loss = 0
            for i in batch:
                (label_tensor, text_tensor, label, text) = training_data[i]
                output = rnn.forward(text_tensor)
                loss = criterion(output, label_tensor)
                batch_loss += loss
            batch_loss.backward()
            nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            optimizer.step()
            optimizer.zero_grad()
            current_loss += batch_loss.item() / len(batch)
        all_losses.append(current_loss / len(batches))
        if it % report_every == 0:
            print(f"{it} ({it / n_epoch:.0%}): \t average batch loss = {all_losses[-1]}")
        current_loss = 0
    return all_losses


rnn = CharRNN(n_letters, 64, len(alldata.labels_uniq))
print(rnn)
all_losses = train(
    rnn,
    train_set,
    n_epoch=2 if QUICK else 20,
    n_batch_size=32,
    report_every=1 if QUICK else 5,
    learning_rate=0.15,
)

rnn.eval()
classes = alldata.labels_uniq
confusion = torch.zeros(len(classes), len(classes))
with torch.no_grad():
    for i in range(len(test_set)):
        (label_tensor, text_tensor, label, text) = test_set[i]
        output = rnn(text_tensor)
        guess, guess_i = label_from_output(output, classes)
        label_i = classes.index(label)
        confusion[label_i][guess_i] += 1
accuracy = (confusion.diag().sum() / confusion.sum()).item()
for i in range(len(classes)):
    denom = confusion[i].sum()
    if denom > 0:
        confusion[i] = confusion[i] / denom
print(confusion.cpu().numpy().round(2))
print("FINAL loss=%.8g accuracy=%.8g" % (all_losses[-1], accuracy))
