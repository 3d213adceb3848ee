"""Stateful two-layer nn.RNN language model on "human numbers" with truncated BPTT.

The state lives on the module as a plain ``torch.zeros(n_layers, bs, n_hidden)`` attribute,
is replaced by ``h.detach()`` after every batch and reset with ``self.h.zero_()`` at every
epoch; the decoder shares the embedding's weight (weight tying); AdamW with
``clip_grad_norm_`` (its returned norm read with ``.item()``); evaluation under
``torch.no_grad()`` (``inference_mode`` would make the stored state an inference tensor that
``zero_()`` then refuses). Stands for S27 (LMModel5) and S03 of docs/compat.md.
"""

import os

import torch
import torch.nn.functional as F
from torch import nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(21)

ones = "one two three four five six seven eight nine".split()
teens = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
tens = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def words(n):
    if n >= 100:
        rest = words(n % 100) if n % 100 else []
        return [ones[n // 100 - 1], "hundred"] + rest
    if n < 10:
        return [ones[n - 1]]
    if n < 20:
        return [teens[n - 10]]
    return [tens[n // 10 - 2]] + ([ones[n % 10 - 1]] if n % 10 else [])


tokens = []
for n in range(1, 400):
    tokens += words(n) + ["."]
vocab = sorted(set(tokens))
nums = torch.tensor([vocab.index(t) for t in tokens])

bs, sl = 8, 16
n_hidden, n_layers = 48, 2
stream = nums[: (len(nums) // bs) * bs].view(bs, -1)
cut = int(stream.size(1) * 0.8)
train_stream, valid_stream = stream[:, :cut], stream[:, cut:]


def batches(s):
    for i in range(0, s.size(1) - sl - 1, sl):
        yield s[:, i : i + sl], s[:, i + 1 : i + sl + 1]


class LMModel5(nn.Module):
    def __init__(self, vocab_sz, n_hidden, n_layers):
        super().__init__()
        self.i_h = nn.Embedding(vocab_sz, n_hidden)
        self.rnn = nn.RNN(n_hidden, n_hidden, n_layers, batch_first=True)
        self.h_o = nn.Linear(n_hidden, vocab_sz)
        self.h_o.weight = self.i_h.weight
        self.h = torch.zeros(n_layers, bs, n_hidden)

    def forward(self, x):
        res, h = self.rnn(self.i_h(x), self.h)
        self.h = h.detach()
        return self.h_o(res)

    def reset(self):
        self.h.zero_()


model = LMModel5(len(vocab), n_hidden, n_layers)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
epochs = 2 if QUICK else 30
for epoch in range(epochs):
    model.train()
    model.reset()
    for x, y in batches(train_stream):
        out = model(x)
        loss = F.cross_entropy(out.view(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
    model.eval()
    model.reset()
    with torch.no_grad():
        correct = total = 0
        vloss = 0.0
        nb = 0
        for x, y in batches(valid_stream):
            out = model(x)
            vloss += F.cross_entropy(out.view(-1, len(vocab)), y.reshape(-1)).item()
            correct += (out.argmax(-1) == y).sum().item()
            total += y.numel()
            nb += 1
    if epoch % 5 == 0 or epoch == epochs - 1:
        print(
            "epoch %d train %.4f valid %.4f acc %.4f norm %.3f"
            % (epoch, loss.item(), vloss / nb, correct / total, norm.item())
        )
print("FINAL loss=%.8g accuracy=%.8g" % (vloss / nb, correct / total))
