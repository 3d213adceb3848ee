"""Character language model in the textbook style: one-hot inputs, sequential batches, perplexity.

A vocabulary of characters, batches cut sequentially from a random offset, an ``RNNModel``
wrapping ``nn.RNN(len(vocab), hidden)`` that one-hot encodes with ``F.one_hot(inputs.T.long(),
vocab_size).to(torch.float32)``; the state kept across batches with ``state.detach_()``;
``loss(y_hat, y.long()).mean()``; gradient clipping by hand (``torch.sqrt(sum(torch.sum(p.grad
** 2)))`` and ``p.grad[:] *= theta / norm``); ``torch.optim.SGD``; perplexity ``exp`` of the mean
loss; greedy prediction with ``int(y.argmax(dim=1).reshape(1))``. Stands for S19 of
docs/compat.md.
"""

import math
import os
import random
import time

import torch
from torch import nn
from torch.nn import functional as F

QUICK = os.environ.get("COMPAT_QUICK") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))
random.seed(19)
torch.manual_seed(19)

with open(os.path.join(HERE, "..", "data", "text.txt"), encoding="utf-8") as f:
    raw = f.read().replace("\n", " ")
idx_to_token = sorted(set(raw))
token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
corpus = [token_to_idx[c] for c in raw]
batch_size, num_steps = 16, 20


def seq_data_iter_sequential(corpus, batch_size, num_steps):
    offset = random.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[offset : offset + num_tokens])
    Ys = torch.tensor(corpus[offset + 1 : offset + 1 + num_tokens])
    Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        X = Xs[:, i : i + num_steps]
        Y = Ys[:, i : i + num_steps]
        yield X, Y


class RNNModel(nn.Module):
    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super(RNNModel, self).__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        if not self.rnn.bidirectional:
            self.num_directions = 1
            self.linear = nn.Linear(self.num_hiddens, self.vocab_size)
        else:
            self.num_directions = 2
            self.linear = nn.Linear(self.num_hiddens * 2, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size)
        X = X.to(torch.float32)
        Y, state = self.rnn(X, state)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, device, batch_size=1):
        return torch.zeros(
            (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens), device=device
        )


def predict(prefix, num_preds, net, device):
    state = net.begin_state(batch_size=1, device=device)
    outputs = [token_to_idx[prefix[0]]]

    def get_input():
        return torch.tensor([outputs[-1]], device=device).reshape((1, 1))

    for y in prefix[1:]:
        _, state = net(get_input(), state)
        outputs.append(token_to_idx[y])
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join([idx_to_token[i] for i in outputs])


def grad_clipping(net, theta):
    if isinstance(net, nn.Module):
        params = [p for p in net.parameters() if p.requires_grad]
    else:
        params = net.params
    norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def train_epoch(net, loss, updater, device):
    state = None
    loss_sum, n_tokens = 0.0, 0
    start = time.time()
    for X, Y in seq_data_iter_sequential(corpus, batch_size, num_steps):
        if state is None:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            if isinstance(net, nn.Module) and not isinstance(state, tuple):
                state.detach_()
            else:
                for s in state:
                    s.detach_()
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            grad_clipping(net, 1)
            updater.step()
        loss_sum += l.item() * y.numel()
        n_tokens += y.numel()
    return math.exp(loss_sum / n_tokens), n_tokens / (time.time() - start)


device = torch.device("cpu")
rnn_layer = nn.RNN(len(idx_to_token), 128)
net = RNNModel(rnn_layer, vocab_size=len(idx_to_token)).to(device)
print(predict("the keeper", 10, net, device))
loss = nn.CrossEntropyLoss()
updater = torch.optim.SGD(net.parameters(), lr=1)
num_epochs = 4 if QUICK else 120
for epoch in range(num_epochs):
    ppl, speed = train_epoch(net, loss, updater, device)
    if (epoch + 1) % (2 if QUICK else 20) == 0:
        print(epoch + 1, "perplexity %.2f" % ppl, predict("the keeper", 30, net, device))
print(f"perplexity {ppl:.1f}, {speed:.1f} tokens/sec on {str(device)}")
print("FINAL loss=%.8g perplexity=%.8g" % (math.log(ppl), ppl))
