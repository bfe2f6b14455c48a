"""mutation_sites.py - find the mutation sites of a C source file (scripts/mutation.py).

A small C lexer masks comments, string and character literals and preprocessor lines
(so no site is planted in them), tokenizes what is left, and walks the tokens of function
bodies only (file-scope tables, enums and #defines are left alone). Sites inside
assert()/static_assert() are skipped: an assertion is a check, not behaviour.

Each site becomes a Mutant with a stable identifier: the file, a hash of the site's line
together with its nearest non-blank neighbours (so the identifier survives edits elsewhere
in the file), and the operator with its index among that operator's sites on the line.
Python 3 standard library only.
"""

import hashlib
import re
from dataclasses import dataclass, field

# Operators, in the order they are described in the report.
OPS = {
    "cmp": "flip a comparison (< <=, > >=, == !=)",
    "neg": "negate an if/while condition",
    "del": "delete a call statement",
    "ret": "swap return true/false",
    "lit": "off-by-one on an integer literal (n -> n+1)",
    "obo": "drop a '+ 1' / '- 1'",
    "logic": "swap && and ||",
}

CMP_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
LOGIC_SWAP = {"&&": "||", "||": "&&"}
ASSERTS = re.compile(r"^(assert|static_assert|_Static_assert|G_STATIC_ASSERT|g_assert\w*)$")
NOT_CALLEES = {"if", "while", "for", "switch", "return", "sizeof", "do", "else", "case",
               "goto", "_Alignof", "alignof", "offsetof"}
DECIMAL = re.compile(r"^(0|[1-9][0-9]*)([uU]?[lL]{0,2}|[lL]{1,2}[uU])$")
ARRAY_DECL = re.compile(r"^\s*(static\s+)?(const\s+)?(unsigned\s+)?(char|u?int\d*_t|int|size_t|"
                        r"gchar|guint8|double|float|bool|long|[A-Z]\w*)\s+\w+\s*\[")
PUNCT = ["...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&",
         "||", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "##"]
TOKEN = re.compile(r"[A-Za-z_]\w*|[0-9][\w.]*|" + "|".join(re.escape(p) for p in PUNCT)
                   + r"|\S")


@dataclass
class Mutant:
    file: str          # path relative to the source root
    line: int          # 1-based line of the site (informative; not part of the id)
    op: str            # key of OPS
    k: int             # index among this op's sites on this line
    ctx_hash: str      # hash of the line and its neighbours
    start: int         # byte span [start, end) of the original text that is replaced
    end: int
    replacement: str
    desc: str          # human description, e.g. "'<' -> '<='"
    original: str      # the original line, stripped
    callee: str = ""   # for del: the called function's name
    extra: dict = field(default_factory=dict)

    @property
    def id(self):
        return f"{self.file}@{self.ctx_hash}:{self.op}#{self.k}"

    def label(self):
        """The line of --list and of tests/mutation-equivalent.txt (without the reason)."""
        return f"{self.file}:{self.line}: [{self.ctx_hash} {self.op}#{self.k}] {self.desc}"

    def apply(self, text):
        return text[:self.start] + self.replacement + text[self.end:]


def mask(text):
    """Return text with comments, literals' contents and preprocessor lines blanked out
    (newlines kept, so offsets and line numbers are unchanged)."""
    out = list(text)
    n = len(text)
    i = 0
    line_start = True      # only whitespace seen since the last newline
    directive = False

    def blank(a, b):
        for j in range(a, b):
            if out[j] != "\n":
                out[j] = " "

    while i < n:
        c = text[i]
        if c == "\n":
            if directive and not (i > 0 and text[i - 1] == "\\"):
                directive = False
            line_start = True
            i += 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
            continue
        if c == "#" and line_start:
            directive = True
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, min(j, n))
            i = j + 1
            line_start = False
            continue
        if directive:
            out[i] = " "
        elif not c.isspace():
            line_start = False
        i += 1
    return "".join(out)


def tokenize(masked):
    return [(m.group(0), m.start()) for m in TOKEN.finditer(masked)]


def match_paren(toks, i):
    """Index of the token closing the bracket toks[i] opens."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    want, depth = pairs[toks[i][0]], 0
    for j in range(i, len(toks)):
        t = toks[j][0]
        if t == toks[i][0]:
            depth += 1
        elif t == want:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def body_mask(toks):
    """For each token: True when it is inside a function body and outside assertions."""
    inside = [False] * len(toks)
    depth, in_fn = 0, False
    skip_until = -1
    for i, (t, _) in enumerate(toks):
        if t == "{":
            if depth == 0:
                in_fn = i > 0 and toks[i - 1][0] == ")"
            depth += 1
        elif t == "}":
            depth -= 1
            if depth == 0:
                in_fn = False
        if in_fn and ASSERTS.match(t) and i + 1 < len(toks) and toks[i + 1][0] == "(":
            skip_until = max(skip_until, match_paren(toks, i + 1))
        inside[i] = in_fn and depth > 0 and i > skip_until and t not in "{}"
    return inside


def line_starts(text):
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


class _Lines:
    def __init__(self, text):
        self.text = text
        self.starts = line_starts(text)
        self.lines = text.split("\n")

    def lineno(self, off):
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= off:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def first_on_line(self, off):
        s = self.starts[self.lineno(off) - 1]
        return self.text[s:off].strip() == ""

    def context(self, ln):
        """The stripped line ln and its nearest non-blank neighbours."""
        def near(step):
            j = ln - 1 + step
            while 0 <= j < len(self.lines) and not self.lines[j].strip():
                j += step
            return self.lines[j].strip() if 0 <= j < len(self.lines) else ""
        return near(-1), self.lines[ln - 1].strip(), near(1)


def _binary_left(tok):
    return re.match(r"^[A-Za-z_0-9\]\)]", tok) is not None and tok not in NOT_CALLEES


def _sites(toks, inside, text, lines):
    """Yield (op, start, end, replacement, desc, callee) for every site."""
    for i, (t, off) in enumerate(toks):
        if not inside[i]:
            continue
        prev = toks[i - 1][0] if i > 0 else ""
        nxt = toks[i + 1][0] if i + 1 < len(toks) else ""
        if t in CMP_SWAP:
            yield "cmp", off, off + len(t), CMP_SWAP[t], f"'{t}' -> '{CMP_SWAP[t]}'", ""
        elif t in LOGIC_SWAP:
            yield "logic", off, off + len(t), LOGIC_SWAP[t], f"'{t}' -> '{LOGIC_SWAP[t]}'", ""
        elif t in ("if", "while") and nxt == "(":
            a = toks[i + 1][1]
            j = match_paren(toks, i + 1)
            b = toks[j][1] + 1
            yield "neg", a, b, "(!" + text[a:b] + ")", f"negate the {t} condition", ""
        elif t == "return" and nxt in ("true", "false") and i + 2 < len(toks) \
                and toks[i + 2][0] == ";":
            other = "false" if nxt == "true" else "true"
            o = toks[i + 1][1]
            yield "ret", o, o + len(nxt), other, f"return {nxt} -> return {other}", ""
        elif DECIMAL.match(t) and inside[i]:
            ln = lines.lineno(off)
            if prev == "[" and ARRAY_DECL.match(lines.lines[ln - 1]):
                continue  # an array's size: more room changes nothing observable
            if prev == "," and nxt == ")" and re.search(
                    r"\bg_new0?\s*\([^,()]+,\s*" + t + r"\s*\)", lines.lines[ln - 1]):
                continue  # g_new0(T, 1) -> 2: a bigger allocation, nothing observable
            m = DECIMAL.match(t)
            new = str(int(m.group(1)) + 1) + m.group(2)
            yield "lit", off, off + len(t), new, f"{t} -> {new}", ""
            if t == "1" and prev in ("+", "-") and i >= 2 and _binary_left(toks[i - 2][0]):
                o = toks[i - 1][1]
                yield "obo", o, off + 1, "", f"drop '{prev} 1'", ""
        elif re.match(r"^[A-Za-z_]\w*$", t) and t not in NOT_CALLEES and not ASSERTS.match(t):
            site = _call_statement(toks, i, lines)
            if site is not None:
                a, b, callee = site
                nl = text[a:b].count("\n")
                yield "del", a, b, "(void)0;" + "\n" * nl, f"delete the call {callee}(...)", \
                    callee


def _call_statement(toks, i, lines):
    """When toks[i] starts `f(...);` or `a->b.f(...);` as a statement on its own line,
    return (start, end, callee)."""
    prev = toks[i - 1][0] if i > 0 else ""
    if prev not in (";", "{", "}", ")", "else") or not lines.first_on_line(toks[i][1]):
        return None
    j = i
    while j + 2 < len(toks) and toks[j + 1][0] in (".", "->") \
            and re.match(r"^[A-Za-z_]\w*$", toks[j + 2][0]):
        j += 2
    if j + 1 >= len(toks) or toks[j + 1][0] != "(":
        return None
    close = match_paren(toks, j + 1)
    if close + 1 >= len(toks) or toks[close + 1][0] != ";":
        return None
    return toks[i][1], toks[close + 1][1] + 1, toks[j][0]


def find_mutants(path, text):
    """All the mutants of one file (path relative to the source root), in file order."""
    masked = mask(text)
    toks = tokenize(masked)
    inside = body_mask(toks)
    lines = _Lines(text)
    out, per_line, seen_hash = [], {}, {}
    for op, a, b, rep, desc, callee in _sites(toks, inside, text, lines):
        ln = lines.lineno(a if op != "neg" else a - 1)
        key = (ln, op)
        k = per_line.get(key, 0)
        per_line[key] = k + 1
        h = hashlib.sha1("\n".join(lines.context(ln)).encode()).hexdigest()[:8]
        # Two lines with the same text and the same neighbours: number the later ones.
        owners = seen_hash.setdefault(h, [])
        if ln not in owners:
            owners.append(ln)
        if owners.index(ln) > 0:
            h = f"{h}-{owners.index(ln) + 1}"
        out.append(Mutant(path, ln, op, k, h, a, b, rep, desc, lines.context(ln)[1], callee))
    return out
