"""Character language model on ASCII codes, then temperature sampling with torch.multinomial.

Random chunks of a bundled paragraph, nn.Embedding(128, ...) + nn.RNN + nn.Linear trained
with Adam and CrossEntropyLoss; the weights are saved as a state dict and loaded back with
``map_location``; text is then generated one character at a time from
``torch.multinomial(output.view(-1).div(temperature).exp(), 1)``, starting from a character
drawn with ``torch.randint``. Stands for S03 (generate.py) and S11 of docs/compat.md.
"""

import os
import random
import tempfile

import torch
import torch.nn as nn

QUICK = os.environ.get("COMPAT_QUICK") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))

torch.manual_seed(1111)
random.seed(1111)

with open(os.path.join(HERE, "..", "data", "text.txt"), encoding="utf-8") as f:
    text = f.read()

n_characters = 128
hidden_size = 64
chunk_len = 40


def str2tensor(string):
    tensor = [ord(c) for c in string]
    return torch.LongTensor(tensor)


def random_chunk():
    start = random.randint(0, len(text) - chunk_len - 2)
    return text[start : start + chunk_len + 1]


class CharModel(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, n_layers=1):
        super(CharModel, self).__init__()
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.rnn = nn.RNN(hidden_size, hidden_size, n_layers)
        self.linear = nn.Linear(hidden_size, output_size)

    def forward(self, input, hidden):
        embed = self.embedding(input.view(-1, 1))  # S x B(=1) x H
        output, hidden = self.rnn(embed, hidden)
        output = self.linear(output.view(-1, self.hidden_size))
        return output, hidden

    def init_hidden(self):
        return torch.zeros(self.n_layers, 1, self.hidden_size)


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
decoder = CharModel(n_characters, hidden_size, n_characters).to(device)
optimizer = torch.optim.Adam(decoder.parameters(), lr=0.005)
criterion = nn.CrossEntropyLoss()

n_steps = 40 if QUICK else 1500
losses = []
for step in range(1, n_steps + 1):
    chunk = random_chunk()
    inp = str2tensor(chunk[:-1]).to(device)
    target = str2tensor(chunk[1:]).to(device)
    hidden = decoder.init_hidden().to(device)
    decoder.zero_grad()
    output, hidden = decoder(inp, hidden)
    loss = criterion(output, target)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if step % (10 if QUICK else 250) == 0:
        print("[step %d] loss: %.4f" % (step, sum(losses[-10:]) / 10))

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "char_lm.pt")
    torch.save(decoder.state_dict(), path)
    decoder = CharModel(n_characters, hidden_size, n_characters)
    decoder.load_state_dict(torch.load(path, map_location=device, weights_only=True))
decoder.eval()


def generate(decoder, prime_str="the ", predict_len=120, temperature=0.8):
    hidden = decoder.init_hidden()
    prime_input = str2tensor(prime_str)
    predicted = prime_str
    logprob = 0.0
    with torch.no_grad():
        for p in range(len(prime_str) - 1):
            _, hidden = decoder(prime_input[p], hidden)
        inp = prime_input[-1:].clone()
        for p in range(predict_len):
            output, hidden = decoder(inp, hidden)
            output_dist = output.data.view(-1).div(temperature).exp()
            top_i = torch.multinomial(output_dist, 1)[0]
            logprob += torch.log_softmax(output.view(-1), dim=0)[top_i].item()
            predicted += chr(top_i)
            inp.fill_(top_i)
    return predicted, logprob / predict_len


start = torch.randint(ord("a"), ord("z") + 1, (1,), dtype=torch.long)
sample, mean_logprob = generate(decoder, prime_str=chr(start.item()) + "he ")
print(sample)
print("FINAL loss=%.8g logprob=%.8g" % (sum(losses[-10:]) / 10, mean_logprob))
