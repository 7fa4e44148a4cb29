#!/usr/bin/env python3
"""PyTorch CPU reference for one training epoch of the two-tower model.

A line-by-line mirror of `src/pipeline/train/mod.rs::train` (the batch loop only) so a benchmark can
report burn's epoch time over PyTorch's on the same architecture, loss, batch size and data:

- data: `thumbs-v1` train users (everyone not in the test-visitor list), minus the validation
  visitors `carve_validation` holds out; the catalog is the movies a train user rated, by
  ascending movieId; content = the 55 tabular columns of feature_layout.json + text_embedding.
- model (src/engine/model/): user tower = id embedding (N(0, 0.1)) -> ReLU MLP (dropout after each
  hidden ReLU) -> L2 normalise; item tower = [id embedding ; content] -> ReLU MLP -> L2
  normalise; per-item bias (zeros); logits = cosine / temperature + bias.
- batch: `batch_size` shuffled positives (thumbs +1/+2, weighted by thumbs), `negatives` per
  positive drawn uniformly from the items the user has not rated (or a thumbs-down, with
  probability `thumbs_down_negative_rate`).
- loss SampledSoftmax: each row's candidates are all batch positives and all negatives; other
  copies of the row's positive and items the user liked are masked (logit - 1e9).
- optimiser: Adam (burn's AdamConfig defaults: betas 0.9/0.999, eps 1e-5, no weight decay).

What is timed: N full epochs of the batch loop (sampling, mask, forward, backward, Adam step,
reading the loss), not data loading and not the per-epoch validation that the Rust `train`
also runs inside its epoch timer.

    python perf/torch_epoch.py [--epochs 2] [--threads N] [--json out.json]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
import yaml

REPO = Path(__file__).resolve().parent.parent

# `TrainingConfig` defaults (src/pipeline/train/config.rs, src/engine/model/two_tower.rs, burn's AdamConfig).
# The YAML overrides them key by key; an unknown key is an error, as in Rust.
DEFAULTS = {
    "loss": "SampledSoftmax", "margin": 0.2, "num_epochs": 20, "patience": 3,
    "batch_size": 512, "negatives": 4, "thumbs_down_negative_rate": 0.0,
    "learning_rate": 2e-3, "validation_fraction": 0.2, "validation_k": 10, "seed": 42,
    "model": {
        "num_users": None, "num_items": None, "content_dim": None,
        "user_embedding_dim": 32, "item_embedding_dim": 32, "user_hidden": [64],
        "item_hidden": [128], "output_dim": 64, "dropout": 0.1, "temperature": 0.1,
        "item_bias": True,
    },
    "optimizer": {
        "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-5, "amsgrad": False,
        "weight_decay": None, "grad_clipping": None,
    },
    "personalize": None,  # visitors' fine-tuning: not part of a training epoch
    "user_input": None,  # what a visitor's vector starts from: not part of a training epoch
    "encoder": None,  # the visitor encoder, trained after the towers: not part of their epoch
    "ranking": None,  # how visitors' vectors rank the catalog: not part of a training epoch
}


def merge(base, overrides, at=""):
    for key, value in (overrides or {}).items():
        if key not in base:
            sys.exit(f"config: unknown field `{at}{key}` (known here: {', '.join(base)})")
        if isinstance(base[key], dict) and isinstance(value, dict):
            merge(base[key], value, f"{at}{key}.")
        else:
            base[key] = value
    return base


def load_config(path):
    config = json.loads(json.dumps(DEFAULTS))  # deep copy
    return merge(config, yaml.safe_load(Path(path).read_text()))


def load_data(data_dir, visitors_path, user_ids_path, config):
    """The train users' ratings, catalog and content matrix, as `load_inputs` + `fit` build them."""
    r = pq.read_table(data_dir / "sequences_with_metadata.parquet")
    user = r["userId"].to_numpy().astype(np.int64)
    movie = r["movieId"].to_numpy().astype(np.int64)
    thumbs = r["thumbs_rating"].to_numpy().astype(np.int64)

    visitors = {int(s) for s in Path(visitors_path).read_text().split()}
    train_users = np.array(sorted(set(user.tolist()) - visitors))
    is_train = np.isin(user, train_users)
    catalog = np.unique(movie[is_train])  # ascending movieId = item index

    # Validation visitors (`carve_validation`): none of their ratings is trained on. Rust picks
    # them with its own seeded shuffle (rand's StdRng), which numpy cannot replay; when the Rust
    # `train` stage has run, models/user_ids.json lists exactly the users it kept.
    if user_ids_path is not None and Path(user_ids_path).exists():
        kept = np.array(json.loads(Path(user_ids_path).read_text()))
        carve = f"kept users from {user_ids_path}"
    else:
        order = np.random.default_rng(config["seed"]).permutation(len(train_users))
        held = order[: int(config["validation_fraction"] * len(train_users))]
        kept = np.delete(train_users, held)
        carve = "kept users carved with numpy (not Rust's RNG: a different set)"
    keep = np.isin(user, kept)
    row_of = {u: i for i, u in enumerate(kept)}  # user-embedding row, ascending userId
    rows = np.array([row_of[u] for u in user[keep]])
    items = np.searchsorted(catalog, movie[keep])
    thumbs = thumbs[keep]

    movies = pq.read_table(data_dir / "movies_with_content_features.parquet")
    layout = json.loads((data_dir / "feature_layout.json").read_text())
    tabular = layout["columns"][: layout["dim"] - layout["text_embedding_dim"]]
    mid = movies["movieId"].to_numpy()
    text = movies["text_embedding"].combine_chunks().flatten().to_numpy()
    feats = np.column_stack([movies[c].to_numpy() for c in tabular]
                            + [text.reshape(len(mid), layout["text_embedding_dim"])])
    where = {m: i for i, m in enumerate(mid)}
    content = feats[[where[m] for m in catalog]].astype(np.float32)
    assert content.shape[1] == layout["dim"], content.shape
    return rows, items, thumbs, len(kept), len(catalog), content, carve


class Mlp(torch.nn.Module):
    """Linear -> ReLU -> dropout ... -> Linear (src/engine/model/mlp.rs; torch's Linear init matches
    burn's KaimingUniform(gain 1/sqrt 3): U(±1/sqrt(fan_in)) for weight and bias)."""

    def __init__(self, d_in, hidden, d_out, dropout):
        super().__init__()
        widths = [d_in, *hidden, d_out]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.dropout(F.relu(x))
        return x


class TwoTower(torch.nn.Module):
    """src/engine/model/two_tower.rs, user_tower.rs, item_tower.rs."""

    def __init__(self, m, content):
        super().__init__()
        self.user_emb = torch.nn.Parameter(torch.randn(m["num_users"], m["user_embedding_dim"]) * 0.1)
        self.item_emb = torch.nn.Parameter(torch.randn(m["num_items"], m["item_embedding_dim"]) * 0.1)
        self.user_mlp = Mlp(m["user_embedding_dim"], m["user_hidden"], m["output_dim"], m["dropout"])
        self.item_mlp = Mlp(m["item_embedding_dim"] + m["content_dim"], m["item_hidden"],
                            m["output_dim"], m["dropout"])
        self.bias = torch.nn.Parameter(torch.zeros(m["num_items"])) if m["item_bias"] else None
        self.register_buffer("content", content)  # constant, no gradient
        self.temperature = m["temperature"]

    def users(self, ids):
        return F.normalize(self.user_mlp(self.user_emb[ids]), dim=1, eps=1e-12)

    def items(self, ids):
        x = torch.cat([self.item_emb[ids], self.content[ids]], dim=1)
        return F.normalize(self.item_mlp(x), dim=1, eps=1e-12)

    def item_bias(self, ids):
        return self.bias[ids] if self.bias is not None else torch.zeros(len(ids))


def weighted_mean(values, weights):
    return (values * weights).sum() / weights.sum()


class Trainer:
    """The state `train` keeps across batches: model, Adam, RNG and per-user item sets."""

    def __init__(self, config, rows, items, thumbs, num_users, num_items, content):
        self.c = config
        torch.manual_seed(config["seed"])
        self.rng = np.random.default_rng(config["seed"])
        m = dict(config["model"], num_users=num_users, num_items=num_items,
                 content_dim=content.shape[1])
        self.model = TwoTower(m, torch.from_numpy(content))
        self.model.train()  # dropout on, as on burn's autodiff backend
        o = config["optimizer"]
        if o["grad_clipping"] is not None:
            sys.exit("optimizer.grad_clipping is not mirrored here")
        self.optim = torch.optim.Adam(
            self.model.parameters(), lr=config["learning_rate"], betas=(o["beta_1"], o["beta_2"]),
            eps=o["epsilon"], amsgrad=o["amsgrad"],
            weight_decay=(o["weight_decay"] or {}).get("penalty", 0.0))  # L2, as burn's
        self.num_items = num_items
        pos = thumbs > 0
        # (user row, item, weight) for every positive; dense per-user sets as boolean tables.
        self.positives = np.stack([rows[pos], items[pos], thumbs[pos]], axis=1)
        self.rated = np.zeros((num_users, num_items), dtype=bool)
        self.rated[rows, items] = True
        self.liked = torch.zeros((num_users, num_items), dtype=torch.bool)
        self.liked[rows[pos], items[pos]] = True
        self.downs = [items[(rows == u) & ~pos] for u in range(num_users)]

    def negatives(self, users):
        """`n` per positive: a thumbs-down with probability thumbs_down_negative_rate, else
        uniform over items the user has not rated (rejection sampling, vectorised)."""
        n = self.c["negatives"]
        u = np.repeat(users, n)
        neg = self.rng.integers(0, self.num_items, len(u))
        bad = self.rated[u, neg]
        while bad.any():
            neg[bad] = self.rng.integers(0, self.num_items, int(bad.sum()))
            bad = self.rated[u, neg]
        rate = self.c["thumbs_down_negative_rate"]
        if rate > 0:
            for k in np.flatnonzero(self.rng.random(len(u)) < rate):
                if len(self.downs[u[k]]):
                    neg[k] = self.rng.choice(self.downs[u[k]])
        return neg

    def step(self, chunk):
        c, model = self.c, self.model
        b, n = len(chunk), c["negatives"]
        users = torch.from_numpy(chunk[:, 0])
        pos = torch.from_numpy(chunk[:, 1])
        weights = torch.from_numpy(chunk[:, 2].astype(np.float32))
        neg = torch.from_numpy(self.negatives(chunk[:, 0]))
        items_all = torch.cat([pos, neg])
        user_vecs = model.users(users)
        item_vecs = model.items(items_all)
        bias = model.item_bias(items_all)
        t = model.temperature
        if c["loss"] == "SampledSoftmax":
            logits = user_vecs @ item_vecs.T / t + bias[None, :]
            # Accidental hits: another copy of the row's positive, or an item the user liked;
            # the row's own positive (column = row) stays.
            mask = (items_all[None, :] == pos[:, None]) | self.liked[users][:, items_all]
            mask[torch.arange(b), torch.arange(b)] = False
            logits = logits - mask.float() * 1e9
            picked = F.log_softmax(logits, dim=1)[torch.arange(b), torch.arange(b)]
            loss = weighted_mean(-picked, weights)
        else:
            d = user_vecs.shape[1]
            pos_cos = (user_vecs * item_vecs[:b]).sum(1)
            neg_cos = (user_vecs[:, None, :] * item_vecs[b:].reshape(b, n, d)).sum(2)
            if c["loss"] == "MarginRanking":
                hinge = F.relu(neg_cos - pos_cos[:, None] + c["margin"]).mean(1)
                loss = weighted_mean(hinge, weights)
            elif c["loss"] == "BinaryCrossEntropy":
                pos_l = pos_cos / t + bias[:b]
                neg_l = neg_cos / t + bias[b:].reshape(b, n)
                loss = weighted_mean(-F.logsigmoid(pos_l) - F.logsigmoid(-neg_l).mean(1), weights)
            else:
                sys.exit(f"unknown loss {c['loss']}")
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        self.optim.step()
        return loss.item() * b

    def epoch(self, max_batches=None):
        """One pass over the shuffled positives; returns the mean loss per positive."""
        self.rng.shuffle(self.positives)
        bs, total, count = self.c["batch_size"], 0.0, 0
        for i, start in enumerate(range(0, len(self.positives), bs)):
            if max_batches is not None and i >= max_batches:
                break
            chunk = self.positives[start:start + bs]
            total += self.step(chunk)
            count += len(chunk)
        return total / count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=REPO / "data/processed")
    ap.add_argument("--config", type=Path, default=REPO / "configs/two_tower_config.yaml")
    ap.add_argument("--visitors", type=Path,
                    default=REPO / "../shared/data/splits/thumbs-v1-visitors.txt")
    ap.add_argument("--user-ids", type=Path, default=REPO / "models/user_ids.json",
                    help="train users kept by the Rust run (used when the file exists)")
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs")
    ap.add_argument("--warmup-batches", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    # OpenMP threads spin at barriers: with another process busy on one of the cores, two
    # threads can run 20x slower than one. Warn so the figure is not taken at face value.
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.2f} before the run; other work on the cores skews "
              f"the timing (try --threads 1 or a quiet machine)", file=sys.stderr)
    config = load_config(args.config)
    t0 = time.perf_counter()
    rows, items, thumbs, num_users, num_items, content, carve = load_data(
        args.data_dir, args.visitors, args.user_ids, config)
    trainer = Trainer(config, rows, items, thumbs, num_users, num_items, content)
    positives = len(trainer.positives)
    print(f"{num_users} train users, {num_items} items, {content.shape[1]} content features, "
          f"{positives} positives ({carve}); loaded in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)

    trainer.epoch(max_batches=args.warmup_batches)  # warm-up: allocator, kernels, threads
    seconds, losses = [], []
    for e in range(args.epochs):
        start = time.perf_counter()
        losses.append(trainer.epoch())
        seconds.append(time.perf_counter() - start)
        print(f"epoch {e + 1}: loss {losses[-1]:.4f} ({seconds[-1]:.2f} s)", file=sys.stderr)

    median = statistics.median(seconds)
    print(f"MEASURE torch_epoch_s={median:.3f} epochs={args.epochs} positives={positives} "
          f"batch={config['batch_size']} negatives={config['negatives']} "
          f"threads={torch.get_num_threads()} torch={torch.__version__}")
    if args.json:
        args.json.write_text(json.dumps({
            "torch_epoch_s": median, "epoch_seconds": seconds, "epoch_losses": losses,
            "epochs": args.epochs, "warmup_batches": args.warmup_batches,
            "positives": positives, "train_users": num_users, "num_items": num_items,
            "content_dim": int(content.shape[1]), "train_users_source": carve,
            "batch": config["batch_size"], "negatives": config["negatives"],
            "loss": config["loss"], "threads": torch.get_num_threads(),
            "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "load_average_before": load,
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
