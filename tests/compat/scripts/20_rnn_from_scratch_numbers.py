"""Word-level RNNs written from scratch on "human numbers" (one, two, ..., ninety nine).

Part A keeps raw parameter tensors (``torch.randn(size=...) * 0.01``, ``requires_grad_(True)``),
steps ``torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)`` by hand on one-hot inputs
and updates with ``param -= lr * param.grad`` under ``torch.no_grad()``. Part B is a Module
whose hidden state starts as the Python int 0, adds embeddings, applies ``F.relu`` of a
linear map, stacks the outputs and detaches the state between batches, trained with
``F.cross_entropy`` on ``view(-1, vocab)`` and SGD with momentum. Stands for S19 (scratch part),
S27 (LMModel4) and S01 of docs/compat.md.
"""

import math
import os

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(20)

ones = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
teens = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
tens = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words(n):
    if n < 10:
        return [ones[n - 1]]
    if n < 20:
        return [teens[n - 10]]
    return [tens[n // 10 - 2]] + ([ones[n % 10 - 1]] if n % 10 else [])


tokens = []
for n in range(1, 100):
    tokens += words(n) + ["."]
vocab = sorted(set(tokens))
word2idx = {w: i for i, w in enumerate(vocab)}
nums = torch.tensor([word2idx[t] for t in tokens])
V = len(vocab)
print("tokens:", len(nums), "vocab:", V)

# ---- part A: raw tensors ------------------------------------------------------------------
num_hiddens = 32


def get_params(vocab_size, num_hiddens):
    num_inputs = num_outputs = vocab_size

    def normal(shape):
        return torch.randn(size=shape) * 0.01

    W_xh = normal((num_inputs, num_hiddens))
    W_hh = normal((num_hiddens, num_hiddens))
    b_h = torch.zeros(num_hiddens)
    W_hq = normal((num_hiddens, num_outputs))
    b_q = torch.zeros(num_outputs)
    params = [W_xh, W_hh, b_h, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


def rnn(inputs, state, params):
    W_xh, W_hh, b_h, W_hq, b_q = params
    (H,) = state
    outputs = []
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        Y = torch.mm(H, W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)


params = get_params(V, num_hiddens)
seq, batch = 8, 12
n_chunks = (len(nums) - 1) // (seq * batch)
lr = 1.0
for epoch in range(2 if QUICK else 40):
    state = (torch.zeros((batch, num_hiddens)),)
    total, count = 0.0, 0
    for c in range(n_chunks):
        block = nums[c * seq * batch : (c + 1) * seq * batch + 1]
        X = block[:-1].reshape(batch, seq)
        Y = block[1:].reshape(batch, seq)
        inputs = F.one_hot(X.T, V).type(torch.float32)
        state = tuple(s.detach() for s in state)
        y_hat, state = rnn(inputs, state, params)
        loss = F.cross_entropy(y_hat, Y.T.reshape(-1))
        loss.backward()
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad
                param.grad.zero_()
        total += loss.item()
        count += 1
scratch_ppl = math.exp(total / count)
print("scratch perplexity %.3f" % scratch_ppl)

# ---- part B: Module with a hand loop ------------------------------------------------------
sl = 3
bs = 16
seqs = [(nums[i : i + sl], nums[i + 1 : i + sl + 1]) for i in range(0, len(nums) - sl - 1, sl)]
n_full = len(seqs) // bs * bs
xs = torch.stack([s[0] for s in seqs[:n_full]])
ys = torch.stack([s[1] for s in seqs[:n_full]])
# reorder so that row k of consecutive batches continues the same stream
m = n_full // bs
order = torch.arange(n_full).view(bs, m).t().reshape(-1)
loader = DataLoader(
    TensorDataset(xs[order], ys[order]), batch_size=bs, shuffle=False, drop_last=True
)


class LMModel4(nn.Module):
    def __init__(self, vocab_sz, n_hidden):
        super().__init__()
        self.i_h = nn.Embedding(vocab_sz, n_hidden)
        self.h_h = nn.Linear(n_hidden, n_hidden)
        self.h_o = nn.Linear(n_hidden, vocab_sz)
        self.h = 0

    def forward(self, x):
        outs = []
        for i in range(sl):
            self.h = self.h + self.i_h(x[:, i])
            self.h = F.relu(self.h_h(self.h))
            outs.append(self.h_o(self.h))
        self.h = self.h.detach()
        return torch.stack(outs, dim=1)

    def reset(self):
        self.h = 0


def loss_func(inp, targ):
    return F.cross_entropy(inp.view(-1, len(vocab)), targ.view(-1))


model = LMModel4(V, 64)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for epoch in range(2 if QUICK else 25):
    model.reset()
    model.train()
    for xb, yb in loader:
        loss = loss_func(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.reset()
    model.eval()
    with torch.no_grad():
        correct = total_tokens = 0
        for xb, yb in loader:
            pred = model(xb).argmax(dim=-1)
            correct += (pred == yb).sum().item()
            total_tokens += yb.numel()
    if epoch % 5 == 0:
        print("epoch", epoch, "loss %.4f" % loss.item(), "accuracy %.4f" % (correct / total_tokens))
print(
    "FINAL loss=%.8g accuracy=%.8g scratch_perplexity=%.8g"
    % (loss.item(), correct / total_tokens, scratch_ppl)
)
