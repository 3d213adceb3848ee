"""Encoder-decoder of two nn.RNN: read a word, write it backwards (teacher forcing).

Start/end/padding symbols, one-hot batches from ``np.eye``, the encoder's final state handed to
the decoder, a loss summed over the samples of the batch, ``output.data.max(2,
keepdim=True)[1]`` and decoding by iterating over that tensor to index a Python list; the
reversed targets are made with ``torch.flip``. Both layers are built with ``dropout=0.5`` on
a single layer, which torch answers with a warning. Stands for S13 of docs/compat.md.
"""

import os

import numpy as np
import torch
import torch.nn as nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(13)

n_step = 5
n_hidden = 64
char_arr = [c for c in "SEPabcdefghijklmnopqrstuvwxyz"]
num_dic = {n: i for i, n in enumerate(char_arr)}
words = ["man", "black", "king", "girl", "up", "high", "cold", "tree", "river", "stone"]
n_class = len(num_dic)
batch_size = len(words)


def make_batch():
    input_batch, output_batch, target_batch = [], [], []
    for word in words:
        ids = torch.tensor([num_dic[c] for c in word])
        rev = "".join(char_arr[i] for i in torch.flip(ids, dims=[0]).tolist())
        src = word + "P" * (n_step - len(word))
        dst = rev + "P" * (n_step - len(rev))
        input_batch.append(np.eye(n_class)[[num_dic[n] for n in src]])
        output_batch.append(np.eye(n_class)[[num_dic[n] for n in "S" + dst]])
        target_batch.append([num_dic[n] for n in dst + "E"])
    return (
        torch.FloatTensor(np.array(input_batch)),
        torch.FloatTensor(np.array(output_batch)),
        torch.LongTensor(target_batch),
    )


def make_testbatch(input_word):
    input_w = input_word + "P" * (n_step - len(input_word))
    input_batch = np.eye(n_class)[[num_dic[n] for n in input_w]]
    output_batch = np.eye(n_class)[[num_dic[n] for n in "S" + "P" * n_step]]
    return torch.FloatTensor(input_batch).unsqueeze(0), torch.FloatTensor(output_batch).unsqueeze(0)


class Seq2Seq(nn.Module):
    def __init__(self):
        super(Seq2Seq, self).__init__()
        self.enc_cell = nn.RNN(input_size=n_class, hidden_size=n_hidden, dropout=0.5)
        self.dec_cell = nn.RNN(input_size=n_class, hidden_size=n_hidden, dropout=0.5)
        self.fc = nn.Linear(n_hidden, n_class)

    def forward(self, enc_input, enc_hidden, dec_input):
        enc_input = enc_input.transpose(0, 1)
        dec_input = dec_input.transpose(0, 1)
        _, enc_states = self.enc_cell(enc_input, enc_hidden)
        outputs, _ = self.dec_cell(dec_input, enc_states)
        model = self.fc(outputs)
        return model


model = Seq2Seq()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.002)
input_batch, output_batch, target_batch = make_batch()

for epoch in range(100 if QUICK else 1500):
    hidden = torch.zeros(1, batch_size, n_hidden)
    optimizer.zero_grad()
    output = model(input_batch, hidden, output_batch)
    output = output.transpose(0, 1)
    loss = 0
    for i in range(0, len(target_batch)):
        loss += criterion(output[i], target_batch[i])
    if (epoch + 1) % (50 if QUICK else 500) == 0:
        print("Epoch:", "%04d" % (epoch + 1), "cost =", "{:.6f}".format(loss))
    loss.backward()
    optimizer.step()


def translate(word):
    input_batch, output_batch = make_testbatch(word)
    hidden = torch.zeros(1, 1, n_hidden)
    output = model(input_batch, hidden, output_batch)
    predict = output.data.max(2, keepdim=True)[1]
    decoded = [char_arr[i] for i in predict]
    end = decoded.index("E") if "E" in decoded else len(decoded)
    return "".join(decoded[:end]).replace("P", "")


results = {w: translate(w) for w in words}
print(results)
accuracy = sum(results[w] == w[::-1] for w in words) / len(words)
print("FINAL loss=%.8g accuracy=%.8g" % (loss.item() / batch_size, accuracy))
