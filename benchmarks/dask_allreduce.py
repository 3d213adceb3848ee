"""One training step of a small elman model against one all-reduce of its gradients
(docs/scaling.md: why synchronous data-parallel training of models this small does not pay).

    python benchmarks/dask_allreduce.py [--hidden 32] [--batch 32] [--seq-len 50] [--json F]

* step: forward + backward + SGD update of RNN(1, H) + Linear(H, 5) on (batch, seq_len, 1),
  median of 50 after 5 warm-up steps, in this process (one kernel thread, as a worker); and
  on half the batch (each worker's share with two data-parallel workers);
* all-reduce over Dask: two workers each hold a gradient-sized float32 array; the sum is
  computed on one and fetched by the other (the least a synchronous step must exchange),
  median of 30 after warm-up;
* all-reduce floor: the same bytes there and back between two processes over a localhost
  TCP socket, no Dask (what any framework's exchange costs at least on this machine).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import socket
import statistics
import time
from pathlib import Path

import numpy as np


def step_seconds(hidden: int, batch: int, seq_len: int) -> tuple[float, int]:
    import elman
    from elman import nn

    elman.set_num_threads(1)
    elman.manual_seed(0)
    rnn, head = nn.RNN(1, hidden, batch_first=True), nn.Linear(hidden, 5)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = elman.optim.SGD(params, lr=0.01)
    rng = np.random.default_rng(0)
    x = elman.tensor(rng.standard_normal((batch, seq_len, 1)).astype("float32"))
    y = elman.tensor(rng.standard_normal((batch, 5)).astype("float32"))
    times = []
    for i in range(55):
        t = time.perf_counter()
        out, _ = rnn(x)
        loss = nn.functional.mse_loss(head(out[:, -1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 5:
            times.append(time.perf_counter() - t)
    return statistics.median(times), sum(int(np.prod(p.shape)) for p in params)


def dask_allreduce_seconds(n_values: int) -> float:
    from distributed import wait

    from elman.distributed import connect

    with connect(workers=2) as client:
        client.wait_for_workers(2)
        a, b = list(client.scheduler_info()["workers"])
        times = []
        for i in range(35):
            ga = client.submit(np.full, n_values, i, np.float32, workers=[a], pure=False)
            gb = client.submit(np.full, n_values, i, np.float32, workers=[b], pure=False)
            wait([ga, gb])
            t = time.perf_counter()
            total = client.submit(np.add, ga, gb, workers=[a], pure=False)
            back = client.submit(np.copy, total, workers=[b], pure=False)  # b gets the sum
            back.result()
            if i >= 5:
                times.append(time.perf_counter() - t)
        return statistics.median(times)


def _echo(port: int, n_bytes: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as s:
        for _ in range(35):
            data = b""
            while len(data) < n_bytes:
                data += s.recv(n_bytes - len(data))
            s.sendall(data)


def socket_roundtrip_seconds(n_bytes: int) -> float:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        child = mp.get_context("spawn").Process(
            target=_echo, args=(server.getsockname()[1], n_bytes)
        )
        child.start()
        conn, _ = server.accept()
        payload, times = b"x" * n_bytes, []
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(35):
                t = time.perf_counter()
                conn.sendall(payload)
                got = b""
                while len(got) < n_bytes:
                    got += conn.recv(n_bytes - len(got))
                if i >= 5:
                    times.append(time.perf_counter() - t)
        child.join(30)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=50)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    step, n_params = step_seconds(args.hidden, args.batch, args.seq_len)
    report = {
        "shape": vars(args) | {"json": None},
        "parameters": n_params,
        "gradient_bytes": 4 * n_params,
        "step_ms": 1e3 * step,
        # what each of 2 data-parallel workers would compute: half the batch
        "step_ms_half_batch": 1e3 * step_seconds(args.hidden, args.batch // 2, args.seq_len)[0],
        "dask_allreduce_ms": 1e3 * dask_allreduce_seconds(n_params),
        "socket_roundtrip_ms": 1e3 * socket_roundtrip_seconds(4 * n_params),
    }
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
