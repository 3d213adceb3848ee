# Port of shared/seeds/000 (torch-rnn), third program.
# Edits besides torch -> elman:
# - hidden_size = 400 instead of 4: the seed's printed output (weight_hh_l0 [400, 400], ...)
#   was produced with hidden size 400 although its code says 4; this ports the configuration
#   that produced the output.
import elman

batch_size = 3
sesquence = 5000
input_size = 7
num_layers = 2
hidden_size = 400

input = elman.randn(sesquence, batch_size, input_size)
h0 = elman.randn(num_layers, batch_size, hidden_size)

rnn = elman.nn.RNN(input_size = input_size, hidden_size = hidden_size, num_layers = num_layers, batch_first = False)

for name , param in rnn.named_parameters():
    print(name, param.shape)

print(f'input : {input.shape}  //  h0 : {h0.shape}')
output, hn = rnn(input, h0)
print(f'output : {output.shape}  //  hn : {hn.shape}')
