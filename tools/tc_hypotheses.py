#!/usr/bin/python3
"""tc_hypotheses.py: tests models of the FP8 tensor-core block FMA against the
measured cases in tests/fixtures/tensor-cores, in exact integer arithmetic.

Usage: /usr/bin/python3 tools/tc_hypotheses.py [DIR] [--cases N] [--show GPU/FMT/OUT:LINE]

For each hypothesis it prints how many cases of each FP8 result file it
reproduces bit for bit (H200 and B200, E4M3 and E5M2, fp32 and fp16 output).
A hypothesis is accepted only when it reproduces every case of every file it
applies to. This is the evidence behind block_fma.chunks / late_c
(src/core/blockfma.c, docs/arithmetic.md); `flipscope tc-check` is the check
of the C model itself. --show prints one case (line numbers are 1-based):
products, c, the exact sum and the hardware's result in binary.

Every value is an integer scaled by 2^L (exact for the FP8 products, binary32
c and results). H200 FP8 with fp32 output was measured with c = 0 (the
README beside the data); every fp16-output run rounded c to fp16 first
(nearest-even), as the measuring program did.
"""
import math
import os
import struct
import sys

L = 200  # value = n / 2^L
FP8 = {'E4M3': (4, -6), 'E5M2': (3, -14)}  # precision, emin


def f32(u):
    return struct.unpack('<f', struct.pack('<I', u))[0]


def fx(v):
    """A finite double as a scaled integer (exact for the values used here)."""
    if v == 0:
        return 0
    m, e = math.frexp(v)
    n, e = int(m * 2**53), e - 53
    return n << (e + L) if e + L >= 0 else n >> -(e + L)


def lead(n):
    """floor(log2 |n / 2^L|) for n != 0."""
    return abs(n).bit_length() - 1 - L


def rnd(n, p, emin, mode):
    """n rounded to p significant bits (exponent >= emin): 'rne' or 'rz'."""
    if n == 0:
        return 0
    a = abs(n)
    sh = max(lead(a), emin) - (p - 1) + L
    if sh <= 0:
        return n
    q, rem = a >> sh, a & ((1 << sh) - 1)
    if mode == 'rne' and (rem > 1 << (sh - 1) or (rem == 1 << (sh - 1) and q & 1)):
        q += 1
    return (q << sh) if n > 0 else -(q << sh)


def r32(n, mode='rne'):
    return rnd(n, 24, -126, mode)


def r16(n, mode='rne'):
    return rnd(n, 11, -14, mode)


def trunc(n, lsb):
    """n with the bits of its magnitude below 2^lsb dropped."""
    sh = lsb + L
    if sh <= 0:
        return n
    a = abs(n) >> sh << sh
    return a if n >= 0 else -a


class Case:
    pass


def load(root, gpu, fmt, limit):
    d = os.path.join(root, gpu, fmt)

    def lines(name):
        with open(os.path.join(d, name)) as f:
            return [l for l in f.read().split('\n') if l.strip()][:limit]
    A = [[f32(int(t, 16)) for t in l.split()] for l in lines(f'a_{gpu}_{fmt}.txt')]
    B = [[f32(int(t, 16)) for t in l.split()] for l in lines(f'b_{gpu}_{fmt}.txt')]
    C = [f32(int(l, 2)) for l in lines(f'c_{gpu}_fp32.txt')]
    D = {o: [f32(int(l, 2)) for l in lines(f'd_{gpu}_{o}.txt')] for o in ('fp32', 'fp16')}
    p, emin = FP8[fmt]
    out = []
    for i in range(len(A)):
        cs = Case()
        cs.P, cs.E = [], []  # products (0 when zero) and their exponents ea + eb (None when zero)
        for x, y in zip(A[i], B[i]):
            cs.P.append(fx(x) * fx(y) >> L)
            cs.E.append(None if x == 0 or y == 0 else
                        max(math.frexp(x)[1] - 1, emin) + max(math.frexp(y)[1] - 1, emin))
        cs.c = 0 if gpu == 'H200' else fx(C[i])  # fp32-output c (H200 FP8: run with c = 0)
        cs.c16 = r16(fx(C[i]))                   # fp16-output c
        cs.d = {o: D[o][i] for o in D}
        out.append(cs)
    return out


def window(cs, ks, F, c=0):
    """Products ks (and c) aligned to the largest product exponent (or c's),
    F fraction bits kept below it, magnitudes truncated, summed exactly."""
    es = [cs.E[k] for k in ks if cs.E[k] is not None] + ([lead(c)] if c else [])
    if not es:
        return 0
    lsb = max(es) - F
    return sum(trunc(cs.P[k], lsb) for k in ks if cs.P[k]) + (trunc(c, lsb) if c else 0)


ALL = range(32)
LOW = [k for k in ALL if k % 4 < 2]   # k mod 4 in {0, 1}
HIGH = [k for k in ALL if k % 4 >= 2]  # k mod 4 in {2, 3}
EVEN, ODD = [k for k in ALL if k % 2 == 0], [k for k in ALL if k % 2 == 1]
FIRST, SECOND = list(range(16)), list(range(16, 32))


def exact(cs, ks):
    return sum(cs.P[k] for k in ks)


def two_chunks(g0, g1, F=None):
    """fp16(fp16(fp16(sum g0) + sum g1) + c): two sub-blocks, then c."""
    def f(cs):
        a = r16(exact(cs, g0) if F is None else window(cs, g0, F))
        b = r16(a + exact(cs, g1) if F is None else window(cs, g1, F, a))
        return r16(b + cs.c16)
    return f


# (name, output, function of a case giving the result as a scaled integer)
HYPOTHESES = [
    ('fp32: c aligned, 13 fraction bits, truncated to 14 bits (h100-e4m3 today)', 'fp32',
     lambda cs: rnd(window(cs, ALL, 13, cs.c), 14, -126, 'rz')),
    ('fp32: c aligned, 25 fraction bits, truncated (publication, B200)', 'fp32',
     lambda cs: r32(window(cs, ALL, 25, cs.c), 'rz')),
    ('fp32: c aligned, 25 fraction bits, nearest-even', 'fp32',
     lambda cs: r32(window(cs, ALL, 25, cs.c))),
    ('fp32: exact a.b + c, nearest-even', 'fp32',
     lambda cs: r32(exact(cs, ALL) + cs.c)),
    ('fp32: products rounded to fp32 nearest, + c nearest', 'fp32',
     lambda cs: r32(r32(exact(cs, ALL)) + cs.c)),
    ('fp32: products (25 bits) truncated to fp32, + c nearest (b200-e4m3/e5m2 now)', 'fp32',
     lambda cs: r32(r32(window(cs, ALL, 25), 'rz') + cs.c)),
    ('fp16: c aligned, 13 bits, truncated to 14 bits, then fp16 nearest', 'fp16',
     lambda cs: r16(rnd(window(cs, ALL, 13, cs.c16), 14, -126, 'rz'))),
    ('fp16: exact a.b + c, fp16 nearest', 'fp16',
     lambda cs: r16(exact(cs, ALL) + cs.c16)),
    ('fp16: products to fp16, + c, fp16 nearest', 'fp16',
     lambda cs: r16(r16(exact(cs, ALL)) + cs.c16)),
    ('fp16: chunks k<16 then k>=16, then c', 'fp16', two_chunks(FIRST, SECOND)),
    ('fp16: chunks k even then k odd, then c', 'fp16', two_chunks(EVEN, ODD)),
    ('fp16: chunks k mod 4 in {2,3} then {0,1}, then c', 'fp16', two_chunks(HIGH, LOW)),
    ('fp16: chunks k mod 4 in {0,1} then {2,3}, c aligned in the first', 'fp16',
     lambda cs: r16(r16(r16(exact(cs, LOW) + cs.c16)) + exact(cs, HIGH))),
    ('fp16: fp16(sum {0,1}) + fp16(sum {2,3}) + c, one rounding', 'fp16',
     lambda cs: r16(r16(exact(cs, LOW)) + r16(exact(cs, HIGH)) + cs.c16)),
    ('fp16: chunks k mod 4 in {0,1} then {2,3}, 13 fraction bits, then c', 'fp16', two_chunks(LOW, HIGH, 13)),
    ('fp16: chunks k mod 4 in {0,1} then {2,3}, 17 fraction bits, then c', 'fp16', two_chunks(LOW, HIGH, 17)),
    ('fp16: chunks k mod 4 in {0,1} then {2,3}, 18 fraction bits, then c', 'fp16', two_chunks(LOW, HIGH, 18)),
    ('fp16: chunks k mod 4 in {0,1} then {2,3}, 25 fraction bits, then c (now)', 'fp16',
     two_chunks(LOW, HIGH, 25)),
]


def same(n, hw):
    if math.isnan(hw):
        return False
    if n == 0:
        return hw == 0 and math.copysign(1, hw) > 0
    return fx(hw) == n


def binary(n, lsb=-40):
    a = abs(n) >> (lsb + L)
    return ('-' if n < 0 else '+') + format(a, 'b') + ('~' if abs(n) & ((1 << (lsb + L)) - 1) else '')


def show(root, spec):
    where, line = spec.split(':')
    gpu, fmt, out = where.split('/')
    cs = load(root, gpu, fmt, int(line))[-1]
    c = cs.c if out == 'fp32' else cs.c16
    for k in sorted(ALL, key=lambda k: -abs(cs.P[k])):
        if cs.P[k]:
            print(f'  k={k:2d} {binary(cs.P[k]):>60s}  {cs.P[k] / 2**L!r}')
    print(f'  c    {binary(c):>60s}  {c / 2**L!r}')
    s = exact(cs, ALL) + c
    print(f'  sum  {binary(s):>60s}  {s / 2**L!r}  (exact)')
    print(f'  hw   {binary(fx(cs.d[out])):>60s}  {cs.d[out]!r}')


def main(argv):
    root, limit = 'tests/fixtures/tensor-cores', 5000
    i = 1
    while i < len(argv):
        if argv[i] == '--cases':
            limit, i = int(argv[i + 1]), i + 2
        elif argv[i] == '--show':
            show(root, argv[i + 1])
            return 0
        else:
            root, i = argv[i], i + 1
    files = [(g, f) for g in ('H200', 'B200') for f in ('E4M3', 'E5M2')]
    data = {gf: load(root, *gf, limit) for gf in files}
    print('%-86s %s' % ('hypothesis', '  '.join('%s/%s' % gf for gf in files)))
    for name, out, fn in HYPOTHESES:
        counts = []
        for gf in files:
            if gf[0] == 'H200' and out == 'fp32' and not name.startswith('fp32: c aligned, 13'):
                counts.append('    -    ')  # c = 0 there: c-handling hypotheses say nothing
                continue
            n = sum(same(fn(cs), cs.d[out]) for cs in data[gf])
            counts.append('%4d/%-4d' % (n, len(data[gf])))
        print('%-86s %s' % (name, '  '.join(counts)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
