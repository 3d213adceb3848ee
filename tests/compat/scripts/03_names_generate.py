"""Generate surnames letter by letter, conditioned on the language (hand-made RNN cell).

Category, letter and hidden state are concatenated, three nn.Linear layers, nn.Dropout and
LogSoftmax; the NLL loss is summed over the letters of a name; parameters are updated by hand
with the deprecated ``add_(alpha, other)`` overload (torch warns).
Sampling takes the arg-max letter until the end marker. Stands for S02 of docs/compat.md.
"""

import os
import random
import string

import torch
import torch.nn as nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))

torch.manual_seed(3)
random.seed(3)

all_letters = string.ascii_letters + " .,;'-"
n_letters = len(all_letters) + 1  # plus the end-of-name marker

category_lines = {}
all_categories = []
with open(os.path.join(HERE, "..", "data", "names.txt"), encoding="utf-8") as f:
    for row in f:
        if row.startswith("#"):
            continue
        category, name = row.strip().split(",")
        category_lines.setdefault(category, []).append(name)
        if category not in all_categories:
            all_categories.append(category)
n_categories = len(all_categories)


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
        self.o2o = nn.Linear(hidden_size + output_size, output_size)
        self.dropout = nn.Dropout(0.1)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category, input, hidden):
        input_combined = torch.cat((category, input, hidden), 1)
        hidden = self.i2h(input_combined)
        output = self.i2o(input_combined)
        output_combined = torch.cat((hidden, output), 1)
        output = self.o2o(output_combined)
        output = self.dropout(output)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


def categoryTensor(category):
    li = all_categories.index(category)
    tensor = torch.zeros(1, n_categories)
    tensor[0][li] = 1
    return tensor


def inputTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li in range(len(line)):
        tensor[li][0][all_letters.find(line[li])] = 1
    return tensor


def targetTensor(line):
    letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
    letter_indexes.append(n_letters - 1)
    return torch.LongTensor(letter_indexes)


def randomTrainingExample():
    category = random.choice(all_categories)
    line = random.choice(category_lines[category])
    return categoryTensor(category), inputTensor(line), targetTensor(line)


criterion = nn.NLLLoss()
learning_rate = 0.002
rnn = RNN(n_letters, 96, n_letters)


def train(category_tensor, input_line_tensor, target_line_tensor):
    target_line_tensor.unsqueeze_(-1)
    hidden = rnn.initHidden()
    rnn.zero_grad()
    loss = 0
    for i in range(input_line_tensor.size(0)):
        output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
        step_loss = criterion(output, target_line_tensor[i])
        loss += step_loss
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(-learning_rate, p.grad.data)  # the deprecated (alpha, other) overload
    return output, loss.item() / input_line_tensor.size(0)


n_iters = 300 if QUICK else 8000
total_loss = 0
recent = []
for it in range(1, n_iters + 1):
    output, loss = train(*randomTrainingExample())
    total_loss += loss
    recent.append(loss)
    if it % (100 if QUICK else 1000) == 0:
        print("(%d %d%%) %.4f" % (it, it / n_iters * 100, total_loss / it))

max_length = 12


def sample(category, start_letter="A"):
    with torch.no_grad():
        category_tensor = categoryTensor(category)
        input = inputTensor(start_letter)
        hidden = rnn.initHidden()
        output_name = start_letter
        for i in range(max_length):
            output, hidden = rnn(category_tensor, input[0], hidden)
            topv, topi = output.topk(1)
            topi = topi[0][0]
            if topi == n_letters - 1:
                break
            letter = all_letters[topi]
            output_name += letter
            input = inputTensor(letter)
        return output_name


rnn.eval()
names = []
for category, letters in [("Russian", "RUS"), ("Italian", "ITA"), ("Japanese", "JAP")]:
    for start_letter in letters:
        names.append(sample(category, start_letter))
print(" ".join(names))
avg_letters = sum(len(n) for n in names) / len(names)
print("FINAL loss=%.8g letters=%.8g" % (sum(recent[-100:]) / len(recent[-100:]), avg_letters))
