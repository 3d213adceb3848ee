# Port of shared/seeds/002 (a NumPy RNN next to torch's nn.RNN).
# Edits besides torch -> elman:
# - The seed called np_rnn(inputs, ...) with inputs shaped (batch, time, features), so its
#   loop walked the batch axis as if it were time and printed (1, 10, 8) / (10, 8). The
#   corrected call feeds one sequence, time-major: np_rnn(inputs[0], ...), which gives the
#   (10, 8) outputs and (8,) final state the function is meant to return. Both are printed.
# - torch.Tensor(1, 10, input_size) (uninitialised memory) became elman.zeros(1, 10, input_size).
# - The NumPy RNN is then checked against elman's RNN with the same weights (bias=False as
#   the seed's comment supposes, b folded into bias_ih).
import numpy as np

import elman
import elman.nn as nn

'''
h_t = tanh(W_x * x_t + W_h * h_(t-1) + b)

'''

def np_rnn(inputs, h_0, W_x, W_h, b) -> tuple :
    total_hidden_states = []

    for input_t in inputs:
        output = np.tanh(np.matmul(input_t, W_x.T)\
                         + np.matmul(h_0, W_h.T)\
                         + b)
        total_hidden_states.append(output)
        h_0 = output

    return np.array(total_hidden_states), h_0


batch_size = 1
timesteps = 10
input_size = 5
hidden_size = 8

'''suppose bias=False'''

inputs = np.random.random((batch_size,timesteps, input_size))
h_0 = np.zeros((hidden_size,))
W_x = np.random.random((hidden_size, input_size))
W_h = np.random.random((hidden_size, hidden_size)) #square (hidden * hidden)
b = np.random.random((hidden_size,))

outputs, h_t = np_rnn(inputs, h_0, W_x, W_h, b)   # the seed's call: batch axis walked as time
print(outputs.shape)
print(h_t.shape)

outputs, h_t = np_rnn(inputs[0], h_0, W_x, W_h, b)  # corrected: one sequence, time-major
print(outputs.shape)
print(h_t.shape)

# the same computation with elman.nn.RNN (float64, the NumPy weights loaded)
check = nn.RNN(input_size, hidden_size, batch_first=True, dtype=elman.float64)
check.load_state_dict({"weight_ih_l0": W_x, "weight_hh_l0": W_h,
                       "bias_ih_l0": b, "bias_hh_l0": np.zeros(hidden_size)})
out_e, h_e = check(elman.from_numpy(inputs))
print("max |np_rnn - elman| =", float(np.abs(out_e.detach().numpy()[0] - outputs).max()))

'''
h_t = tanh(W_ih * x_t + b_ih + W_hh * h_(t-1) + b_hh)
'''

input_size = 5
hidden_size = 8

inputs = elman.zeros(1, 10, input_size)#N, time, input
rnn = nn.RNN(input_size, hidden_size, batch_first=True)#input, hidden, inputs first tensor is batchsize

outputs, h_t = rnn(inputs)
print(outputs.size()) #N, time, hidden
print(h_t.size())#layer*direction, N, hidden

print(rnn._all_weights)

for n, w in zip(rnn._all_weights[0], rnn._flat_weights):
    print(f'size of {n} is {w.size()}')
