#!/usr/bin/env python3
"""mutation.py - mutation testing of the runtime against the standard sweep.

Plants one small fault at a time in runtime/ C sources (sites from mutation_sites.py),
rebuilds only the ckptsim binary of a private copy of the tree, and runs the standard
sweep (every scenario, seeds 1..K, --stop-at-first) under the hashmap, filesystem and
zookeeper backends in turn. A violation, a crash or a timeout kills the mutant; a mutant
that survives the plain sweeps gets a short sweep of an AddressSanitizer+LeakSanitizer
build, so that deleted frees die too. A mutant that does not compile is stillborn.
Mutants listed in tests/mutation-equivalent.txt are equivalent: they cannot change what
the oracle sees and leave the kill rate's denominator.

The working tree is never written: the sources are copied (git ls-files) into WORK/src and
built there; each mutant is written into the copy and the original restored after it.
Output: OUT/report.txt, OUT/report.json. See `scripts/mutation.sh --help`.
Python 3 standard library only.
"""

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mutation_sites import OPS, find_mutants  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FILES = ["runtime/checkpoint/*.c", "runtime/dataflow/*.c", "runtime/ha/*.c",
                 "runtime/operators/*.c", "runtime/state/*.c"]
BACKENDS = ["hashmap", "filesystem", "zookeeper"]
MEMORY_CALLS = re.compile(r"(^g_free$|_free$|_unref$|^g_clear_\w+|_clear$|_deinit$|"
                          r"^g_error_free$|^free$|_destroy$)")
OBSERVE_CALLS = re.compile(r"(observe|^g_debug$|^g_message$|^g_info$|^g_warning$|_log$|"
                           r"^rt_log\w*)")
EQUIV_LINE = re.compile(r"^(\S+?):(\d+): \[([0-9a-f]{8}(?:-\d+)?) (\w+#\d+)\]")
CI_SAMPLE, CI_SEEDS, CI_SEED = 20, "1..10", 7


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="scripts/mutation.sh",
        description="Mutation testing: plant one fault at a time in runtime/ and check that "
                    "the standard sweep (or the sanitizer sweep) notices.",
        epilog="Examples:\n"
               "  scripts/mutation.sh --list | wc -l\n"
               "  scripts/mutation.sh --sample 60 --seed 1\n"
               "  scripts/mutation.sh --files 'runtime/state/*.c' --sample 40\n"
               "  scripts/mutation.sh --only 'runtime/ha/rt_ckpt_store_fs.c@1a2b3c4d:del#0'\n"
               "  scripts/mutation.sh --ci   # a fixed small sample, a few minutes",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", type=int, default=300,
                   help="mutants to run, a deterministic sample (default 300; 0 = all)")
    p.add_argument("--seed", type=int, default=1, help="seed of the sample (default 1)")
    p.add_argument("--seeds", default="1..20", help="sweep seeds A..B (default 1..20)")
    p.add_argument("--jobs", type=int, default=2, help="sweep --jobs (default 2)")
    p.add_argument("--files", action="append", default=None, metavar="GLOB",
                   help="source files to mutate, relative to the root (repeatable; "
                        "default runtime/{checkpoint,dataflow,ha,operators,state}/*.c)")
    p.add_argument("--ops", default=",".join(OPS),
                   help="operators, comma-separated (default all: %s)" % ",".join(OPS))
    p.add_argument("--only", action="append", default=[], metavar="ID",
                   help="run only this mutant id (FILE@HASH:OP#K; repeatable)")
    p.add_argument("--out", default=os.path.join(ROOT, "out", "mutation"),
                   help="report directory (default out/mutation)")
    p.add_argument("--work", default=None,
                   help="private copy and its builds (default OUT/work; kept between runs "
                        "so that the next run rebuilds incrementally)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds per build and per sweep of one mutant (default 120)")
    p.add_argument("--no-sanitize", action="store_true",
                   help="skip the ASan+LSan sweep of the plain sweep's survivors")
    p.add_argument("--asan-seeds", default="1..1", help="sanitizer sweep seeds (default 1..1)")
    p.add_argument("--equivalent", default=os.path.join(ROOT, "tests",
                                                        "mutation-equivalent.txt"),
                   help="list of equivalent mutants (default tests/mutation-equivalent.txt)")
    p.add_argument("--min-kill-rate", type=float, default=None, metavar="PCT",
                   help="exit 1 when the kill rate is below PCT percent")
    p.add_argument("--ci", action="store_true",
                   help=f"a small fixed sample for CI: --sample {CI_SAMPLE} --seed {CI_SEED} "
                        f"--seeds {CI_SEEDS} (explicit options still win)")
    p.add_argument("--list", action="store_true",
                   help="print the candidate mutants (of the sample, if --sample) and exit")
    args = p.parse_args(argv)
    if args.ci:
        given = set(a.split("=")[0] for a in argv)
        if "--sample" not in given:
            args.sample = CI_SAMPLE
        if "--seed" not in given:
            args.seed = CI_SEED
        if "--seeds" not in given:
            args.seeds = CI_SEEDS
    args.files = args.files or DEFAULT_FILES
    args.ops = [o for o in args.ops.split(",") if o]
    for o in args.ops:
        if o not in OPS:
            p.error(f"unknown operator {o!r} (known: {', '.join(OPS)})")
    if not re.match(r"^\d+\.\.\d+$", args.seeds) or not re.match(r"^\d+\.\.\d+$",
                                                                   args.asan_seeds):
        p.error("seeds are A..B")
    args.work = args.work or os.path.join(args.out, "work")
    return args


# ------------------------------------------------------------------ candidates

def source_files(globs):
    files = []
    for dirpath, _, names in os.walk(os.path.join(ROOT, "runtime")):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), ROOT)
            if n.endswith(".c") and any(fnmatch.fnmatch(rel, g) for g in globs):
                files.append(rel)
    return sorted(files)


def candidates(args):
    out = []
    for rel in source_files(args.files):
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            out.extend(m for m in find_mutants(rel, f.read()) if m.op in args.ops)
    return out


def sample(mutants, n, seed, only):
    """A deterministic sample: the n mutants with the smallest hash of (seed, id). Adding
    sites elsewhere does not reshuffle it. Returned in file order (one compile each)."""
    if only:
        chosen = [m for m in mutants if m.id in only]
    elif n <= 0 or n >= len(mutants):
        chosen = list(mutants)
    else:
        key = lambda m: hashlib.sha1(f"{seed}:{m.id}".encode()).hexdigest()  # noqa: E731
        chosen = sorted(mutants, key=key)[:n]
    order = {id(m): i for i, m in enumerate(mutants)}
    return sorted(chosen, key=lambda m: order[id(m)])


def only_ids(only):
    """--only takes ids (FILE@HASH:OP#K) or --list lines (FILE:LINE: [HASH OP#K] ...)."""
    ids = set()
    for o in only:
        m = EQUIV_LINE.match(o)
        ids.add(f"{m.group(1)}@{m.group(3)}:{m.group(4)}" if m else o)
    return ids


def load_equivalent(path):
    """{(file, hash, op#k): (line, reason)} from the equivalence list."""
    eq = {}
    if not os.path.exists(path):
        return eq
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = EQUIV_LINE.match(line)
            if not m:
                sys.exit(f"mutation: {path}: cannot parse: {line}")
            reason = re.split(r" (?:\u2014|--) ", line, maxsplit=1)
            eq[(m.group(1), m.group(3), m.group(4))] = (int(m.group(2)),
                                                        reason[1] if len(reason) > 1 else "")
    return eq


def equiv_key(m):
    return (m.file, m.ctx_hash, f"{m.op}#{m.k}")


def call_class(m):
    if m.op != "del":
        return ""
    if MEMORY_CALLS.search(m.callee):
        return "memory"
    if OBSERVE_CALLS.search(m.callee):
        return "observe"
    return "call"


# ------------------------------------------------------------------ the private copy

class Work:
    """A private copy of the source tree with a plain and a sanitizer build of ckptsim."""

    def __init__(self, path, log):
        self.path = os.path.abspath(path)
        self.src = os.path.join(self.path, "src")
        self.build = os.path.join(self.src, "build-mut")
        self.asan = os.path.join(self.src, "build-mut-asan")
        self.log = log

    def sync(self):
        """Copy the working tree's files (tracked and untracked-not-ignored) into the copy,
        writing only those that differ, and remove the copy's files that are gone."""
        if os.path.commonpath([self.path, ROOT]) == ROOT and \
                not os.path.relpath(self.path, ROOT).startswith(("out", "build")):
            sys.exit(f"mutation: the work directory {self.path} must not be inside the "
                     "tree's sources (use out/... or a temporary directory)")
        try:
            res = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                                  "--exclude-standard"], check=True, capture_output=True)
            files = [f for f in res.stdout.decode().split("\0") if f]
        except (OSError, subprocess.CalledProcessError):
            files = []
            for dirpath, dirs, names in os.walk(ROOT):
                dirs[:] = [d for d in dirs if not d.startswith((".git", "build", "out"))]
                files += [os.path.relpath(os.path.join(dirpath, n), ROOT) for n in names]
        files = [f for f in files if os.path.isfile(os.path.join(ROOT, f))]
        wanted = set(files)
        for f in files:
            self._copy(f)
        for dirpath, dirs, names in os.walk(self.src):
            dirs[:] = [d for d in dirs if not d.startswith("build-mut")]
            for n in names:
                rel = os.path.relpath(os.path.join(dirpath, n), self.src)
                if rel not in wanted:
                    os.remove(os.path.join(dirpath, n))

    def _copy(self, rel):
        src, dst = os.path.join(ROOT, rel), os.path.join(self.src, rel)
        with open(src, "rb") as f:
            data = f.read()
        if os.path.exists(dst):
            with open(dst, "rb") as f:
                if f.read() == data:
                    return
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(data)
        shutil.copymode(src, dst)

    def write(self, rel, text):
        with open(os.path.join(self.src, rel), "w", encoding="utf-8") as f:
            f.write(text)

    def setup(self, asan):
        """Configure the build directories (once; reused by later runs). werror is off so
        that a mutant that only adds a warning (an unused variable) still runs."""
        dirs = [(self.build, [])]
        if asan:
            dirs.append((self.asan, ["-Db_sanitize=address,undefined", "-Db_lundef=false"]))
        for d, extra in dirs:
            if os.path.exists(os.path.join(d, "build.ninja")):
                continue
            cmd = ["meson", "setup", d, "-Dwerror=false", "-Dtests=false"] + extra
            res = subprocess.run(cmd, cwd=self.src, capture_output=True, text=True)
            if res.returncode != 0:
                sys.exit(f"mutation: meson setup failed:\n{res.stdout}{res.stderr}")

    def compile(self, build_dir, timeout):
        """ninja ckptsim in build_dir; (ok, seconds, output tail)."""
        t0 = time.monotonic()
        rc, out = run_group(["nice", "ninja", "-C", build_dir, "ckptsim"], timeout, self.src)
        return rc == 0, time.monotonic() - t0, out[-2000:]


def run_group(cmd, timeout, cwd, env=None):
    """Run cmd in its own process group; on timeout kill that group. (rc, output); rc is
    None on timeout."""
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return None, out.decode(errors="replace")


# ------------------------------------------------------------------ sweeps

class Sweeper:
    def __init__(self, work, args):
        self.work, self.args = work, args
        self.scenarios = sorted(os.path.relpath(os.path.join(work.src, "scenarios", n),
                                                work.src)
                                for n in os.listdir(os.path.join(work.src, "scenarios"))
                                if n.endswith(".ini"))
        self.capsules = os.path.join(work.path, "capsules")

    def sweep(self, build_dir, backend, seeds, env=None):
        """One sweep; returns (outcome, detail, seconds): outcome is 'pass', 'violation',
        'crash', 'timeout' or 'error' (exit 2: the mutant rejects a valid input)."""
        shutil.rmtree(self.capsules, ignore_errors=True)
        cmd = ["nice", os.path.join(build_dir, "ckptsim"), "sweep", *self.scenarios,
               "--seeds", seeds, "--jobs", str(self.args.jobs), "--stop-at-first", "--json",
               "--out", self.capsules, "--set", f"state.backend.type={backend}"]
        t0 = time.monotonic()
        rc, out = run_group(cmd, self.args.timeout, self.work.src, env)
        dt = time.monotonic() - t0
        if rc is None:
            return "timeout", "timeout", f"no result in {self.args.timeout:.0f} s", dt
        if rc == 0:
            return "pass", "", "", dt
        inv, detail = first_failure(out)
        if rc < 0:
            return "crash", "crash", f"the sweep died of signal {-rc}", dt
        if rc == 1:
            return ("crash" if inv == "crash" else "violation"), inv, detail, dt
        tail = out.strip().splitlines()[-1] if out.strip() else ""
        return "error", "bad-input", detail or tail, dt

    def asan_env(self):
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
        # GLib < 2.76 carves GPtrArray, GArray, GError, GQueue... out of g_slice
        # magazines, which LeakSanitizer sees as reachable: a deleted g_ptr_array_unref or
        # g_error_free would survive. Plain malloc makes those leaks visible.
        env["G_SLICE"] = "always-malloc"
        env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
        return env


def first_failure(out):
    """(invariants, 'scenario seed N: message') of the first failed run of a --json sweep."""
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("summary") or r.get("verdict") == "pass":
            continue
        vs = r.get("violations") or []
        inv = ",".join(sorted(set(v.get("invariant", "?") for v in vs))) or "error"
        msg = vs[0].get("message", "") if vs else r.get("error", "")
        return inv, f"{r.get('scenario')} seed {r.get('seed')}: {inv}: {msg[:200]}"
    return "?", ""


# ------------------------------------------------------------------ one mutant

def run_mutant(m, work, sweeper, args, asan_ok, originals):
    """Plant m in the copy, build, sweep; restore the file. Returns the result dict."""
    text = originals[m.file]
    res = {"id": m.id, "file": m.file, "line": m.line, "op": m.op, "mutation": m.desc,
           "original": m.original, "class": call_class(m)}
    work.write(m.file, m.apply(text))
    try:
        ok, bt, out = work.compile(work.build, args.timeout)
        res["build_s"] = round(bt, 2)
        if not ok:
            res.update(status="stillborn", detail=last_error(out))
            return res
        sweep_s = 0.0
        for b in BACKENDS:
            outcome, inv, detail, dt = sweeper.sweep(work.build, b, args.seeds)
            sweep_s += dt
            if outcome != "pass":
                res.update(status="killed", by=b, outcome=outcome, invariant=inv,
                           detail=detail, sweep_s=round(sweep_s, 2))
                return res
        res["sweep_s"] = round(sweep_s, 2)
        if asan_ok:
            ok, bt, out = work.compile(work.asan, args.timeout)
            res["asan_build_s"] = round(bt, 2)
            if ok:
                for b in BACKENDS:
                    outcome, inv, detail, dt = sweeper.sweep(work.asan, b, args.asan_seeds,
                                                             sweeper.asan_env())
                    res["asan_sweep_s"] = round(res.get("asan_sweep_s", 0) + dt, 2)
                    if outcome != "pass":
                        res.update(status="killed", by=f"asan/{b}", outcome=outcome,
                                   invariant=inv, detail=detail)
                        return res
        res["status"] = "survived"
        return res
    finally:
        work.write(m.file, text)


def last_error(out):
    errs = [ln for ln in out.splitlines() if "error" in ln]
    return (errs[0] if errs else out.strip()[-200:])[:300]


# ------------------------------------------------------------------ report

def summarize(results, eq_hits, stale):
    total = len(results)
    count = lambda s: sum(1 for r in results if r["status"] == s)  # noqa: E731
    stillborn, killed = count("stillborn"), count("killed")
    equivalent = count("equivalent")
    denom = total - stillborn - equivalent
    return {"total": total, "stillborn": stillborn, "killed": killed,
            "equivalent": equivalent, "survived": count("survived"),
            "kill_rate": round(100.0 * killed / denom, 1) if denom else None,
            "killed_by": tally(r["by"] if "/" not in r["by"] else "asan"
                               for r in results if r["status"] == "killed"),
            "killed_by_invariant": tally(r["invariant"] for r in results
                                         if r["status"] == "killed"),
            "equivalent_but_killed": eq_hits, "stale_equivalent_entries": stale}


def tally(items):
    d = {}
    for x in items:
        d[x] = d.get(x, 0) + 1
    return dict(sorted(d.items()))


def area(path):
    return path.split("/")[1] if path.count("/") >= 2 else path


def write_reports(out_dir, args, results, summary, timing):
    os.makedirs(out_dir, exist_ok=True)
    meta = {"sample": args.sample, "seed": args.seed, "seeds": args.seeds,
            "asan_seeds": None if args.no_sanitize else args.asan_seeds,
            "files": args.files, "ops": args.ops, "backends": BACKENDS}
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "summary": summary, "timing": timing, "mutants": results},
                  f, indent=1)
        f.write("\n")
    lines = ["ckptsim mutation report",
             f"files: {' '.join(args.files)}", f"operators: {', '.join(args.ops)}",
             f"sample: {args.sample} (seed {args.seed}); sweep seeds {args.seeds}; backends "
             f"{' '.join(BACKENDS)}; sanitizer sweep "
             f"{'off' if args.no_sanitize else 'seeds ' + args.asan_seeds}", ""]
    s = summary
    lines += [f"total {s['total']}, stillborn {s['stillborn']}, equivalent {s['equivalent']}, "
              f"killed {s['killed']}, survived {s['survived']}",
              f"kill rate: {fmt_rate(s['kill_rate'])} = killed / (total - stillborn - "
              "equivalent)",
              f"killed by backend: {s['killed_by']}",
              f"killed by invariant/outcome: {s['killed_by_invariant']}",
              f"time: {timing}", ""]
    surv = [r for r in results if r["status"] == "survived"]
    lines.append(f"survivors ({len(surv)}), by area and operator:")
    for a in sorted(set(area(r["file"]) for r in surv)):
        lines.append(f"  [{a}]")
        for r in sorted((r for r in surv if area(r["file"]) == a),
                        key=lambda r: (r["op"], r["file"], r["line"])):
            tag = f" ({r['class']})" if r["class"] and r["class"] != "call" else ""
            lines.append(f"    {r['file']}:{r['line']}: "
                         f"[{r['id'].split('@')[1].replace(':', ' ')}] "
                         f"{r['mutation']}{tag}")
            lines.append(f"        {r['original']}")
    for title, st in (("equivalent (listed, survived)", "equivalent"),
                      ("stillborn", "stillborn")):
        rs = [r for r in results if r["status"] == st]
        if rs:
            lines += ["", f"{title} ({len(rs)}):"]
            lines += [f"  {r['file']}:{r['line']}: {r['mutation']}" for r in rs]
    if s["equivalent_but_killed"]:
        lines += ["", "listed as equivalent but killed (remove from the list):"]
        lines += [f"  {x}" for x in s["equivalent_but_killed"]]
    if s["stale_equivalent_entries"]:
        lines += ["", "equivalence entries that match no site (stale?):"]
        lines += [f"  {x}" for x in s["stale_equivalent_entries"]]
    lines += ["", "killed:"]
    lines += [f"  {r['file']}:{r['line']}: {r['mutation']} -> {r['by']}: "
              f"{r['detail'][:140]}" for r in results if r["status"] == "killed"]
    with open(os.path.join(out_dir, "report.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def fmt_rate(r):
    return "n/a" if r is None else f"{r:.1f}%"


def fmt_time(s):
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 \
        else f"{s // 60}:{s % 60:02d}"


# ------------------------------------------------------------------ main

def baseline(work, sweeper, args):
    """Build the unmutated copy and check that it passes; returns whether the sanitizer
    stage can run."""
    for d, name in ((work.build, "plain"), (work.asan, "sanitizer")):
        if d == work.asan and args.no_sanitize:
            return False
        t0 = time.monotonic()
        ok, _, out = work.compile(d, max(args.timeout, 1800))
        if not ok:
            sys.exit(f"mutation: the unmutated {name} build fails:\n{out}")
        print(f"mutation: {name} build of the unmutated copy in {time.monotonic() - t0:.0f} s",
              flush=True)
        for b in BACKENDS:
            seeds = args.seeds if d == work.build else args.asan_seeds
            env = sweeper.asan_env() if d == work.asan else None
            outcome, _, detail, dt = sweeper.sweep(d, b, seeds, env)
            if outcome != "pass":
                msg = f"the unmutated {name} sweep ({b}, seeds {seeds}) fails: {detail}"
                if d == work.asan:
                    print(f"mutation: warning: {msg}; no sanitizer stage", flush=True)
                    return False
                sys.exit(f"mutation: {msg}")
            print(f"mutation: unmutated {name} sweep {b} seeds {seeds}: pass in {dt:.1f} s",
                  flush=True)
    return True


def list_mode(args, argv, cands, chosen, eq):
    explicit = args.ci or args.only or any(a.split("=")[0] == "--sample" for a in argv)
    for m in (chosen if explicit else cands):
        tag = "  (equivalent)" if equiv_key(m) in eq else ""
        print(m.label() + tag)
    ops = tally(m.op for m in cands)
    print(f"mutation: {len(cands)} candidate sites in {len(source_files(args.files))} files "
          f"{ops}; {len(chosen) if explicit else len(cands)} listed", file=sys.stderr)


def main(argv):
    args = parse_args(argv)
    cands = candidates(args)
    chosen = sample(cands, args.sample, args.seed, only_ids(args.only))
    eq = load_equivalent(args.equivalent)
    if args.list:
        list_mode(args, argv, cands, chosen, eq)
        return 0
    if not chosen:
        sys.exit("mutation: no mutant to run")
    keys = set(equiv_key(m) for m in cands)
    files = set(m.file for m in cands)
    stale = [f"{k[0]}:{eq[k][0]}: [{k[1]} {k[2]}]" for k in sorted(eq)
             if k[0] in files and k not in keys]
    t_start = time.monotonic()
    work = Work(args.work, print)
    work.sync()
    work.setup(not args.no_sanitize)
    sweeper = Sweeper(work, args)
    asan_ok = baseline(work, sweeper, args)
    t_setup = time.monotonic() - t_start
    originals = {}
    for f in sorted(set(m.file for m in chosen)):
        with open(os.path.join(work.src, f), encoding="utf-8") as fh:
            originals[f] = fh.read()
    results, eq_hits = [], []
    t_loop = time.monotonic()
    print(f"mutation: {len(chosen)} mutants of {len(cands)} sites; sweep seeds {args.seeds}, "
          f"backends {' '.join(BACKENDS)}, sanitizer {'on' if asan_ok else 'off'}", flush=True)
    try:
        for i, m in enumerate(chosen, 1):
            r = run_mutant(m, work, sweeper, args, asan_ok, originals)
            if equiv_key(m) in eq:
                if r["status"] == "survived":
                    r["status"] = "equivalent"
                    r["reason"] = eq[equiv_key(m)][1]
                elif r["status"] == "killed":
                    eq_hits.append(m.label())
            results.append(r)
            progress(i, len(chosen), results, t_loop, m, r)
            # The report so far, so that a long run can be read (or killed) half-way.
            write_reports(args.out, args, results, summarize(results, eq_hits, stale), {})
    except KeyboardInterrupt:
        print("mutation: interrupted; the report covers the mutants run so far", flush=True)
    per = [r.get("build_s", 0) + r.get("sweep_s", 0) + r.get("asan_build_s", 0)
           + r.get("asan_sweep_s", 0) for r in results]
    timing = {"setup_s": round(t_setup, 1), "mutants_s": round(time.monotonic() - t_loop, 1),
              "per_mutant_mean_s": round(sum(per) / len(per), 1) if per else None,
              "per_killed_mean_s": mean(p for p, r in zip(per, results)
                                        if r["status"] == "killed"),
              "per_survivor_mean_s": mean(p for p, r in zip(per, results)
                                          if r["status"] in ("survived", "equivalent"))}
    summary = summarize(results, eq_hits, stale)
    write_reports(args.out, args, results, summary, timing)
    print(f"mutation: report in {os.path.join(args.out, 'report.txt')} and report.json")
    print(f"mutation: {summary['total']} mutants, {summary['stillborn']} stillborn, "
          f"{summary['equivalent']} equivalent, {summary['killed']} killed, "
          f"{summary['survived']} survived: kill rate {fmt_rate(summary['kill_rate'])}")
    if args.min_kill_rate is not None and (summary["kill_rate"] or 0) < args.min_kill_rate:
        print(f"mutation: FAIL: kill rate below {args.min_kill_rate}%")
        return 1
    return 0


def mean(xs):
    xs = list(xs)
    return round(sum(xs) / len(xs), 1) if xs else None


def progress(i, n, results, t0, m, r):
    el = time.monotonic() - t0
    k = sum(1 for x in results if x["status"] == "killed")
    s = sum(1 for x in results if x["status"] == "survived")
    eta = el / i * (n - i)
    what = r["status"] + (f" by {r['by']} ({r['invariant']})" if r["status"] == "killed" else "")
    print(f"[{i}/{n}] killed {k} survived {s} ETA {fmt_time(eta)}  "
          f"{m.file}:{m.line} {m.desc}: {what}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
