# Port of shared/seeds/000 (torch-rnn), first program.
# Edits besides torch -> elman: none.
import elman

batch_size = 2
sesquence = 10
input_size = 5000
num_layers = 1
hidden_size = 4

input = elman.randn(batch_size, sesquence, input_size)
h0 = elman.randn(num_layers, batch_size, hidden_size)

rnn = elman.nn.RNN(input_size = input_size, hidden_size = hidden_size, num_layers = num_layers, batch_first = True)

for name , param in rnn.named_parameters():
    print(name, param.shape)

print(f'input : {input.shape}  //  h0 : {h0.shape}')
output, hn = rnn(input, h0)
print(f'output : {output.shape}  //  hn : {hn.shape}')
