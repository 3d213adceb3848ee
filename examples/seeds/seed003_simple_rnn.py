# Port of shared/seeds/003 (understanding RNN shapes): SimpleRNN = RNN + Linear.
# Edits besides torch -> elman:
# - notebook cells joined into one script; expressions the notebook displayed are printed;
# - matplotlib (imported but unused by the seed) is not imported;
# - the final NumPy re-computation of the model, which the seed sets up by extracting the
#   weights, is carried out and compared with the model's output.
import numpy as np

import elman
import elman.nn as nn

N = 1
T = 10
D = 3
M = 5
K = 2
X = np.random.randn(N, T, D)
print(X)

# N = number of samples
# T = length of sequence
# D = number of input features
# M = number of hidden units
# K = number of output units

class SimpleRNN(nn.Module):
  def __init__(self, n_inputs, n_hidden, n_outputs):
    super(SimpleRNN, self).__init__()
    self.D = n_inputs
    self.M = n_hidden
    self.K = n_outputs
    self.rnn = nn.RNN(
        input_size=self.D,
        hidden_size=self.M,
        nonlinearity='tanh',
        batch_first=True )
    self.fc = nn.Linear(self.M, self.K)

  def forward(self, X):
    h0 = elman.zeros(1, X.size(0), self.M)
    out, _ = self.rnn(X, h0)
    out = self.fc(out)
    return out

model = SimpleRNN(n_inputs=D, n_hidden=M, n_outputs=K)

inputs = elman.from_numpy(X.astype(np.float32))
out = model(inputs)
print(out)

print(out.shape)

#Save array for later
Yhats_torch = out.detach().numpy()

W_xh, W_hh, b_xh, b_hh = model.rnn.parameters()

print(W_xh.shape)

print(W_xh)

W_xh = W_xh.data.numpy()
print(W_xh)

#Convert to NumPy arrays
b_xh = b_xh.data.numpy()
W_hh = W_hh.data.numpy()
b_hh = b_hh.data.numpy()

print((W_xh.shape, b_xh.shape, W_hh.shape, b_hh.shape))

Wo, bo = model.fc.parameters()

Wo = Wo.data.numpy()
bo = bo.data.numpy()
print((Wo.shape, bo.shape))

# The manual forward pass the notebook prepares for:
h_last = np.zeros(M)
Yhats = []
for t in range(T):
  h = np.tanh(X[0][t].dot(W_xh.T) + b_xh + h_last.dot(W_hh.T) + b_hh)
  Yhats.append(h.dot(Wo.T) + bo)
  h_last = h
print("max |manual - model| =", float(np.abs(np.array(Yhats) - Yhats_torch[0]).max()))
