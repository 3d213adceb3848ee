"""Binary "sentiment" of variable-length token sequences: collate_fn, padding and packing.

Synthetic reviews (positive, negative and neutral token ids) of random length; a
``collate_fn`` with ``pad_sequence(batch_first=True)``; ``pack_padded_sequence(...,
batch_first=True, enforce_sorted=False)`` into nn.RNN and ``pad_packed_sequence`` back;
``F.binary_cross_entropy_with_logits`` during training and ``nn.BCEWithLogitsLoss`` in
evaluation; accuracy from ``torch.round(torch.sigmoid(...))`` and from
``(torch.sigmoid(logits) > 0.5).long()``; ``torch.set_grad_enabled(False)`` as a context and an
f-string formatting a tensor. Stands for S25 and S18 of docs/compat.md.
"""

import os
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.backends.cudnn.deterministic = True
RANDOM_SEED = 123
torch.manual_seed(RANDOM_SEED)
random.seed(RANDOM_SEED)

VOCABULARY_SIZE = 20
LEARNING_RATE = 5e-3
BATCH_SIZE = 32
NUM_EPOCHS = 1 if QUICK else 10
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
EMBEDDING_DIM = 16
HIDDEN_DIM = 32
OUTPUT_DIM = 1


def make_review():
    length = random.randint(3, 18)
    tokens = [random.randint(1, VOCABULARY_SIZE - 1) for _ in range(length)]
    score = sum(1 if t <= 5 else -1 if t <= 10 else 0 for t in tokens)
    if score == 0:
        tokens.append(1)
        score = 1
    return torch.tensor(tokens, dtype=torch.long), float(score > 0)


def collate_batch(batch):
    texts = [item[0] for item in batch]
    labels = torch.tensor([item[1] for item in batch], dtype=torch.float)
    lengths = torch.tensor([len(t) for t in texts])
    return pad_sequence(texts, batch_first=True, padding_value=0), lengths, labels


train_data = [make_review() for _ in range(256 if QUICK else 1500)]
test_data = [make_review() for _ in range(300)]
train_loader = DataLoader(train_data, batch_size=BATCH_SIZE, shuffle=True, collate_fn=collate_batch)
test_loader = DataLoader(test_data, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch)


class RNN(nn.Module):
    def __init__(self, input_dim, embedding_dim, hidden_dim, output_dim):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, embedding_dim, padding_idx=0)
        self.rnn = nn.RNN(embedding_dim, hidden_dim, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, text, text_length):
        embedded = self.embedding(text)
        packed = pack_padded_sequence(embedded, text_length, batch_first=True, enforce_sorted=False)
        packed_output, hidden = self.rnn(packed)
        output, output_lengths = pad_packed_sequence(packed_output, batch_first=True)
        last = output[torch.arange(output.size(0)), output_lengths - 1]
        assert torch.equal(last, hidden.squeeze(0))
        return self.fc(hidden.squeeze(0)).view(-1)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


torch.manual_seed(RANDOM_SEED)
model = RNN(VOCABULARY_SIZE, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM).to(DEVICE)
print(f"The model has {count_parameters(model):,} trainable parameters")
optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
criterion = nn.BCEWithLogitsLoss().to(DEVICE)


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    return correct.sum() / len(correct)


def compute_binary_accuracy(model, data_loader, device):
    model.eval()
    correct_pred, num_examples = 0, 0
    with torch.no_grad():
        for text, text_lengths, labels in data_loader:
            logits = model(text.to(device), text_lengths)
            predicted_labels = (torch.sigmoid(logits) > 0.5).long()
            num_examples += labels.size(0)
            correct_pred += (predicted_labels == labels.long()).sum()
    return correct_pred.float() / num_examples * 100


start_time = time.time()
for epoch in range(NUM_EPOCHS):
    model.train()
    for batch_idx, (text, text_lengths, labels) in enumerate(train_loader):
        logits = model(text.to(DEVICE), text_lengths)
        cost = F.binary_cross_entropy_with_logits(logits, labels.to(DEVICE))
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        if not batch_idx % 20:
            print(
                f"Epoch: {epoch + 1:03d}/{NUM_EPOCHS:03d} | Batch {batch_idx:03d}/"
                f"{len(train_loader):03d} | Cost: {cost:.4f}"
            )
    with torch.set_grad_enabled(False):
        print(f"training accuracy: {compute_binary_accuracy(model, train_loader, DEVICE):.2f}%")
    print(f"Time elapsed: {(time.time() - start_time) / 60:.2f} min")

model.eval()
test_loss, test_acc = 0.0, 0.0
with torch.no_grad():
    for text, text_lengths, labels in test_loader:
        predictions = model(text, text_lengths)
        test_loss += criterion(predictions, labels).item()
        test_acc += binary_accuracy(predictions, labels).item()
test_loss /= len(test_loader)
test_acc /= len(test_loader)
percent = compute_binary_accuracy(model, test_loader, DEVICE)
print(f"Test accuracy: {percent:.2f}%")
print("FINAL loss=%.8g accuracy=%.8g" % (test_loss, percent.item() / 100))
