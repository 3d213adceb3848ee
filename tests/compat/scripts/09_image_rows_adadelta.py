"""Classify small synthetic images read row by row by a batch-first nn.RNN (MNIST-RNN style).

The official MNIST-RNN example's loop on generated 8x8 stroke images: argparse options,
``TensorDataset`` + ``DataLoader(shuffle=True)``, the last output ``output[:, -1, :]`` into a
small MLP with ``F.relu`` and dropout, ``F.log_softmax`` + ``F.nll_loss`` (also with
``reduction='sum'``), ``optim.Adadelta`` with ``StepLR``, ``argmax(dim=1, keepdim=True)`` and
``pred.eq(target.view_as(pred))``, and an optional ``torch.save(model.state_dict(), ...)``.
Stands for S05 and S07 of docs/compat.md.
"""

import argparse
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

QUICK = os.environ.get("COMPAT_QUICK") == "1"


def make_images(n, generator):
    """Four classes of 8x8 strokes (row, column, diagonal, anti-diagonal) plus noise."""
    images = torch.rand(n, 1, 8, 8, generator=generator) * 0.3
    labels = torch.randint(0, 4, (n,), generator=generator)
    offsets = torch.randint(0, 8, (n,), generator=generator)
    eye = torch.eye(8)
    for i in range(n):
        k = int(offsets[i])
        if labels[i] == 0:
            images[i, 0, k, :] += 1.0
        elif labels[i] == 1:
            images[i, 0, :, k] += 1.0
        elif labels[i] == 2:
            images[i, 0] += eye
        else:
            images[i, 0] += torch.flip(eye, dims=[1])
    return images, labels


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.rnn = nn.RNN(input_size=8, hidden_size=32, batch_first=True)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(32, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, input):
        input = input.reshape(-1, 8, 8)
        output, hidden = self.rnn(input)
        output = output[:, -1, :]
        output = self.dropout1(output)
        output = self.fc1(output)
        output = F.relu(output)
        output = self.dropout2(output)
        output = self.fc2(output)
        output = F.log_softmax(output, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(
                "Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                    epoch,
                    batch_idx * len(data),
                    len(train_loader.dataset),
                    100.0 * batch_idx / len(train_loader),
                    loss.item(),
                )
            )
            if args.dry_run:
                break


def test(args, model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print(
        "\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
            test_loss, correct, len(test_loader.dataset), 100.0 * correct / len(test_loader.dataset)
        )
    )
    return test_loss, correct / len(test_loader.dataset)


def main():
    parser = argparse.ArgumentParser(description="Stroke images read row by row by an RNN")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--test-batch-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=1 if QUICK else 8)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--accel", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=10)
    parser.add_argument("--save-model", action="store_true", default=True)
    args = parser.parse_args()

    if args.accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")
    torch.manual_seed(args.seed)

    data_gen = torch.Generator().manual_seed(1234)
    train_x, train_y = make_images(320 if QUICK else 1600, data_gen)
    test_x, test_y = make_images(200, data_gen)
    kwargs = {"num_workers": 0, "pin_memory": False}
    train_loader = DataLoader(
        TensorDataset(train_x, train_y), batch_size=args.batch_size, shuffle=True, **kwargs
    )
    test_loader = DataLoader(
        TensorDataset(test_x, test_y), batch_size=args.test_batch_size, shuffle=True, **kwargs
    )

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test_loss, accuracy = test(args, model, device, test_loader)
        scheduler.step()

    if args.save_model:
        with tempfile.TemporaryDirectory() as tmp:
            torch.save(model.state_dict(), os.path.join(tmp, "image_rows_rnn.pt"))
    print("FINAL loss=%.8g accuracy=%.8g" % (test_loss, accuracy))


if __name__ == "__main__":
    main()
