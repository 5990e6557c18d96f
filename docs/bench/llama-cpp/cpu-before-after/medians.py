# The tables of README.md from the *.table.md files: python3 medians.py
import os
import statistics

here = os.path.dirname(os.path.abspath(__file__))
arms = [f"{arm}{n}" for n in ["", "2", "3", "4", "5", "6"] for arm in ("before", "after")]
sides = [s for s in arms if os.path.exists(f"{here}/{s}.table.md") and os.path.getsize(f"{here}/{s}.table.md") > 0]
before = [s for s in sides if s.startswith("before")]
after = [s for s in sides if s.startswith("after")]
# The row's start in compare.sh's table -> its name here.
rows = {
    "prefill tok/s (128-token prompt)": "prefill tok/s, 128-token prompt",
    "decode tok/s, 1 stream,": "decode tok/s, 1 stream",
    "batch decode tok/s, 8 streams": "batch decode tok/s, 8 streams",
    "batch decode tok/s, 32 streams": "batch decode tok/s, 32 streams",
}

ours, peer = {}, {}  # name -> side -> InferServe tok/s, and the mean of llama.cpp's two runs
for s in sides:
    for line in open(f"{here}/{s}.table.md"):
        for start, name in rows.items():
            if line.startswith("| " + start):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                ours.setdefault(name, {})[s] = float(cells[3])
                peer.setdefault(name, {})[s] = (float(cells[1]) + float(cells[2])) / 2


def change(new, old):
    return f"{(new / old - 1) * 100:+.1f} %"


print("| InferServe row | " + " | ".join(sides) + " | median before → after | after/before per pair |")
print("|---|" + "---|" * len(sides) + "---|---|")
for name in rows.values():
    v = ours[name]
    mb, ma = statistics.median(v[s] for s in before), statistics.median(v[s] for s in after)
    pairs = [change(v["after" + s[6:]], v[s]) for s in before if "after" + s[6:] in v]
    print(f"| {name} | " + " | ".join(f"{v[s]:.1f}" for s in sides) + f" | {mb:.1f} → {ma:.1f} ({change(ma, mb)}) | {', '.join(pairs)} |")

print()
print("| llama.cpp mean of its two runs | " + " | ".join(sides) + " |")
print("|---|" + "---|" * len(sides))
for name in rows.values():
    print(f"| {name} | " + " | ".join(f"{peer[name][s]:.1f}" for s in sides) + " |")

print()
print("| InferServe / llama.cpp in the same run, median over sides | before | after | change |")
print("|---|---|---|---|")
for name in rows.values():
    rb, ra = (statistics.median(ours[name][s] / peer[name][s] for s in arm) for arm in (before, after))
    print(f"| {name} | {rb:.3f} | {ra:.3f} | {change(ra, rb)} |")
