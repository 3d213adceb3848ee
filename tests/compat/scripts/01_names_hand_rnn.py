"""Classify surnames by language with a hand-made RNN cell (two nn.Linear on [x, h]).

One name at a time, one-hot letters, ``F.tanh``, ``nn.LogSoftmax()`` without a ``dim`` (torch
warns and picks dim 1), NLLLoss, the plain SGD update written out by hand on ``p.data``,
``topk`` and a confusion matrix. Stands for S01 and S15 of docs/compat.md.
"""

import math
import os
import random
import string
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

QUICK = os.environ.get("COMPAT_QUICK") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))

torch.manual_seed(0)
random.seed(0)

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)

category_lines = {}
all_categories = []
with open(os.path.join(HERE, "..", "data", "names.txt"), encoding="utf-8") as f:
    for line in f:
        if line.startswith("#"):
            continue
        category, name = line.strip().split(",")
        if category not in category_lines:
            all_categories.append(category)
            category_lines[category] = []
        category_lines[category].append(name)
n_categories = len(all_categories)


def letterToIndex(letter):
    return all_letters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax()  # no dim: the implicit-dim warning, dim=1 on 2-D

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = F.tanh(self.i2h(combined))
        output = self.i2o(combined)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


n_hidden = 64
rnn = RNN(n_letters, n_hidden, n_categories)
criterion = nn.NLLLoss()
learning_rate = 0.01


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


def randomChoice(items):
    return items[random.randint(0, len(items) - 1)]


def randomTrainingExample():
    category = randomChoice(all_categories)
    line = randomChoice(category_lines[category])
    category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
    line_tensor = lineToTensor(line)
    return category, line, category_tensor, line_tensor


def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


def timeSince(since):
    s = time.time() - since
    m = math.floor(s / 60)
    s -= m * 60
    return "%dm %ds" % (m, s)


n_iters = 300 if QUICK else 6000
print_every = 100 if QUICK else 1000
current_loss = 0
all_losses = []
start = time.time()
for it in range(1, n_iters + 1):
    category, line, category_tensor, line_tensor = randomTrainingExample()
    output, loss = train(category_tensor, line_tensor)
    current_loss += loss
    if it % print_every == 0:
        guess, guess_i = categoryFromOutput(output)
        correct = "ok" if guess == category else "no (%s)" % category
        print(
            "%d %d%% (%s) %.4f %s / %s %s"
            % (it, it / n_iters * 100, timeSince(start), loss, line, guess, correct)
        )
        all_losses.append(current_loss / print_every)
        current_loss = 0


def evaluate(line_tensor):
    hidden = rnn.initHidden()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    return output


confusion = torch.zeros(n_categories, n_categories)
with torch.no_grad():
    for category in all_categories:
        for line in category_lines[category]:
            output = evaluate(lineToTensor(line))
            guess, guess_i = categoryFromOutput(output)
            confusion[all_categories.index(category)][guess_i] += 1
accuracy = confusion.diag().sum() / confusion.sum()
for i in range(n_categories):
    confusion[i] = confusion[i] / confusion[i].sum()
print(confusion.numpy().round(2))


def predict(input_line, n_predictions=3):
    with torch.no_grad():
        output = evaluate(lineToTensor(input_line))
        topv, topi = output.topk(n_predictions, 1, True)
        for i in range(n_predictions):
            value = topv[0][i].item()
            category_index = topi[0][i].item()
            print("(%.2f) %s" % (value, all_categories[category_index]))


predict("Dovesky")
predict("Satoshi")
print("FINAL loss=%.8g accuracy=%.8g" % (all_losses[-1], accuracy))
