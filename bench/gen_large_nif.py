#!/usr/bin/env python3
"""Writes the C source of a large NIF: FUNCS NIF functions with sizeable bodies, one big
ErlNifFunc table, and BLOB_MB of embedded read-only data, so the library is >= 50 MB.

    gen_large_nif.py OUT.c FUNCS BLOB_PATH
"""
import sys

out, funcs, blob = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = ['#include <erl_nif.h>', '#include <string.h>', '']
# The blob: random bytes, embedded as-is (incbin is far faster to compile than an array).
lines.append('__asm__(".section .rodata\\n.global big_blob\\n.type big_blob,@object\\n'
             'big_blob:\\n.incbin \\"%s\\"\\n.size big_blob, .-big_blob\\n.previous");' % blob)
lines.append('extern const unsigned char big_blob[];')
for i in range(funcs):
    # A body that -O1 cannot fold away: a small state machine over the argument.
    lines.append(f'''static ERL_NIF_TERM f{i}(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {{
    long x = 0, acc = {i};
    if (argc < 1 || !enif_get_long(env, argv[0], &x)) return enif_make_badarg(env);
    for (int k = 0; k < (int)(x & 63); k++) {{
        switch ((acc ^ k) & 7) {{
        case 0: acc = acc * {i % 97 + 3} + big_blob[(acc + k) & 0xffff]; break;
        case 1: acc ^= (acc << {i % 13 + 1}) + {i}; break;
        case 2: acc -= big_blob[(k * {i % 31 + 1}) & 0xfff] * {i % 7 + 1}; break;
        case 3: acc = (acc >> 3) | (acc << 61); break;
        case 4: acc += x * {i % 11 + 2}; break;
        case 5: acc = ~acc + {i % 5}; break;
        default: acc ^= big_blob[acc & 0x3ff];
        }}
    }}
    return enif_make_long(env, acc);
}}''')
lines.append('static ErlNifFunc funcs[] = {')
for i in range(funcs):
    lines.append(f'    {{"f{i}", 1, f{i}, 0}},')
lines.append('};')
lines.append('ERL_NIF_INIT(Elixir.Bench.Large, funcs, NULL, NULL, NULL, NULL)')
open(out, 'w').write('\n'.join(lines) + '\n')
