import sys, numpy as np
sys.path.insert(0, "benchmarks")
from domain_gap import training_gallery, dataset_walk
from gaitid.gait.encoder import GaitEncoder
enc = GaitEncoder()
rank = training_gallery(enc)
z = np.load("/work/runs/casia_rgb_masks.npz")
res = {"pipe": [], "pipe_flip": [], "data": [], "data_flip": []}
for k in z.files:
    s, c, n = k.split("-"); cond = f"{c}-{n}"
    p = z[k]
    try:
        d = dataset_walk(s, cond)
    except Exception as e:
        print("skip", k, e); continue
    if len(d) < 5: print("skip short", k); continue
    r = [rank(p, int(s)), rank(p[:, :, ::-1].copy(), int(s)), rank(d, int(s)), rank(d[:, :, ::-1].copy(), int(s))]
    for key, v in zip(res, r): res[key].append(v)
    print(k, r, flush=True)
for key, v in res.items():
    v = np.array(v); print(key, "found", (v == 1).sum(), "of", len(v), "mean rank", v.mean().round(2))
