"""Predict the last word of short sentences from the words before it (sequence-first nn.RNN).

One-hot inputs from ``np.eye(n_class)[ids]`` stacked into ``torch.FloatTensor(np.array(...))``,
a head made of ``nn.Linear(bias=False)`` plus a separate ``nn.Parameter`` bias,
``X.transpose(0, 1)``, ``outputs[-1]``, ``'{:.6f}'.format(loss)`` on a tensor and
``.data.max(1, keepdim=True)[1]`` read back with ``.item()``. Stands for S12 of
docs/compat.md.
"""

import os

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(14)


def make_batch():
    input_batch = []
    target_batch = []
    for sen in sentences:
        word = sen.split()
        input = [word_dict[n] for n in word[:-1]]
        target = word_dict[word[-1]]
        input_batch.append(np.eye(n_class)[input])
        target_batch.append(target)
    return input_batch, target_batch


class TextRNN(nn.Module):
    def __init__(self):
        super(TextRNN, self).__init__()
        self.rnn = nn.RNN(input_size=n_class, hidden_size=n_hidden)
        self.W = nn.Linear(n_hidden, n_class, bias=False)
        self.b = nn.Parameter(torch.ones([n_class]))

    def forward(self, hidden, X):
        X = X.transpose(0, 1)
        outputs, hidden = self.rnn(X, hidden)
        outputs = outputs[-1]
        model = self.W(outputs) + self.b
        return model


if __name__ == "__main__":
    n_hidden = 8
    sentences = [
        "i like dog",
        "i love coffee",
        "i hate milk",
        "you like cats",
        "we drink tea",
        "they hate rain",
        "she reads books",
        "he plays chess",
    ]
    word_list = " ".join(sentences).split()
    word_list = sorted(set(word_list))
    word_dict = {w: i for i, w in enumerate(word_list)}
    number_dict = {i: w for i, w in enumerate(word_list)}
    n_class = len(word_dict)
    batch_size = len(sentences)

    model = TextRNN()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)

    input_batch, target_batch = make_batch()
    input_batch = torch.FloatTensor(np.array(input_batch))
    target_batch = torch.LongTensor(target_batch)

    epochs = 300 if QUICK else 4000
    for epoch in range(epochs):
        optimizer.zero_grad()
        hidden = torch.zeros(1, batch_size, n_hidden)
        output = model(hidden, input_batch)
        loss = criterion(output, target_batch)
        if (epoch + 1) % (100 if QUICK else 1000) == 0:
            print("Epoch:", "%04d" % (epoch + 1), "cost =", "{:.6f}".format(loss))
        loss.backward()
        optimizer.step()

    hidden = torch.zeros(1, batch_size, n_hidden)
    predict = model(hidden, input_batch).data.max(1, keepdim=True)[1]
    words = [number_dict[n.item()] for n in predict.squeeze()]
    print([sen.split()[:2] for sen in sentences], "->", words)
    accuracy = sum(w == sen.split()[-1] for w, sen in zip(words, sentences)) / len(sentences)
    print("FINAL loss=%.8g accuracy=%.8g" % (loss.item(), accuracy))
