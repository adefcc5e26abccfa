"""Writes train/testdata/yinyang_golden.json, the numpy reference values
that train/yinyang_test.go checks gosnn's Yin-Yang generator against bit for
bit, so that the Go tests need no Python.

make() restates the generator of the Yin-Yang data set, from
https://github.com/lkriener/yin_yang_data_set, file dataset.py
(YinYangDataset.__init__, get_sample and which_class), line for line and in
the same order of RNG draws; only the torch Dataset base class is left out.
With --reference DIR (a checkout of that repository) the script also runs the
real dataset.py (torch stubbed: it only provides the base class) and checks
that it yields the same sets, and, where DIR/publication_data exists, that
those published .npy files are the same sets too.

    python3 -m venv /tmp/ygvenv
    /tmp/ygvenv/bin/pip install -r scripts/golden/requirements.txt
    /tmp/ygvenv/bin/python scripts/golden/yinyang_golden.py [--reference DIR]
"""
import argparse
import hashlib
import json
import os
import sys
import types

import numpy as np

R_SMALL, R_BIG = 0.1, 0.5
SPLITS = [("train", 5000, 42), ("validation", 1000, 41), ("test", 1000, 40)]
FIRST = 20


def which_class(x, y):
    # dataset.py: YinYangDataset.which_class, dist_to_right_dot, dist_to_left_dot
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
    # dataset.py: YinYangDataset.__init__ and get_sample
    rng = np.random.RandomState(seed)
    vals, classes = [], []
    for _ in range(size):
        goal_class = rng.randint(3)
        while True:
            x, y = rng.rand(2) * 2.0 * R_BIG
            if np.sqrt((x - R_BIG) ** 2 + (y - R_BIG) ** 2) > R_BIG:
                continue
            c = which_class(x, y)
            if c == goal_class:
                break
        vals.append(np.array([x, y, 1.0 - x, 1.0 - y]))
        classes.append(c)
    return np.array(vals), np.array(classes)


def check_reference(directory, sets):
    """Checks make() against the real dataset.py and the published arrays."""
    for name in ["torch", "torch.utils", "torch.utils.data", "torch.utils.data.dataset"]:
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["torch.utils.data.dataset"].Dataset = object
    sys.path.insert(0, directory)
    from dataset import YinYangDataset  # noqa: E402

    for (name, size, seed), (vals, classes) in zip(SPLITS, sets):
        ds = YinYangDataset(r_small=R_SMALL, r_big=R_BIG, size=size, seed=seed)
        ref_vals = np.array([ds[i][0] for i in range(len(ds))])
        ref_classes = np.array([ds[i][1] for i in range(len(ds))])
        assert np.array_equal(ref_vals, vals) and np.array_equal(ref_classes, classes), name
        pub = os.path.join(directory, "publication_data")
        if os.path.isdir(pub):
            assert np.array_equal(np.load(os.path.join(pub, name + "_samples.npy")), vals), name
            assert np.array_equal(np.load(os.path.join(pub, name + "_labels.npy")), classes), name
        print(f"{name}: identical to the reference dataset.py" + (" and publication_data" if os.path.isdir(pub) else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="checkout of lkriener/yin_yang_data_set to check against")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "..", "train", "testdata", "yinyang_golden.json"))
    args = parser.parse_args()

    sets = [make(size, seed) for _, size, seed in SPLITS]
    if args.reference:
        check_reference(args.reference, sets)

    out = {"numpy": np.__version__, "r_small": R_SMALL, "r_big": R_BIG}
    rng = np.random.RandomState(42)
    out["mt19937_seed42_uint32"] = [int(v) for v in rng._bit_generator.random_raw(10)]
    out["rand_seed42"] = [float(v) for v in np.random.RandomState(42).rand(5)]
    rng = np.random.RandomState(42)
    out["randint3_seed42"] = [int(rng.randint(3)) for _ in range(20)]
    out["sets"] = []
    for (name, size, seed), (vals, classes) in zip(SPLITS, sets):
        out["sets"].append({
            "name": name, "size": size, "seed": seed,
            # float64 values as numpy computed them; Go compares their float32 roundings.
            "first_features": [[float(v) for v in row] for row in vals[:FIRST]],
            "first_labels": [int(c) for c in classes[:FIRST]],
            "class_counts": [int(np.sum(classes == k)) for k in range(3)],
            # Whole-set digests: little-endian float32 features (row-major) and int32 labels.
            "features_float32_sha256": hashlib.sha256(vals.astype("<f4").tobytes()).hexdigest(),
            "labels_int32_sha256": hashlib.sha256(classes.astype("<i4").tobytes()).hexdigest(),
        })
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(args.out))


if __name__ == "__main__":
    main()
