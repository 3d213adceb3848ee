"""Run nn.RNN and nn.RNNCell the way their reference pages and first lessons do.

Batched and unbatched inputs, an explicit or omitted ``h0``, a cell stepped in a Python loop,
``bidirectional`` and ``batch_first`` layouts, the ``dtype=``/``device=`` factory keywords, the
module's repr, parameter names and shapes, ``state_dict`` keys, ``torch.equal`` of the last
output and the last state, and one backward pass for a gradient norm. Stands for S28, S09 and
the shape checks in S16/S18 of docs/compat.md.
"""

import torch
import torch.nn as nn

torch.manual_seed(28)

rnn = nn.RNN(10, 20, 2)
input = torch.randn(5, 3, 10)
h0 = torch.randn(2, 3, 20)
output, hn = rnn(input, h0)
print(rnn)
print("batched:", tuple(output.shape), tuple(hn.shape))
assert torch.equal(output[-1], hn[-1])

input1 = torch.randn(5, 10)
h01 = torch.randn(2, 20)
output1, hn1 = rnn(input1, h01)
print("unbatched:", output1.size(), hn1.size())

cell = nn.RNNCell(10, 20)
cell_input = torch.randn(6, 3, 10)
hx = torch.randn(3, 20)
steps = []
for i in range(6):
    hx = cell(cell_input[i], hx)
    steps.append(hx)
steps = torch.stack(steps, dim=0)
print(cell, tuple(steps.shape))

relu_cell = nn.RNNCell(4, 8, nonlinearity="relu", device="cpu", dtype=torch.float64)
h = relu_cell(torch.randn(2, 4, dtype=torch.float64))
print(relu_cell, h.dtype)

birnn = nn.RNN(
    input_size=4, hidden_size=6, num_layers=2, batch_first=True, bidirectional=True, bias=False
)
x = torch.randn(3, 7, 4)
out, h_n = birnn(x)
print(birnn)
print("bidirectional:", out.shape, h_n.shape)
assert torch.equal(out[:, -1, :6], h_n[-2])
assert torch.equal(out[:, 0, 6:], h_n[-1])
for name, param in birnn.named_parameters():
    print(name, tuple(param.shape), param.requires_grad)
print(list(birnn.state_dict().keys()))
print(rnn.weight_ih_l0.shape, rnn.bias_hh_l1.shape, rnn.hidden_size, rnn.num_layers)

double_rnn = nn.RNN(3, 5, dtype=torch.float64)
double_out, _ = double_rnn(torch.randn(4, 2, 3, dtype=torch.float64))
float_rnn = double_rnn.to(torch.float32)
print(double_out.dtype, next(float_rnn.parameters()).dtype)

output.sum().backward()
grad_norm = rnn.weight_hh_l0.grad.norm()
with torch.no_grad():
    eval_out, _ = rnn(input)
n_params = sum(p.numel() for p in rnn.parameters())
print("parameters:", n_params, "grad norm: %.6f" % grad_norm)
print(
    "FINAL output=%.8g cell=%.8g birnn=%.8g grad=%.8g params=%d"
    % (output.sum().item(), steps.sum().item(), out.abs().sum().item(), grad_norm.item(), n_params)
)
