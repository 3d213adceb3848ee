# Port of shared/seeds/001 (nn.RNN layer in PyTorch), "Sample Model".
# Edits besides torch -> elman: none.
import elman
import elman.nn as nn

# Create an RNN layer
rnn = nn.RNN(input_size=3, hidden_size=5, num_layers=1, batch_first=True)

# Sample input: batch size 2, sequence length 4, input size 3
input_seq = elman.randn(2, 4, 3)

# Initial hidden state: num_layers=1, batch=2, hidden_size=5
h0 = elman.zeros(1, 2, 5)

# Forward pass
output, hn = rnn(input_seq, h0)

print('Output shape:', output.shape)
print('Output:', output)
print('Hidden state shape:', hn.shape)
print('Hidden state:', hn)

# The seed's "Syntax" and "Examples" sections, built the same way:
rnn = elman.nn.RNN(input_size=10, hidden_size=20)
rnn = elman.nn.RNN(5, 15, num_layers=2, batch_first=True)
rnn = elman.nn.RNN(8, 12, nonlinearity='relu', bidirectional=True)
print(rnn)
