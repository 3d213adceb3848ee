"""Sentence sentiment with frozen "pretrained" embeddings and a bidirectional 2-layer nn.RNN.

Fixed-length synthetic sentences; an nn.Embedding whose weight is replaced by
``nn.Parameter(weights, requires_grad=False)``; the final states of both directions and both
layers permuted and flattened into the head; ``optim.Adam(filter(lambda p: p.requires_grad,
...))``; ``F.cross_entropy``; gradient clipping by hand with ``p.grad.data.clamp_``; mini-batches
from ``torch.randperm``; the best weights kept with ``torch.save(model.state_dict(), ...)`` and
``load_state_dict(torch.load(...))``; a final ``F.softmax`` / ``torch.argmax`` prediction.
Stands for S26 and S18 of docs/compat.md.
"""

import os
import random
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

QUICK = os.environ.get("COMPAT_QUICK") == "1"
SEED = 1234
random.seed(SEED)
torch.manual_seed(SEED)
torch.backends.cudnn.deterministic = True

positive = ["good", "great", "fine", "lovely", "superb", "happy", "bright", "calm"]
negative = ["bad", "awful", "poor", "sad", "dull", "grim", "noisy", "broken"]
neutral = ["the", "a", "film", "boat", "was", "and", "very", "quite", "it", "day", "sea", "is"]
vocab = ["<pad>"] + positive + negative + neutral
stoi = {w: i for i, w in enumerate(vocab)}
fix_length = 12


def make_sentence():
    label = random.randint(0, 1)
    strong = positive if label == 1 else negative
    weak = negative if label == 1 else positive
    words = random.choices(neutral, k=fix_length - 3) + random.choices(strong, k=2)
    words += random.choices(weak if random.random() < 0.3 else strong, k=1)
    random.shuffle(words)
    return [stoi[w] for w in words], label


def make_split(n):
    pairs = [make_sentence() for _ in range(n)]
    text = torch.LongTensor([p[0] for p in pairs])
    label = torch.LongTensor([p[1] for p in pairs])
    return text, label


train_text, train_label = make_split(256 if QUICK else 1200)
valid_text, valid_label = make_split(200)
test_text, test_label = make_split(200)

embedding_length = 24
word_embeddings = (
    torch.randn(len(vocab), embedding_length, generator=torch.Generator().manual_seed(7)) * 0.5
)


class RNN(nn.Module):
    def __init__(self, batch_size, output_size, hidden_size, vocab_size, embedding_length, weights):
        super(RNN, self).__init__()
        self.batch_size = batch_size
        self.output_size = output_size
        self.hidden_size = hidden_size
        self.word_embeddings = nn.Embedding(vocab_size, embedding_length)
        self.word_embeddings.weight = nn.Parameter(weights, requires_grad=False)
        self.rnn = nn.RNN(embedding_length, hidden_size, num_layers=2, bidirectional=True)
        self.label = nn.Linear(4 * hidden_size, output_size)

    def forward(self, input_sentences, batch_size=None):
        input = self.word_embeddings(input_sentences)
        input = input.permute(1, 0, 2)
        if batch_size is None:
            h_0 = Variable(torch.zeros(4, self.batch_size, self.hidden_size))
        else:
            h_0 = Variable(torch.zeros(4, batch_size, self.hidden_size))
        output, h_n = self.rnn(input, h_0)
        h_n = h_n.permute(1, 0, 2)
        h_n = h_n.contiguous().view(h_n.size()[0], h_n.size()[1] * h_n.size()[2])
        logits = self.label(h_n)
        return logits


def clip_gradient(model, clip_value):
    params = list(filter(lambda p: p.grad is not None, model.parameters()))
    for p in params:
        p.grad.data.clamp_(-clip_value, clip_value)


batch_size = 32
model = RNN(batch_size, 2, 32, len(vocab), embedding_length, word_embeddings)
loss_fn = F.cross_entropy
optim = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=3e-3)
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("trainable parameters:", n_params)


def train_model(model, epoch):
    total_epoch_loss = 0
    total_epoch_acc = 0
    model.train()
    perm = torch.randperm(train_text.size(0))
    steps = 0
    for idx in range(0, perm.size(0) - batch_size + 1, batch_size):
        batch_idx = perm[idx : idx + batch_size]
        text = train_text[batch_idx]
        target = Variable(train_label[batch_idx]).long()
        optim.zero_grad()
        prediction = model(text)
        loss = loss_fn(prediction, target)
        num_corrects = (
            (torch.max(prediction, 1)[1].view(target.size()).data == target.data).float().sum()
        )
        acc = 100.0 * num_corrects / len(batch_idx)
        loss.backward()
        clip_gradient(model, 1e-1)
        optim.step()
        steps += 1
        total_epoch_loss += loss.item()
        total_epoch_acc += acc.item()
    return total_epoch_loss / steps, total_epoch_acc / steps


def eval_model(model, text_all, label_all):
    total_epoch_loss = 0
    total_epoch_acc = 0
    model.eval()
    steps = 0
    with torch.no_grad():
        for idx in range(0, text_all.size(0) - batch_size + 1, batch_size):
            text = text_all[idx : idx + batch_size]
            target = label_all[idx : idx + batch_size]
            prediction = model(text)
            loss = loss_fn(prediction, target)
            num_corrects = (
                torch.max(prediction, 1)[1].view(target.size()).data == target.data
            ).sum()
            acc = 100.0 * num_corrects / batch_size
            total_epoch_loss += loss.item()
            total_epoch_acc += acc.item()
            steps += 1
    return total_epoch_loss / steps, total_epoch_acc / steps


best_valid_loss = float("inf")
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "rnn-model.pt")
    for epoch in range(1 if QUICK else 8):
        train_loss, train_acc = train_model(model, epoch)
        val_loss, val_acc = eval_model(model, valid_text, valid_label)
        if val_loss < best_valid_loss:
            best_valid_loss = val_loss
            torch.save(model.state_dict(), path)
        print(
            f"Epoch: {epoch + 1:02}, Train Loss: {train_loss:.3f}, Train Acc: {train_acc:.2f}%,"
            f" Val. Loss: {val_loss:3f}, Val. Acc: {val_acc:.2f}%"
        )
    model.load_state_dict(torch.load(path))

test_loss, test_acc = eval_model(model, test_text, test_label)
print(f"Test Loss: {test_loss:.3f}, Test Acc: {test_acc:.2f}%")

test_sen = torch.LongTensor(
    [
        [
            stoi[w]
            for w in "the sea was calm and the day was very bright and happy".split()[:fix_length]
        ]
    ]
)
model.eval()
output = model(test_sen, 1)
out = F.softmax(output, 1)
if torch.argmax(out[0]) == 1:
    print("Sentiment: Positive")
else:
    print("Sentiment: Negative")
print("FINAL loss=%.8g accuracy=%.8g positive=%.8g" % (test_loss, test_acc / 100, out[0, 1].item()))
