#!/usr/bin/python3
"""Converts a CTranslate2 Whisper model into whisper.cpp's legacy ggml file.

Inputs: the CTranslate2 `model.bin` (format version 6) and its `config.json`, plus
OpenAI Whisper's `mel_filters.npz` and `multilingual.tiktoken`. Output, in OUT_DIR:
`ggml-<size>.bin` (f16 weights), and with `--type q8_0` also `ggml-<size>-q8_0.bin`
(2-D weights as q8_0 blocks). The output is deterministic: the same inputs give the same
bytes.

    convert_ct2_ggml.py --model model.bin --config config.json \\
        --mel-filters mel_filters.npz --tokens multilingual.tiktoken \\
        --out-dir models [--type q8_0]

The ggml layout, all little-endian:
  - magic 0x67676d6c, then 11 i32: n_vocab, n_audio_ctx, n_audio_state, n_audio_head,
    n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype;
  - the mel filter bank: i32 n_mels, i32 n_fft, then n_mels * n_fft f32;
  - the byte-level tokens: i32 count, then per token i32 length and its bytes;
  - the tensors: i32 n_dims, i32 name length, i32 type, n_dims i32 sizes (innermost
    first), the name, the raw data.
Tensors carry OpenAI Whisper's names and follow its checkpoint order.
"""

import argparse
import base64
import json
import os
import struct
import sys

import numpy as np

GGML_MAGIC = 0x67676D6C
# ggml tensor types and file types.
TYPE_F32, TYPE_F16, TYPE_Q8_0 = 0, 1, 8
FTYPE_F16, FTYPE_Q8_0 = 1, 7
# whisper.cpp's quantize tool stores ftype + version * 1000; its loader reads it back.
QUANT_VERSION = 2
Q8_0_BLOCK = 32

# CTranslate2 variable dtypes.
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}

# Model size by (audio layers, state width), as whisper.cpp names its files.
SIZES = {(4, 384): "tiny", (6, 512): "base", (12, 768): "small", (24, 1024): "medium"}


class Reader:
    """Sequential little-endian reads over a bytes buffer."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def unpack(self, fmt):
        """Reads one struct format; returns its tuple."""
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def string(self):
        """Reads a u16-length string; CTranslate2 counts a trailing NUL in the length."""
        (length,) = self.unpack("H")
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw.rstrip(b"\0").decode("utf-8")

    def array(self, dims, dtype, nbytes):
        """Reads raw data as an array of the given shape."""
        raw = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(dims)


def read_ct2(path):
    """Reads a CTranslate2 model.bin; returns {name: array}."""
    with open(path, "rb") as f:
        reader = Reader(f.read())
    (version,) = reader.unpack("I")
    if version != 6:
        sys.exit(f"{path}: CTranslate2 format version {version}, expected 6")
    spec = reader.string()
    if spec != "WhisperSpec":
        sys.exit(f"{path}: model spec {spec!r}, expected 'WhisperSpec'")
    reader.unpack("I")  # spec revision
    (count,) = reader.unpack("I")
    variables = {}
    for _ in range(count):
        name = reader.string()
        (rank,) = reader.unpack("B")
        dims = reader.unpack("I" * rank)
        (dtype, nbytes) = reader.unpack("BI")
        variables[name] = reader.array(dims, CT2_DTYPES[dtype], nbytes)
    return variables


def hyper_params(ct2):
    """Whisper's hyper-parameters, read off the tensors' shapes."""
    n_vocab, n_text_state = ct2["decoder/embeddings/weight"].shape
    n_audio_ctx, n_audio_state = ct2["encoder/position_encodings/encodings"].shape
    return {
        "n_vocab": n_vocab,
        "n_audio_ctx": n_audio_ctx,
        "n_audio_state": n_audio_state,
        "n_audio_head": int(ct2["encoder/num_heads"]),
        "n_audio_layer": count_layers(ct2, "encoder"),
        "n_text_ctx": ct2["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": n_text_state,
        "n_text_head": int(ct2["decoder/num_heads"]),
        "n_text_layer": count_layers(ct2, "decoder"),
        "n_mels": ct2["encoder/conv1/weight"].shape[1],
    }


def count_layers(ct2, stack):
    """How many `<stack>/layer_N` blocks the model has."""
    n = 0
    while f"{stack}/layer_{n}/ffn/linear_0/weight" in ct2:
        n += 1
    return n


def check_config(path, hp):
    """Checks config.json agrees with the weights: a multilingual model."""
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    lang_ids = config.get("lang_ids", [])
    if len(lang_ids) < 2 or hp["n_vocab"] < 51865:
        sys.exit(f"{path}: not a multilingual Whisper model")
    if max(lang_ids) >= hp["n_vocab"]:
        sys.exit(f"{path}: language ids beyond the vocabulary ({hp['n_vocab']})")


def linear(ct2, src, dst):
    """A CTranslate2 linear layer under OpenAI names."""
    return [(f"{dst}.weight", ct2[f"{src}/weight"]), (f"{dst}.bias", ct2[f"{src}/bias"])]


def layer_norm(ct2, src, dst):
    """A CTranslate2 layer norm (gamma, beta) under OpenAI names."""
    return [(f"{dst}.weight", ct2[f"{src}/gamma"]), (f"{dst}.bias", ct2[f"{src}/beta"])]


def split_keys(weight, bias, parts, dst, first):
    """Splits a fused projection; the key projection gets no bias, as in OpenAI's model."""
    names = ["query", "key", "value"][first:]
    weights = np.split(weight, parts)
    biases = np.split(bias, parts)
    out = []
    for name, w, b in zip(names, weights, biases):
        out.append((f"{dst}.{name}.weight", w))
        if name == "key":
            if np.any(b != 0):
                sys.exit(f"{dst}.key: the fused key bias is not zero")
        else:
            out.append((f"{dst}.{name}.bias", b))
    return out


def self_attention(ct2, src, dst):
    """Self-attention: fused QKV split in three, then the output projection."""
    fused = f"{src}/self_attention/linear_0"
    out = split_keys(ct2[f"{fused}/weight"], ct2[f"{fused}/bias"], 3, f"{dst}.attn", 0)
    out += linear(ct2, f"{src}/self_attention/linear_1", f"{dst}.attn.out")
    return out + layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")


def cross_attention(ct2, src, dst):
    """Cross-attention: query, fused KV split in two, then the output projection."""
    base = f"{src}/attention"
    out = linear(ct2, f"{base}/linear_0", f"{dst}.cross_attn.query")
    fused = f"{base}/linear_1"
    out += split_keys(ct2[f"{fused}/weight"], ct2[f"{fused}/bias"], 2, f"{dst}.cross_attn", 1)
    out += linear(ct2, f"{base}/linear_2", f"{dst}.cross_attn.out")
    return out + layer_norm(ct2, f"{base}/layer_norm", f"{dst}.cross_attn_ln")


def feed_forward(ct2, src, dst):
    """The MLP and its layer norm."""
    out = linear(ct2, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    out += linear(ct2, f"{src}/ffn/linear_1", f"{dst}.mlp.2")
    return out + layer_norm(ct2, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")


def openai_tensors(ct2, hp):
    """Every tensor under its OpenAI name, in OpenAI's checkpoint order."""
    out = [("encoder.positional_embedding", ct2["encoder/position_encodings/encodings"])]
    out += linear(ct2, "encoder/conv1", "encoder.conv1")
    out += linear(ct2, "encoder/conv2", "encoder.conv2")
    for i in range(hp["n_audio_layer"]):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        out += self_attention(ct2, src, dst) + feed_forward(ct2, src, dst)
    out += layer_norm(ct2, "encoder/layer_norm", "encoder.ln_post")
    out.append(("decoder.positional_embedding", ct2["decoder/position_encodings/encodings"]))
    out.append(("decoder.token_embedding.weight", ct2["decoder/embeddings/weight"]))
    for i in range(hp["n_text_layer"]):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        out += self_attention(ct2, src, dst) + cross_attention(ct2, src, dst)
        out += feed_forward(ct2, src, dst)
    return out + layer_norm(ct2, "decoder/layer_norm", "decoder.ln")


def read_tokens(path):
    """The byte-level tokens of a tiktoken file (`base64 rank` lines), in file order."""
    with open(path, encoding="ascii") as f:
        return [base64.b64decode(line.split()[0]) for line in f if line.strip()]


def read_mel_filters(path, n_mels):
    """The mel filter bank for n_mels bands."""
    with np.load(path) as npz:
        return np.asarray(npz[f"mel_{n_mels}"], dtype="<f4")


def stored(name, data):
    """How a tensor is stored in the f16 file: (array, ggml type, shape)."""
    # NOTE: conv biases become [n, 1], as whisper.cpp adds them to a 2-D result.
    if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
        data = data.reshape(data.shape[0], 1)
    small = data.ndim < 2 or name.endswith(("conv1.bias", "conv2.bias", "positional_embedding"))
    if small:
        return data.astype("<f4"), TYPE_F32, data.shape
    return data.astype("<f2"), TYPE_F16, data.shape


def quantize_q8_0(data):
    """ggml q8_0 blocks of a 2-D f16 matrix: per 32 values an f16 scale and 32 int8.

    Same arithmetic as ggml's reference quantizer: f32 scale amax / 127, values times
    1 / scale rounded half away from zero.
    """
    blocks = data.astype(np.float32).reshape(-1, Q8_0_BLOCK)
    amax = np.abs(blocks).max(axis=1)
    scale = amax / np.float32(127)
    inverse = np.zeros_like(scale)
    np.divide(np.float32(1), scale, out=inverse, where=scale != 0)
    scaled = (blocks * inverse[:, None]).astype(np.float64)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    out = np.empty(len(blocks), dtype=[("d", "<f2"), ("qs", "i1", (Q8_0_BLOCK,))])
    out["d"] = scale.astype("<f2")
    out["qs"] = rounded.astype(np.int8)
    return out


def as_q8_0(name, data):
    """How a tensor is stored in the q8_0 file: 2-D weights quantized, the rest as f16."""
    array, ttype, shape = stored(name, data)
    if ttype != TYPE_F16 or len(shape) != 2:
        return array, ttype, shape
    if shape[1] % Q8_0_BLOCK != 0:
        sys.exit(f"{name}: rows of {shape[1]} values do not split into q8_0 blocks")
    return quantize_q8_0(array), TYPE_Q8_0, shape


def write_ggml(path, hp, ftype, filters, tokens, tensors, store):
    """Writes the ggml file through `store(name, data) -> (array, type, shape)`."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<i", GGML_MAGIC))
        for key in HPARAM_ORDER:
            f.write(struct.pack("<i", hp[key]))
        f.write(struct.pack("<i", ftype))
        f.write(struct.pack("<ii", *filters.shape))
        f.write(filters.tobytes())
        f.write(struct.pack("<i", len(tokens)))
        for token in tokens:
            f.write(struct.pack("<i", len(token)) + token)
        for name, data in tensors:
            write_tensor(f, name, *store(name, data))
    os.replace(tmp, path)


def write_tensor(f, name, array, ttype, shape):
    """One tensor record: header, sizes innermost first, name, data."""
    encoded = name.encode("utf-8")
    f.write(struct.pack("<iii", len(shape), len(encoded), ttype))
    for size in reversed(shape):
        f.write(struct.pack("<i", size))
    f.write(encoded)
    f.write(array.tobytes())


HPARAM_ORDER = [
    "n_vocab",
    "n_audio_ctx",
    "n_audio_state",
    "n_audio_head",
    "n_audio_layer",
    "n_text_ctx",
    "n_text_state",
    "n_text_head",
    "n_text_layer",
    "n_mels",
]


def parse_args():
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="CTranslate2 model.bin")
    p.add_argument("--config", required=True, help="CTranslate2 config.json")
    p.add_argument("--mel-filters", required=True, help="OpenAI Whisper mel_filters.npz")
    p.add_argument("--tokens", required=True, help="OpenAI Whisper multilingual.tiktoken")
    p.add_argument("--out-dir", required=True, help="folder for the ggml files")
    p.add_argument(
        "--type",
        choices=["f16", "q8_0"],
        default="f16",
        help="q8_0 also writes ggml-<size>-q8_0.bin (the f16 file is always written)",
    )
    return p.parse_args()


def main():
    """Reads the inputs, writes the f16 file and, if asked, the q8_0 one."""
    args = parse_args()
    ct2 = read_ct2(args.model)
    hp = hyper_params(ct2)
    check_config(args.config, hp)
    size = SIZES.get((hp["n_audio_layer"], hp["n_audio_state"]), "model")
    filters = read_mel_filters(args.mel_filters, hp["n_mels"])
    tokens = read_tokens(args.tokens)
    tensors = openai_tensors(ct2, hp)
    print(f"convert: {len(tensors)} tensors, {len(tokens)} tokens, {hp}")

    os.makedirs(args.out_dir, exist_ok=True)
    outputs = [(f"ggml-{size}.bin", FTYPE_F16, stored)]
    if args.type == "q8_0":
        ftype = FTYPE_Q8_0 + QUANT_VERSION * 1000
        outputs.append((f"ggml-{size}-q8_0.bin", ftype, as_q8_0))
    for file_name, ftype, store in outputs:
        path = os.path.join(args.out_dir, file_name)
        write_ggml(path, hp, ftype, filters, tokens, tensors, store)
        print(f"convert: wrote {path} ({os.path.getsize(path):,} bytes)")


if __name__ == "__main__":
    main()
