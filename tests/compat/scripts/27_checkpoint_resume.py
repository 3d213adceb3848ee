"""Train, checkpoint, "crash", resume: the result must equal the uninterrupted run.

A checkpoint dict (epoch, model/optimizer/scheduler state dicts, loss and the global RNG state
from ``torch.get_rng_state()``) written with ``torch.save`` every epoch; a fresh model,
optimizer and scheduler restored with ``torch.load(path, map_location="cpu")``,
``load_state_dict`` and ``torch.set_rng_state`` so that the shuffling DataLoader (which seeds
its sampler from the global generator) replays the same batches. Adam, StepLR and
``param_groups[0]["lr"]``; a sign-of-the-sum classification task for an nn.RNN. Stands for the
save/load idioms of S03, S05, S18 and S24 of docs/compat.md.
"""

import os
import tempfile

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

QUICK = os.environ.get("COMPAT_QUICK") == "1"
EPOCHS = 3 if QUICK else 10
CRASH_AFTER = 1 if QUICK else 4


class SignNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(1, 16, batch_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.head(h[0])


def make_data():
    g = torch.Generator().manual_seed(27)
    x = torch.randn(384 if QUICK else 1200, 12, 1, generator=g)
    y = (x.sum(dim=(1, 2)) > 0).long()
    return TensorDataset(x, y)


def build():
    model = SignNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def run_epoch(model, optimizer, loader, criterion):
    model.train()
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.size(0)
    return total / len(loader.dataset)


def evaluate(model, dataset):
    model.eval()
    with torch.no_grad():
        x, y = dataset.tensors
        return (model(x).argmax(1) == y).float().mean().item()


def train(ckpt_dir, stop_after=None, resume=False):
    torch.manual_seed(0)
    dataset = make_data()
    loader = DataLoader(dataset, batch_size=32, shuffle=True)
    model, optimizer, scheduler = build()
    criterion = nn.CrossEntropyLoss()
    path = os.path.join(ckpt_dir, "checkpoint.pt")
    start_epoch = 0
    if resume:
        checkpoint = torch.load(path, map_location="cpu")
        model.load_state_dict(checkpoint["model_state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
        scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
        torch.set_rng_state(checkpoint["rng_state"])
        start_epoch = checkpoint["epoch"] + 1
        print("resumed at epoch", start_epoch, "last loss %.4f" % checkpoint["loss"])
    for epoch in range(start_epoch, EPOCHS):
        loss = run_epoch(model, optimizer, loader, criterion)
        scheduler.step()
        torch.save(
            {
                "epoch": epoch,
                "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "scheduler_state_dict": scheduler.state_dict(),
                "loss": loss,
                "rng_state": torch.get_rng_state(),
            },
            path,
        )
        print("epoch %d loss %.5f lr %g" % (epoch, loss, optimizer.param_groups[0]["lr"]))
        if stop_after is not None and epoch == stop_after:
            return None
    return loss, evaluate(model, dataset)


with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
    straight = train(a)
    train(b, stop_after=CRASH_AFTER)
    resumed = train(b, resume=True)
print("straight", straight, "resumed", resumed)
assert straight == resumed
print("FINAL loss=%.8g accuracy=%.8g" % straight)
