# Port of shared/seeds/004 (the torch.nn.RNN documentation example).
# Edits besides torch -> elman:
# - `import elman` added (the notebook had imported torch in an earlier cell);
# - `optim` is not imported: the seed imports it but never uses it;
# - the notebook's displayed expressions are printed.
import elman
from elman import nn

rnn = nn.RNN(10, 20, 2)

print(rnn)

input = elman.randn(5, 3, 10)

print(input)

h0 = elman.randn(2, 3, 20)

print(h0)

output, hn = rnn(input, h0)

print(hn)

print(output)

print(output.shape, hn.shape)
