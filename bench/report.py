#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Number extraction and the results table for bench/run.sh.

  report.py fio FILE FIELD        one figure from fio's JSON output
                                  (FIELD: read_mibs write_mibs read_iops
                                  write_iops)
  report.py meta FILE             "files create_s stat_s unlink_s" from meta
  report.py render TSV ENV [OUT]  print the table; write OUT as JSON

The TSV holds one sample per line: workload, metric, better ("hi" or
"lo"), target, value (empty when the run failed), note.  Several samples
of one workload on one target are summarised by their median.  Trusts
only files that run.sh wrote.
"""
import json
import statistics
import sys

TARGETS = ("host", "passthrough", "xenshare")


def load_json(path):
    # fio may print warnings before its JSON document.
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    start = text.find("{")
    if start < 0:
        raise ValueError(f"{path}: no JSON object")
    return json.loads(text[start:])


def cmd_fio(path, field):
    doc = load_json(path)
    direction, what = field.split("_", 1)
    total = 0.0
    for job in doc["jobs"]:
        if job.get("error"):
            raise ValueError(f"{path}: fio job error {job['error']}")
        d = job[direction]
        if what == "mibs":
            total += d["bw_bytes"] / 1048576.0
        elif what == "iops":
            total += d["iops"]
        else:
            raise ValueError(f"unknown field {field}")
    print(f"{total:.3f}")


def cmd_meta(path):
    doc = load_json(path)
    print(doc["files"], doc["create_s"], doc["stat_s"], doc["unlink_s"])


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if v >= 0.01 else f"{v:.2g}"


def speed_ratio(better, a, b):
    """How fast a is relative to b: >1 faster, <1 slower."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return a / b if better == "hi" else b / a


def cmd_render(tsv, env_path, out=None):
    with open(env_path, encoding="utf-8") as f:
        env = json.load(f)
    rows = {}
    order = []
    with open(tsv, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 6:
                continue
            wl, metric, better, target, value, note = parts[:6]
            key = (wl, metric)
            if key not in rows:
                rows[key] = {"workload": wl, "metric": metric,
                             "better": better, "samples": {}, "notes": {}}
                order.append(key)
            r = rows[key]
            r["samples"].setdefault(target, [])
            if value:
                r["samples"][target].append(float(value))
            if note:
                r["notes"].setdefault(target, []).append(note)

    results = []
    for key in order:
        r = rows[key]
        res = {"workload": r["workload"], "metric": r["metric"],
               "higher_is_better": r["better"] == "hi"}
        for t in TARGETS:
            s = r["samples"].get(t)
            res[t] = statistics.median(s) if s else None
            res[t + "_samples"] = s or []
            if r["notes"].get(t):
                res[t + "_notes"] = r["notes"][t]
        res["xenshare_vs_host"] = speed_ratio(r["better"], res["xenshare"],
                                              res["host"])
        res["xenshare_vs_passthrough"] = speed_ratio(
            r["better"], res["xenshare"], res["passthrough"])
        res["passthrough_vs_host"] = speed_ratio(
            r["better"], res["passthrough"], res["host"])
        results.append(res)

    head = ("workload", "metric", "host", "passthrough", "xenshare",
            "xs/host", "xs/pt")
    table = [head]
    for res in results:
        table.append((res["workload"], res["metric"], fmt(res["host"]),
                      fmt(res["passthrough"]), fmt(res["xenshare"]),
                      fmt(res["xenshare_vs_host"]),
                      fmt(res["xenshare_vs_passthrough"])))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(row[2:], widths[2:])]
        print("  ".join(cells))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("xs/host, xs/pt: speed of xenshare relative to host / passthrough"
          " (1.00 = as fast; 0.50 = half as fast; times are inverted).")
    for t in TARGETS:
        st = env.get("targets", {}).get(t, {})
        if not st.get("ok"):
            print(f"{t}: MISSING ({st.get('reason', 'not run')})")
    for res in results:
        for t in TARGETS:
            for note in res.get(t + "_notes", []):
                print(f"note: {res['workload']} on {t}: {note}")

    if out:
        doc = {"env": env, "results": results}
        with open(out, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "fio":
            cmd_fio(argv[2], argv[3])
        elif len(argv) == 3 and argv[1] == "meta":
            cmd_meta(argv[2])
        elif len(argv) in (4, 5) and argv[1] == "render":
            cmd_render(*argv[2:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, ValueError, KeyError) as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
