"""Writes train/testdata/yinyang_golden.json from numpy's RandomState.

The sampling loop restates the reference generator of the Yin-Yang data set
(lkriener/yin_yang_data_set, dataset.py: YinYangDataset.__init__,
get_sample and which_class) so that gosnn's Go generator can be checked bit
for bit without Python at test time.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r scripts/golden/requirements.txt
    /tmp/venv/bin/python scripts/golden/yinyang_golden.py
"""
import json
import os

import numpy as np

R_SMALL, R_BIG = 0.1, 0.5


def which_class(x, y):
    d_right = np.sqrt((x - 1.5 * R_BIG) ** 2 + (y - R_BIG) ** 2)
    d_left = np.sqrt((x - 0.5 * R_BIG) ** 2 + (y - R_BIG) ** 2)
    criterion1 = d_right <= R_SMALL
    criterion2 = d_left > R_SMALL and d_left <= 0.5 * R_BIG
    criterion3 = y > R_BIG and d_right > 0.5 * R_BIG
    is_yin = criterion1 or criterion2 or criterion3
    is_circles = d_right < R_SMALL or d_left < R_SMALL
    if is_circles:
        return 2
    return int(is_yin)


def make(size, seed):
    rng = np.random.RandomState(seed)
    vals, classes = [], []
    for _ in range(size):
        goal = rng.randint(3)
        while True:
            x, y = rng.rand(2) * 2.0 * R_BIG
            if np.sqrt((x - R_BIG) ** 2 + (y - R_BIG) ** 2) > R_BIG:
                continue
            c = which_class(x, y)
            if c == goal:
                break
        vals.append([float(x), float(y), float(1 - x), float(1 - y)])
        classes.append(int(c))
    return vals, classes


def main():
    out = {"numpy": np.__version__, "sets": []}
    for name, size, seed in [("train", 5000, 42), ("validation", 1000, 41), ("test", 1000, 40)]:
        vals, classes = make(size, seed)
        out["sets"].append({
            "name": name, "size": size, "seed": seed,
            "first_features": vals[:20], "first_labels": classes[:20],
            "class_counts": [classes.count(k) for k in range(3)],
        })
    rng = np.random.RandomState(42)
    out["rand_seed42"] = [float(v) for v in rng.rand(5)]
    path = os.path.join(os.path.dirname(__file__), "..", "..", "train", "testdata", "yinyang_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
