"""Predict the 5-bit code of the next letter of generated text: a feed-forward baseline
against an Elman cell (nn.RNNCell) trained one character at a time in float64.

Course-notebook idioms: ``torch.from_numpy(np.array(list of lists))`` (float64), modules
turned to float64 with ``.double()``, ``nn.Sigmoid`` outputs with ``nn.MSELoss``, SGD with
momentum, the hidden state detached before every step while ``backward(retain_graph=True)``
is still passed, per-step losses collected with ``.detach().numpy()`` into ``np.append``.
Stands for S21 of docs/compat.md.
"""

import os
import random as rd
import string

import numpy as np
import torch
import torch.nn as nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
rd.seed(21)
torch.manual_seed(21)

lexicon = [
    "un",
    "jour",
    "sur",
    "ses",
    "longs",
    "pieds",
    "allait",
    "je",
    "ne",
    "sais",
    "ou",
    "le",
    "heron",
    "au",
    "long",
    "bec",
]


def generateSentence(lexicon, n_words):
    return "".join(rd.sample(lexicon, n_words))


text = "".join(lexicon)
for n_sentences in range(4 if QUICK else 40):
    text += generateSentence(lexicon, rd.randrange(11, 16))
print("text length (number of characters):", len(text))


def encodeCharacter(char):
    index = string.ascii_lowercase.index(char)
    return [float(x) for x in "{:05b}".format(index)]


input = []
target = []
for i in range(len(text) - 1):
    input.append(encodeCharacter(text[i]))
    target.append(encodeCharacter(text[i + 1]))
input = torch.from_numpy(np.array(input))
target = torch.from_numpy(np.array(target))
print("tensors size :", input.size())


class LinearNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(LinearNN, self).__init__()
        self.linear1 = nn.Linear(input_size, hidden_size)
        self.linear2 = nn.Linear(hidden_size, output_size)
        self.sig = nn.Sigmoid()

    def forward(self, input):
        hidden = self.linear1(input)
        return self.sig(self.linear2(hidden))


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.rnn1 = nn.RNNCell(input_size, hidden_size)
        self.linear = nn.Linear(hidden_size, output_size)
        self.sig = nn.Sigmoid()

    def forward(self, input, hidden):
        hidden = self.rnn1(input, hidden)
        output = self.sig(self.linear(hidden))
        return output, hidden

    def init_hidden(self):
        return torch.zeros(1, self.hidden_size, dtype=torch.double)


n_hidden = 20
iters = 1 if QUICK else 4
criterion = nn.MSELoss()

linearnn = LinearNN(5, n_hidden, 5).double()
optimizer = torch.optim.SGD(linearnn.parameters(), lr=0.1, momentum=0.9)
for it in range(iters):
    running_loss = 0
    for char in range(input.size(0)):
        optimizer.zero_grad()
        output = linearnn(input[char].reshape(1, 5))
        loss = criterion(output, target[char].reshape(1, 5))
        loss.backward(retain_graph=True)
        running_loss += loss.item()
        optimizer.step()
    print("linear iter ", str(it), " average loss :", str(running_loss / input.size(0)))
linear_loss = running_loss / input.size(0)

rnn = RNN(5, n_hidden, 5).double()
optimizer = torch.optim.SGD(rnn.parameters(), lr=0.1, momentum=0.9)
for it in range(iters):
    running_loss = 0
    hidden = rnn.init_hidden()
    for i in range(input.size(0)):
        optimizer.zero_grad()
        output, hidden = rnn(input[i].reshape(1, 5), hidden.detach())
        loss = criterion(output, target[i].reshape(1, 5))
        loss.backward(retain_graph=True)
        running_loss += loss.item()
        optimizer.step()
    print("rnn iter ", str(it), " average loss :", str(running_loss / input.size(0)))

losses = np.empty(0)
with torch.no_grad():
    hidden = rnn.init_hidden()
    for i in range(input.size(0)):
        output, hidden = rnn(input[i].reshape(1, 5), hidden)
        losses = np.append(losses, criterion(output, target[i].reshape(1, 5)).detach().numpy())
print("FINAL loss=%.8g linear_loss=%.8g" % (losses.mean(), linear_loss))
