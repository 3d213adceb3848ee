"""Surname nationality classifier with an Elman RNN built from nn.RNNCell (textbook style).

A Vocabulary/Vectorizer/Dataset trio whose ``__getitem__`` returns a dict of a NumPy int64
vector, an int label and an int length (collated by the DataLoader's defaults,
``drop_last=True``); an ``ElmanRNN`` looping ``nn.RNNCell`` over ``x_in.permute(1, 0, 2)`` and
stacking the states; ``column_gather`` picking each sequence's last real state through NumPy
lengths; ``F.dropout(x, 0.5)`` (functional dropout stays on in eval); class weights for
``nn.CrossEntropyLoss``; ``ReduceLROnPlateau``; early stopping with state-dict checkpoints.
Stands for S24 of docs/compat.md.
"""

import os
import tempfile
from argparse import Namespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

QUICK = os.environ.get("COMPAT_QUICK") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))


class SequenceVocabulary:
    def __init__(self):
        self._token_to_idx = {}
        self._idx_to_token = {}
        self.mask_index = self.add_token("<MASK>")
        self.unk_index = self.add_token("<UNK>")
        self.begin_seq_index = self.add_token("<BEGIN>")
        self.end_seq_index = self.add_token("<END>")

    def add_token(self, token):
        if token in self._token_to_idx:
            return self._token_to_idx[token]
        index = len(self._token_to_idx)
        self._token_to_idx[token] = index
        self._idx_to_token[index] = token
        return index

    def lookup_token(self, token):
        return self._token_to_idx.get(token, self.unk_index)

    def __len__(self):
        return len(self._token_to_idx)


class SurnameVectorizer:
    def __init__(self, char_vocab, nationalities):
        self.char_vocab = char_vocab
        self.nationalities = nationalities

    def vectorize(self, surname, vector_length):
        indices = [self.char_vocab.begin_seq_index]
        indices.extend(self.char_vocab.lookup_token(token) for token in surname)
        indices.append(self.char_vocab.end_seq_index)
        out_vector = np.zeros(vector_length, dtype=np.int64)
        out_vector[: len(indices)] = indices
        out_vector[len(indices) :] = self.char_vocab.mask_index
        return out_vector, len(indices)


class SurnameDataset(Dataset):
    def __init__(self, rows, vectorizer):
        self.rows = rows
        self._vectorizer = vectorizer
        self._max_seq_length = max(len(r[1]) for r in rows) + 2
        self._lookup = {s: [r for r in rows if r[2] == s] for s in ("train", "val", "test")}
        self.set_split("train")
        counts = [
            sum(1 for r in self._lookup["train"] if r[0] == n) for n in vectorizer.nationalities
        ]
        self.class_weights = 1.0 / torch.tensor(counts, dtype=torch.float32)

    def set_split(self, split="train"):
        self._target = self._lookup[split]

    def __len__(self):
        return len(self._target)

    def __getitem__(self, index):
        nationality, surname, _ = self._target[index]
        surname_vector, vec_length = self._vectorizer.vectorize(surname, self._max_seq_length)
        return {
            "x_data": surname_vector,
            "y_target": self._vectorizer.nationalities.index(nationality),
            "x_length": vec_length,
        }


def generate_batches(dataset, batch_size, shuffle=True, drop_last=True, device="cpu"):
    dataloader = DataLoader(
        dataset=dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last
    )
    for data_dict in dataloader:
        out_data_dict = {}
        for name, tensor in data_dict.items():
            out_data_dict[name] = data_dict[name].to(device)
        yield out_data_dict


def column_gather(y_out, x_lengths):
    x_lengths = x_lengths.long().detach().cpu().numpy() - 1
    out = []
    for batch_index, column_index in enumerate(x_lengths):
        out.append(y_out[batch_index, column_index])
    return torch.stack(out)


class ElmanRNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_first=False):
        super(ElmanRNN, self).__init__()
        self.rnn_cell = nn.RNNCell(input_size, hidden_size)
        self.batch_first = batch_first
        self.hidden_size = hidden_size

    def _initial_hidden(self, batch_size):
        return torch.zeros((batch_size, self.hidden_size))

    def forward(self, x_in, initial_hidden=None):
        if self.batch_first:
            batch_size, seq_size, feat_size = x_in.size()
            x_in = x_in.permute(1, 0, 2)
        else:
            seq_size, batch_size, feat_size = x_in.size()
        hiddens = []
        if initial_hidden is None:
            initial_hidden = self._initial_hidden(batch_size)
            initial_hidden = initial_hidden.to(x_in.device)
        hidden_t = initial_hidden
        for t in range(seq_size):
            hidden_t = self.rnn_cell(x_in[t], hidden_t)
            hiddens.append(hidden_t)
        hiddens = torch.stack(hiddens)
        if self.batch_first:
            hiddens = hiddens.permute(1, 0, 2)
        return hiddens


class SurnameClassifier(nn.Module):
    def __init__(
        self,
        embedding_size,
        num_embeddings,
        num_classes,
        rnn_hidden_size,
        batch_first=True,
        padding_idx=0,
    ):
        super(SurnameClassifier, self).__init__()
        self.emb = nn.Embedding(
            num_embeddings=num_embeddings, embedding_dim=embedding_size, padding_idx=padding_idx
        )
        self.rnn = ElmanRNN(
            input_size=embedding_size, hidden_size=rnn_hidden_size, batch_first=batch_first
        )
        self.fc1 = nn.Linear(in_features=rnn_hidden_size, out_features=rnn_hidden_size)
        self.fc2 = nn.Linear(in_features=rnn_hidden_size, out_features=num_classes)

    def forward(self, x_in, x_lengths=None, apply_softmax=False):
        x_embedded = self.emb(x_in)
        y_out = self.rnn(x_embedded)
        if x_lengths is not None:
            y_out = column_gather(y_out, x_lengths)
        else:
            y_out = y_out[:, -1, :]
        y_out = F.relu(self.fc1(F.dropout(y_out, 0.5)))
        y_out = self.fc2(F.dropout(y_out, 0.5))
        if apply_softmax:
            y_out = F.softmax(y_out, dim=1)
        return y_out


def set_seed_everywhere(seed, cuda):
    np.random.seed(seed)
    torch.manual_seed(seed)
    if cuda:
        torch.cuda.manual_seed_all(seed)


def compute_accuracy(y_pred, y_target):
    _, y_pred_indices = y_pred.max(dim=1)
    n_correct = torch.eq(y_pred_indices, y_target).sum().item()
    return n_correct / len(y_pred_indices) * 100


args = Namespace(
    char_embedding_size=24,
    rnn_hidden_size=32,
    num_epochs=2 if QUICK else 40,
    learning_rate=5e-3,
    batch_size=16,
    seed=1337,
    early_stopping_criteria=5,
    cuda=True,
)
if not torch.cuda.is_available():
    args.cuda = False
args.device = torch.device("cuda" if args.cuda else "cpu")
set_seed_everywhere(args.seed, args.cuda)

rows = []
with open(os.path.join(HERE, "..", "data", "names.txt"), encoding="utf-8") as f:
    for line in f:
        if not line.startswith("#"):
            rows.append(line.strip().split(","))
order = np.random.permutation(len(rows))
rows = [rows[i] + [("train", "train", "train", "val", "test")[k % 5]] for k, i in enumerate(order)]
char_vocab = SequenceVocabulary()
for _, surname, _ in rows:
    for letter in surname:
        char_vocab.add_token(letter)
nationalities = sorted(set(r[0] for r in rows))
dataset = SurnameDataset(rows, SurnameVectorizer(char_vocab, nationalities))

classifier = SurnameClassifier(
    embedding_size=args.char_embedding_size,
    num_embeddings=len(char_vocab),
    num_classes=len(nationalities),
    rnn_hidden_size=args.rnn_hidden_size,
    padding_idx=char_vocab.mask_index,
)
classifier = classifier.to(args.device)
dataset.class_weights = dataset.class_weights.to(args.device)
loss_func = nn.CrossEntropyLoss(dataset.class_weights)
optimizer = optim.Adam(classifier.parameters(), lr=args.learning_rate)
scheduler = optim.lr_scheduler.ReduceLROnPlateau(
    optimizer=optimizer, mode="min", factor=0.5, patience=1
)


def run_split(split, train):
    dataset.set_split(split)
    running_loss = running_acc = 0.0
    classifier.train() if train else classifier.eval()
    for batch_index, batch_dict in enumerate(
        generate_batches(dataset, args.batch_size, device=args.device)
    ):
        if train:
            optimizer.zero_grad()
        y_pred = classifier(x_in=batch_dict["x_data"], x_lengths=batch_dict["x_length"])
        loss = loss_func(y_pred, batch_dict["y_target"])
        running_loss += (loss.item() - running_loss) / (batch_index + 1)
        if train:
            loss.backward()
            optimizer.step()
        acc_t = compute_accuracy(y_pred, batch_dict["y_target"])
        running_acc += (acc_t - running_acc) / (batch_index + 1)
    return running_loss, running_acc


with tempfile.TemporaryDirectory() as tmp:
    model_state_file = os.path.join(tmp, "model.pth")
    best_val, early_stopping_step, val_losses = 1e8, 0, []
    for epoch_index in range(args.num_epochs):
        train_loss, train_acc = run_split("train", True)
        val_loss, val_acc = run_split("val", False)
        val_losses.append(val_loss)
        if epoch_index == 0:
            torch.save(classifier.state_dict(), model_state_file)
        elif val_losses[-1] >= val_losses[-2]:
            early_stopping_step += 1
        else:
            if val_loss < best_val:
                torch.save(classifier.state_dict(), model_state_file)
                best_val = val_loss
            early_stopping_step = 0
        scheduler.step(val_losses[-1])
        print(
            "epoch %d train %.3f/%.1f val %.3f/%.1f lr %g"
            % (
                epoch_index,
                train_loss,
                train_acc,
                val_loss,
                val_acc,
                optimizer.param_groups[0]["lr"],
            )
        )
        if early_stopping_step >= args.early_stopping_criteria:
            break
    classifier.load_state_dict(torch.load(model_state_file))

torch.manual_seed(0)  # the functional dropout also draws at test time
test_loss, test_acc = run_split("test", False)
print("Test loss: {:.3f}  Test Accuracy: {:.2f}".format(test_loss, test_acc))
print("FINAL loss=%.8g accuracy=%.8g" % (test_loss, test_acc / 100))
