"""Every user mistake of the issue (and the similar ones found trying the CLI as a new user)
gives one line on stderr, no traceback, and the documented exit code: 1 for a mistake found
while running, 2 for a command line argparse refuses.

Each case is a real ``python -m elman`` process. They run a few at a time (they are mostly
the ~0.5 s import) in one module fixture; each test then checks its own process.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

SINE = "--series 200 --seq-len 10 --hidden-size 8 --no-progress"
TRAIN = f"train sine {SINE} --epochs 1"
PREDICT = "predict {ck}/checkpoint --output {tmp}/p.npy --input"
TO = "predict {ck}/checkpoint --input {tmp}/x.npy --output"
EVALUATE = "evaluate {ck}/checkpoint --input {tmp}/x.npy"
TEXT = "train text --out {tmp}/r --data"

# (id, command with {tmp}, {ck} (a sine run's folder), {ckt} (a text run's folder),
#  exit code, a fragment the one line on stderr must hold)
CASES: list[tuple[str, str, int, str]] = [
    # predict / evaluate / sample: data files and checkpoints
    ("csv-header", f"{PREDICT} {{tmp}}/header.csv", 1, "remove the header row"),
    ("csv-ragged", f"{PREDICT} {{tmp}}/ragged.csv", 1, "row 2 has 2 values"),
    ("csv-empty", f"{PREDICT} {{tmp}}/empty.csv", 1, "holds no rows"),
    ("csv-binary", f"{PREDICT} {{tmp}}/binary.csv", 1, "not a text CSV"),
    ("npy-corrupt", f"{PREDICT} {{tmp}}/random.npy", 1, "not a .npy file"),
    ("npy-pickled", f"{PREDICT} {{tmp}}/objects.npy", 1, "pickled"),
    ("npy-wrong-features", f"{PREDICT} {{tmp}}/x3.npy", 1, "wants (N, L, 1)"),
    ("input-missing", f"{PREDICT} {{tmp}}/nope.npy", 1, "no such file"),
    ("input-folder", f"{PREDICT} {{tmp}}", 1, "is a folder"),
    ("input-suffix", f"{PREDICT} {{tmp}}/notes.txt", 1, "must be a .npy or .csv"),
    ("output-missing-folder", f"{TO} {{tmp}}/nodir/p.csv", 1, "does not exist"),
    ("output-folder", f"{TO} {{tmp}}", 1, "is a folder"),
    ("output-under-file", f"{TO} {{tmp}}/notes.txt/p.npy", 1, "is a file, not a folder"),
    ("output-suffix", f"{TO} {{tmp}}/p.txt", 1, "must end in .npy or .csv"),
    ("checkpoint-missing", "predict {tmp}/nope --input {tmp}/x.npy --output {tmp}/p.npy", 1,
     "no checkpoint at"),
    ("checkpoint-is-file", "predict {tmp}/notes.txt --input {tmp}/x.npy --output {tmp}/p.npy",
     1, "not a checkpoint directory"),
    ("checkpoint-run-folder", "predict {ck} --input {tmp}/x.npy --output {tmp}/p.npy", 1,
     "/best (the best epoch)"),
    ("target-broadcast", f"{EVALUATE} --target {{tmp}}/y1.npy", 1, "expected (3, 5)"),
    ("target-rows", f"{EVALUATE} --target {{tmp}}/y45.npy", 1, "expected (3, 5)"),
    ("target-missing", EVALUATE, 1, "--target is required"),
    ("text-evaluate-npy", "evaluate {ckt}/checkpoint --input {tmp}/x.npy", 1, "not UTF-8 text"),
    ("text-evaluate-target", "evaluate {ckt}/checkpoint --input {tmp}/t.txt --target {tmp}/y1.npy",
     1, "not for text"),
    ("text-predict", "predict {ckt}/checkpoint --input {tmp}/x.npy --output {tmp}/p.npy", 1,
     "elman sample"),
    ("sample-sine", "sample {ck}/checkpoint", 1, "not a text one"),
    ("sample-length", "sample {ckt}/checkpoint --length -1", 2, "--length: must be >= 0"),
    ("sample-temperature-0", "sample {ckt}/checkpoint --temperature 0", 2, "must be > 0"),
    ("sample-temperature-nan", "sample {ckt}/checkpoint --temperature nan", 2, "finite"),
    # train: values
    ("lr-negative", f"{TRAIN} --out {{tmp}}/r --lr -1", 2, "--lr: must be > 0"),
    ("lr-nan", f"{TRAIN} --out {{tmp}}/r --lr nan", 2, "--lr: expected a finite number"),
    ("lr-text", f"{TRAIN} --out {{tmp}}/r --lr fast", 2, "expected a number"),
    ("batch-size-0", f"{TRAIN} --out {{tmp}}/r --batch-size 0", 2, "--batch-size: must be >= 1"),
    ("hidden-size-0", f"{TRAIN} --out {{tmp}}/r --hidden-size 0", 2, "--hidden-size: must be >="),
    ("num-layers-0", f"{TRAIN} --out {{tmp}}/r --num-layers 0", 2, "--num-layers: must be >= 1"),
    ("dropout-2", f"{TRAIN} --out {{tmp}}/r --dropout 2", 2, "--dropout: must be <= 1"),
    ("epochs-0", f"{TRAIN} --out {{tmp}}/r --epochs 0", 2, "--epochs: must be >= 1"),
    ("seq-len-0", f"{TRAIN} --out {{tmp}}/r --seq-len 0", 2, "--seq-len: must be >= 1"),
    ("horizon-0", f"{TRAIN} --out {{tmp}}/r --horizon 0", 2, "--horizon: must be >= 1"),
    ("series-1", f"{TRAIN} --out {{tmp}}/r --series 1", 2, "--series: must be >= 2"),
    ("noise-negative", f"{TRAIN} --out {{tmp}}/r --noise -1", 2, "--noise: must be >= 0"),
    ("clip-negative", f"{TRAIN} --out {{tmp}}/r --clip -1", 2, "--clip: must be >= 0"),
    ("checkpoint-every-negative", f"{TRAIN} --out {{tmp}}/r --checkpoint-every -1", 2, ">= 0"),
    ("weight-decay-negative", f"{TRAIN} --out {{tmp}}/r --weight-decay -1", 2, "must be >= 0"),
    ("seed-negative", f"{TRAIN} --out {{tmp}}/r --seed -1", 2, "--seed: must be >= 0"),
    ("eval-every-0", "train adding --out {tmp}/r --eval-every 0", 2, "must be >= 1"),
    ("embed-size-0", f"{TEXT} {{tmp}}/t.txt --embed-size 0", 2, "must be >= 1"),
    ("momentum-with-adam", f"{TRAIN} --out {{tmp}}/r --momentum 0.5", 1, "sgd or rmsprop"),
    ("flag-of-another-task", "train adding --out {tmp}/r --horizon 3", 1, "a sine option"),
    ("dropout-one-layer", f"{TRAIN} --out {{tmp}}/r --dropout 0.2", 1, "--num-layers 2 or more"),
    ("too-big", f"{TRAIN} --out {{tmp}}/r --hidden-size 60000", 1, "GiB of memory"),
    # train: the command line
    ("typo-flag", f"{TRAIN} --hiden-size 3", 2, "did you mean --hidden-size?"),
    ("prefix-flag", f"train sine {SINE} --out {{tmp}}/r --epoch 1", 2, "did you mean --epochs?"),
    ("typo-task", "train sin", 2, "did you mean 'sine'?"),
    ("typo-command", "trian sine", 2, "did you mean 'train'?"),
    ("no-task", "train", 2, "required: task"),
    # train: files and folders
    ("out-is-file", f"{TRAIN} --out {{tmp}}/notes.txt", 1, "is a file; give a folder"),
    ("out-same-run-longer", f"{TRAIN} --out {{ck}} --epochs 5", 1, "already holds this run"),
    ("out-other-run", f"{TRAIN} --out {{ck}} --lr 0.1", 1, "a different run (--lr 0.003, not 0.1)"),
    ("out-other-task", "train adding --out {ck}", 1, "holds a sine run"),
    ("out-foreign-files", f"{TRAIN} --out {{tmp}}/foreign", 1, "already holds other files"),
    ("out-broken-checkpoint", f"{TRAIN} --out {{tmp}}/broken", 1, "cannot be continued"),
    ("resume-nothing", f"{TRAIN} --out {{tmp}}/empty --resume", 1, "no checkpoint in"),
    ("resume-and-overwrite", f"{TRAIN} --out {{ck}} --resume --overwrite", 1, "pick one"),
    ("resume-other-lr", "train sine --out {ck} --resume --lr 0.1", 1, "--lr 0.003, not 0.1"),
    ("resume-fewer-epochs", "train sine --out {ck} --resume --epochs 1", 1, "has done 2 epochs"),
    ("resume-other-task", "train adding --out {ck} --resume", 1, "holds a sine run"),
    ("resume-broken", "train sine --out {tmp}/broken --resume", 1, "cannot resume"),
    ("text-no-data", "train text --out {tmp}/r", 1, "--data FILE is required"),
    ("text-data-missing", f"{TEXT} {{tmp}}/nope.txt", 1, "no such file"),
    ("text-data-binary", f"{TEXT} {{tmp}}/random.npy", 1, "is not UTF-8 text"),
    ("text-data-folder", f"{TEXT} {{tmp}}", 1, "is a folder"),
    ("text-data-short", f"{TEXT} {{tmp}}/notes.txt", 1, "characters; it needs more"),
    # the other commands
    ("shapes-too-big", "shapes --input-size 1000000000", 1, "GiB of memory"),
    ("shapes-hidden-0", "shapes --hidden-size 0", 1, "hidden_size must be greater than zero"),
    ("bench-json-folder", "bench --no-torch --shape 4,2,3,5,1 --repeat 5 --json {tmp}/no/b.json",
     1, "does not exist"),
    ("bench-repeat", "bench --no-torch --repeat 1", 2, "--repeat: must be >= 5"),
    ("bench-against", "bench --against torch,tensorflow", 2, "unknown peer 'tensorflow'"),
    ("bench-sweep-plot", "bench --against none --plot {tmp}/p.png", 1, "go with --sweep N"),
    ("bench-train-shape", "bench --train-shape 100,32,2", 2, "--train-shape wants L,N,I,H"),
    ("bench-train-field", "bench --train-shape 100,32,2,100,1,sideways", 2, "unknown field"),
    ("bench-train-grid", "bench --grid ful", 2, "did you mean 'full'?"),
    ("bench-train-with-shape", "bench --train --shape 4,2,3,5,1", 2, "--shape times RNN calls"),
    ("bench-train-peak", "bench --no-torch --train-shape 4,2,3,5,1 --peak-from {tmp}/no.json "
     "--json {tmp}/t.json", 1, "no such file"),
]  # fmt: skip


def elman(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elman", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess]:
    """Every case's finished process, by id; ``"_tmp"`` is the folder they ran in."""
    tmp = tmp_path_factory.mktemp("mistakes")
    ck, ckt = tmp / "sine-run", tmp / "text-run"
    (tmp / "t.txt").write_text("hello world, hello text, hello elman. " * 30)
    for proc in (
        elman(*f"train sine {SINE} --epochs 2 --out {ck}".split()),
        elman(
            *f"train text --data {tmp}/t.txt --seq-len 8 --hidden-size 8 --epochs 1 --out {ckt}"
            " --no-progress".split()
        ),
    ):
        assert proc.returncode == 0, proc.stderr
    (tmp / "header.csv").write_text("a,b\n1,2\n")
    (tmp / "ragged.csv").write_text("1,2,3\n1,2\n")
    (tmp / "empty.csv").write_text("")
    noise = np.random.default_rng(0).bytes(2000)
    (tmp / "binary.csv").write_bytes(b"\xff" + noise)
    (tmp / "random.npy").write_bytes(b"\xff" + noise)
    np.save(tmp / "objects.npy", np.array([{}], dtype=object), allow_pickle=True)
    np.save(tmp / "x.npy", np.zeros((3, 10)))
    np.save(tmp / "x3.npy", np.zeros((3, 10, 3)))
    np.save(tmp / "y1.npy", np.zeros((3, 1)))
    np.save(tmp / "y45.npy", np.zeros((4, 5)))
    (tmp / "notes.txt").write_text("hello\n")
    (tmp / "foreign").mkdir()
    (tmp / "foreign" / "thesis.tex").write_text("\\begin{document}")
    (tmp / "empty").mkdir()
    (tmp / "broken" / "checkpoint").mkdir(parents=True)
    (tmp / "broken" / "checkpoint" / "meta.json").write_text("{")

    def one(case: tuple[str, str, int, str]) -> subprocess.CompletedProcess:
        return elman(*case[1].format(tmp=tmp, ck=ck, ckt=ckt).split())

    with ThreadPoolExecutor(max_workers=3) as pool:
        done: dict[str, Any] = dict(zip([c[0] for c in CASES], pool.map(one, CASES), strict=True))
    done["_tmp"] = tmp
    return done


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_one_line_and_exit_code(
    case: tuple[str, str, int, str], results: dict[str, subprocess.CompletedProcess]
) -> None:
    name, _, code, fragment = case
    proc = results[name]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("elman"), lines[0]
    assert fragment in lines[0], lines[0]


def test_every_refusal_left_the_runs_untouched(results: dict[str, Any]) -> None:
    """The refused commands aimed at an existing run wrote nothing into it."""
    from elman.io import load_checkpoint

    run = results["_tmp"] / "sine-run"
    extra = load_checkpoint(run / "checkpoint", restore_rng=False)["extra"]
    assert extra["epoch"] == 2 and extra["args"]["lr"] == 0.003
    names = {p.name for p in run.iterdir()}
    assert (
        {"best", "checkpoint", "metrics.json"}
        <= names
        <= {
            "best",
            "checkpoint",
            "metrics.json",
            "loss.png",
        }
    )
    assert not (results["_tmp"] / "r").exists()  # no refused train command made its --out
