"""Next-day closing price from 7-day windows of five daily features (open, high, low, volume,
close) with a batch-first nn.RNN; the series is simulated instead of read from a CSV.

NumPy preprocessing as in the lecture scripts: rows reversed into time order with
``xy[::-1]``, min-max scaling by hand, sliding windows in Python lists, a 70/30 split turned
into tensors with ``torch.Tensor(np.array(list))``; the last hidden state ``h_out.view(-1,
hidden)`` into the head; full-batch Adam on ``nn.MSELoss``; RMSE in NumPy from
``test_predict.data.numpy()`` under a ``@torch.no_grad()`` function; a direction hit rate
with ``torch.where``. Stands for S23 of docs/compat.md.
"""

import os

import numpy as np
import torch
import torch.nn as nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
torch.manual_seed(777)


def MinMaxScaler(data):
    numerator = data - np.min(data, 0)
    denominator = np.max(data, 0) - np.min(data, 0)
    return numerator / (denominator + 1e-7)


# a simulated daily series, newest first as a downloaded CSV would be
rng = np.random.RandomState(25)
days = 400
close = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.015, days)))
open_ = close * (1 + rng.normal(0, 0.004, days))
high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.006, days)))
low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.006, days)))
volume = rng.lognormal(12, 0.3, days)
xy = np.stack([open_, high, low, volume, close], axis=1)[::-1]

learning_rate = 0.01
num_epochs = 40 if QUICK else 500
input_size = 5
hidden_size = 16
num_classes = 1
seq_length = 7
num_layers = 1

xy = xy[::-1]
xy = MinMaxScaler(xy)
x = xy
y = xy[:, [-1]]
dataX = []
dataY = []
for i in range(0, len(y) - seq_length):
    _x = x[i : i + seq_length]
    _y = y[i + seq_length]
    dataX.append(_x)
    dataY.append(_y)

train_size = int(len(dataY) * 0.7)
trainX = torch.Tensor(np.array(dataX[0:train_size]))
testX = torch.Tensor(np.array(dataX[train_size : len(dataX)]))
trainY = torch.Tensor(np.array(dataY[0:train_size]))
testY = torch.Tensor(np.array(dataY[train_size : len(dataY)]))


class RNN(nn.Module):
    def __init__(self, num_classes, input_size, hidden_size, num_layers):
        super(RNN, self).__init__()
        self.num_classes = num_classes
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.rnn = nn.RNN(
            input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, batch_first=True
        )
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h_0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        _, h_out = self.rnn(x, h_0)
        h_out = h_out.view(-1, self.hidden_size)
        out = self.fc(h_out)
        return out


model = RNN(num_classes, input_size, hidden_size, num_layers)
criterion = torch.nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
for epoch in range(num_epochs):
    outputs = model(trainX)
    optimizer.zero_grad()
    loss = criterion(outputs, trainY)
    loss.backward()
    optimizer.step()
    if epoch % (10 if QUICK else 100) == 0:
        print("Epoch: %d, loss: %1.5f" % (epoch, loss.item()))
print("Learning finished!")


@torch.no_grad()
def predict(model, x):
    model.eval()
    return model(x)


test_predict = predict(model, testX)
test_predict_np = test_predict.data.numpy()
testY_np = testY.data.numpy()
rmse = float(np.sqrt(np.mean((test_predict_np - testY_np) ** 2)))
previous = testX[:, -1, -1:]
hits = torch.where((test_predict - previous) * (testY - previous) > 0, 1, 0)
direction = hits.sum().item() / hits.numel()
print("test RMSE %.5f, direction hit rate %.3f" % (rmse, direction))
print("FINAL loss=%.8g rmse=%.8g accuracy=%.8g" % (loss.item(), rmse, direction))
