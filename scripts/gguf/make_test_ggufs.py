#!/usr/bin/env python3
# Writes the GGUF test files with llama.cpp's own gguf-py (GGUFWriter, quants, vocab), so the files the
# GGUF tests read were not written by InferServe. Run by scripts/ci/setup-gguf-peer.sh; needs numpy.
#   make_test_ggufs.py --gguf-py DIR --models DIR --tokenizers DIR --out DIR [--fixtures DIR]
#   make_test_ggufs.py --gguf-py DIR --models DIR --out DIR --only-gen256-f32
# llama-quantize's files are committed fixtures (tests/InferServe.Tests/Gguf/fixtures, made from gen256-f32.gguf by
# scripts/gguf/make_kquant_fixtures.sh); --fixtures writes gguf-py's dequantization of each of them.
import argparse, struct, sys
from pathlib import Path

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument('--gguf-py', required=True)
ap.add_argument('--models', required=True, help='../shared/models (stories260K/)')
ap.add_argument('--tokenizers', help='.deps/node-tokenizers/models (llama3/, qwen3/ tokenizer.json)')
ap.add_argument('--out', required=True)
ap.add_argument('--fixtures', help='committed llama-quantize fixtures: writes gguf-py dequantized references of them')
ap.add_argument('--only-gen256-f32', action='store_true', help='write only gen256-f32.gguf (the fixtures\' F32 original)')
args = ap.parse_args()
sys.path.insert(0, args.gguf_py)
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as Q  # noqa: E402

out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)


def read_tok512(path):
    data = Path(path).read_bytes()
    pieces, scores, off = [], [], 4
    while off < len(data):
        score, length = struct.unpack_from('<fi', data, off)
        off += 8
        pieces.append(data[off:off + length])
        scores.append(score)
        off += length
    return pieces, scores


def add_tok512_vocab(w, tok_path):
    # tok512.bin is llama2.c's export of a SentencePiece model: spaces back to '▁', byte/control types restored.
    pieces, scores = read_tok512(tok_path)
    tokens, types = [], []
    for i, p in enumerate(pieces):
        tokens.append(p.decode('utf-8').replace(' ', '\u2581'))
        if i == 0:
            types.append(gguf.TokenType.UNKNOWN)
        elif i in (1, 2):
            types.append(gguf.TokenType.CONTROL)
        elif 3 <= i < 259:
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    w.add_tokenizer_model('llama')
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    return len(tokens)


def meta_to_hf(w, heads):
    # llama2.c keeps Meta's interleaved RoPE rows; HF's convert_llama_weights_to_hf permutes them to half-split.
    rows, cols = w.shape
    return w.reshape(heads, rows // heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def hf_to_gguf(w, heads):
    # convert_hf_to_gguf.py LlamaModel.permute: half-split back to interleaved pairs.
    rows, cols = w.shape
    return w.reshape(heads, 2, rows // heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def stories260k(ftype):
    src = Path(args.models) / 'stories260K'
    raw = (src / 'stories260K.bin').read_bytes()
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack_from('<7i', raw, 0)
    shared = vocab > 0
    vocab = abs(vocab)
    hd = dim // heads
    kv = kv_heads * hd
    f = np.frombuffer(raw, dtype=np.float32, offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = f[pos:pos + n].reshape(shape)
        pos += n
        return a

    emb = take(vocab, dim)
    rms_att = take(layers, dim)
    wq, wk, wv = take(layers, dim, dim), take(layers, kv, dim), take(layers, kv, dim)
    wo = take(layers, dim, dim)
    rms_ffn = take(layers, dim)
    w1, w2, w3 = take(layers, hidden, dim), take(layers, dim, hidden), take(layers, hidden, dim)
    rms_final = take(dim)
    pos += seq * hd  # freq_cis_real/imag
    wcls = None if shared else take(vocab, dim)

    name = 'stories260K-%s.gguf' % ftype
    w = gguf.GGUFWriter(str(out / name), 'llama')
    w.add_name('stories260K')
    w.add_context_length(seq)
    w.add_embedding_length(dim)
    w.add_feed_forward_length(hidden)
    w.add_block_count(layers)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(hd)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if ftype == 'f32' else gguf.LlamaFileType.MOSTLY_F16)
    add_tok512_vocab(w, src / 'tok512.bin')
    if ftype == 'f16':  # one file with tokenizer.chat_template, for the server's chat endpoint
        w.add_chat_template("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:")

    def mat(a):  # convert_hf_to_gguf keeps 1-D tensors in F32
        return a.astype(np.float16) if ftype == 'f16' and a.ndim == 2 else a.astype(np.float32)

    w.add_tensor('token_embd.weight', mat(emb))
    w.add_tensor('output_norm.weight', mat(rms_final))
    if wcls is not None:
        w.add_tensor('output.weight', mat(wcls))
    for i in range(layers):
        p = 'blk.%d.' % i
        w.add_tensor(p + 'attn_norm.weight', mat(rms_att[i]))
        w.add_tensor(p + 'attn_q.weight', mat(hf_to_gguf(meta_to_hf(wq[i], heads), heads)))
        w.add_tensor(p + 'attn_k.weight', mat(hf_to_gguf(meta_to_hf(wk[i], kv_heads), kv_heads)))
        w.add_tensor(p + 'attn_v.weight', mat(wv[i]))
        w.add_tensor(p + 'attn_output.weight', mat(wo[i]))
        w.add_tensor(p + 'ffn_norm.weight', mat(rms_ffn[i]))
        w.add_tensor(p + 'ffn_gate.weight', mat(w1[i]))
        w.add_tensor(p + 'ffn_up.weight', mat(w3[i]))
        w.add_tensor(p + 'ffn_down.weight', mat(w2[i]))
    finish(w)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# A random llama whose every row length is a multiple of 256 (the K-quant super-block), one layer, tied
# embeddings: the smallest such model, so it and its llama-quantize files fit in the repository as fixtures.
H, FF, L, NH, NKV, V, CTX = 256, 256, 1, 4, 1, 512, 256
HD = H // NH


def splitmix_normal(seed, shape, scale):
    # Self-contained and exact (uint64 wrap-around, IEEE float64 sums), so every numpy version writes the same
    # bytes: an Irwin-Hall sum of 4 uniforms from SplitMix64, standardized (mean 0, variance 1), times scale.
    n = int(np.prod(shape))
    golden, m1, m2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
    z = (np.arange(1, 4 * n + 1, dtype=np.uint64) + np.uint64(seed << 40)) * golden  # arrays wrap silently
    z = (z ^ (z >> np.uint64(30))) * m1
    z = (z ^ (z >> np.uint64(27))) * m2
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    s = u.reshape(n, 4).sum(axis=1)
    return ((s - 2.0) * (3.0 ** 0.5) * scale).astype(np.float32).reshape(shape)


def gen256_tensors():
    seeds = iter(range(1, 1000))

    def rnd(*shape, scale=0.08):
        return splitmix_normal(next(seeds), shape, scale)

    t = {'token_embd.weight': rnd(V, H, scale=1.0), 'output_norm.weight': 1 + rnd(H, scale=0.1)}
    for i in range(L):
        p = 'blk.%d.' % i
        t[p + 'attn_norm.weight'] = 1 + rnd(H, scale=0.1)
        t[p + 'attn_q.weight'] = rnd(NH * HD, H)
        t[p + 'attn_k.weight'] = rnd(NKV * HD, H)
        t[p + 'attn_v.weight'] = rnd(NKV * HD, H)
        t[p + 'attn_output.weight'] = rnd(H, NH * HD)
        t[p + 'ffn_norm.weight'] = 1 + rnd(H, scale=0.1)
        t[p + 'ffn_gate.weight'] = rnd(FF, H)
        t[p + 'ffn_up.weight'] = rnd(FF, H)
        t[p + 'ffn_down.weight'] = rnd(H, FF)
    return t


def gen256_writer(name, ftype):
    w = gguf.GGUFWriter(str(out / name), 'llama')
    w.add_name('gen256')
    w.add_context_length(CTX)
    w.add_embedding_length(H)
    w.add_feed_forward_length(FF)
    w.add_block_count(L)
    w.add_head_count(NH)
    w.add_head_count_kv(NKV)
    w.add_rope_dimension_count(HD)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(V)
    w.add_file_type(ftype)
    add_tok512_vocab(w, Path(args.models) / 'stories260K' / 'tok512.bin')
    return w


def gen256(qtype, name, ftype):
    w = gen256_writer(name, ftype)
    for tname, a in gen256_tensors().items():
        if a.ndim == 1 or qtype == Q.F32:
            w.add_tensor(tname, a)
        else:
            w.add_tensor(tname, gguf.quants.quantize(a, qtype), raw_shape=None, raw_dtype=qtype)
    finish(w)


def dequantized_reference(src):
    # gguf-py's own dequantization of every tensor, as F32: what our dequantizer must reproduce.
    src = Path(src)
    r = gguf.GGUFReader(str(src))
    w = gguf.GGUFWriter(str(out / src.name.replace('.gguf', '.deq.gguf')), 'llama')
    for t in r.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w.add_tensor(t.name, a.reshape(tuple(int(d) for d in reversed(t.shape))))
    finish(w)


def bpe_vocab(model, pre):
    # gguf-py's BpeVocab + SpecialVocab: the convert_legacy path from a tokenizer.json directory.
    d = Path(args.tokenizers) / model
    vocab = gguf.vocab.BpeVocab(d)
    special = gguf.vocab.SpecialVocab(d, load_merges=True, n_vocab=vocab.vocab_size)
    w = gguf.GGUFWriter(str(out / ('vocab-%s.gguf' % model)), 'llama')
    w.add_tokenizer_model('gpt2')
    w.add_tokenizer_pre(pre)
    tokens, scores, types = [], [], []
    for text, score, typ in vocab.all_tokens():
        tokens.append(text)
        scores.append(score)
        types.append(typ)
    w.add_token_list(tokens)
    w.add_token_types(types)
    special.add_to_gguf(w, quiet=True)
    finish(w)


if args.only_gen256_f32:
    gen256(Q.F32, 'gen256-f32.gguf', gguf.LlamaFileType.ALL_F32)
    print('wrote', out / 'gen256-f32.gguf')
    sys.exit(0)
stories260k('f32')
stories260k('f16')
gen256(Q.F32, 'gen256-f32.gguf', gguf.LlamaFileType.ALL_F32)
gen256(Q.BF16, 'gen256-bf16.gguf', gguf.LlamaFileType.MOSTLY_BF16)
for q, ft in ((Q.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0), (Q.Q4_0, gguf.LlamaFileType.MOSTLY_Q4_0)):
    name = 'gen256-%s-ggufpy.gguf' % q.name.lower()
    gen256(q, name, ft)
    dequantized_reference(out / name)
# Error cases: a type we do not read (Q4_1) and an architecture we do not run.
gen256(Q.Q4_1, 'gen256-q4_1-ggufpy.gguf', gguf.LlamaFileType.MOSTLY_Q4_1)
w = gguf.GGUFWriter(str(out / 'arch-falcon.gguf'), 'falcon')
w.add_block_count(1)
w.add_tensor('token_embd.weight', np.zeros((4, 8), dtype=np.float32))
finish(w)
if args.fixtures:
    for f in sorted(Path(args.fixtures).glob('*-llamacpp.gguf')):
        dequantized_reference(f)
if args.tokenizers:
    bpe_vocab('llama3', 'llama-bpe')
    bpe_vocab('qwen3', 'qwen2')
print('wrote GGUF test files to', out)
