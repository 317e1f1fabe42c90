#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus: small crafted files per target, plus tiny samples cut
from the real data sets (../../../shared/data, or $KNET_DATA) when they are there.
Run from anywhere: python3 Fuzz/Corpus/make_seeds.py. Every file stays under 4 KB."""
import gzip, io, json, os, struct, zlib

here = os.path.dirname(os.path.abspath(__file__))
data = os.environ.get("KNET_DATA") or os.path.join(here, "..", "..", "..", "shared", "data")


def put(target, name, payload):
    os.makedirs(os.path.join(here, target), exist_ok=True)
    assert len(payload) <= 4096, (target, name, len(payload))
    with open(os.path.join(here, target, name), "wb") as f:
        f.write(payload)


def real(relative, limit):
    """The first `limit` bytes of a real data file (decompressed), or None without it."""
    path = os.path.join(data, relative)
    if not os.path.exists(path):
        return None
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read(limit)


def gz(payload, level=9, **header):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level, mtime=0, **header) as f:
        f.write(payload)
    return out.getvalue()


def deflate(payload, level, strategy=zlib.Z_DEFAULT_STRATEGY):
    c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
    return c.compress(payload) + c.flush()


# inflate: gzip members (levels, header fields, several members) and raw DEFLATE streams
text = b"To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 4
put("inflate", "empty.gz", gz(b""))
put("inflate", "text-1.gz", gz(text, 1))
put("inflate", "text-9.gz", gz(text, 9))
put("inflate", "text-0.gz", gz(text[:200], 0))
put("inflate", "name.gz", gz(text[:64], filename="x.txt"))
put("inflate", "members.gz", gz(b"first ") + gz(b"second"))
header = bytes([0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3]) + b"\x04\x00abcd" + b"name\x00" + b"comment\x00"
crc = zlib.crc32(header) & 0xffff
put("inflate", "fields.gz", header + struct.pack("<H", crc) + deflate(b"header fields", 6)
    + struct.pack("<II", zlib.crc32(b"header fields"), 13))
put("inflate", "runs-rle.deflate", deflate(b"a" * 300 + b"b" * 300, 9, zlib.Z_RLE))
put("inflate", "fixed.deflate", deflate(b"abcabcabc" * 20, 9, zlib.Z_FIXED))
put("inflate", "huffman.deflate", deflate(bytes(range(256)), 9, zlib.Z_HUFFMAN_ONLY))
put("inflate", "stored.deflate", deflate(b"stored", 0))

# idx: label and image files, plain and gzipped, and broken headers
def idx(dims, values):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(values)

labels = real("mnist/t10k-labels-idx1-ubyte.gz", 8 + 16)
images = real("mnist/t10k-images-idx3-ubyte.gz", 16 + 2 * 784)
if labels:
    put("idx", "mnist-labels-16", idx([16], labels[8:]))
    put("idx", "mnist-labels-16.gz", gz(idx([16], labels[8:])))
if images:
    put("idx", "mnist-images-2.gz", gz(idx([2, 28, 28], images[16:])))
    put("idx", "mnist-images-1", idx([1, 28, 28], images[16:16 + 784]))
put("idx", "cube", idx([2, 3, 4], range(24)))
put("idx", "empty-dim", idx([0, 5], []))
put("idx", "truncated", idx([4, 4], range(10)))
put("idx", "float-type", bytes([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]))

# safetensors: every dtype, metadata, empty, and the Python package's padding
def safetensors(tensors, metadata=None):
    head, blob = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    if metadata:
        head["__metadata__"] = metadata
    text = json.dumps(head, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob

put("safetensors", "f32.safetensors", safetensors({"w": ("F32", [2, 3], struct.pack("<6f", *range(6)))}, {"epoch": "3"}))
put("safetensors", "f64.safetensors", safetensors({"b": ("F64", [2], struct.pack("<2d", 0.5, -1))}))
put("safetensors", "narrow.safetensors", safetensors({
    "h": ("F16", [2], struct.pack("<2e", 1.5, -2)), "bf": ("BF16", [1], b"\x80\x3f"),
    "e4": ("F8_E4M3", [2], b"\x38\x7f"), "e5": ("F8_E5M2", [1], b"\x3c"), "ok": ("BOOL", [3], b"\x00\x01\x02"),
    "u8": ("U8", [2], b"\x00\xff"), "i8": ("I8", [2], b"\x80\x7f"), "u16": ("U16", [1], b"\xff\xff"),
    "i16": ("I16", [1], b"\x00\x80")}))
put("safetensors", "wide.safetensors", safetensors({
    "i32": ("I32", [1], struct.pack("<i", -7)), "u32": ("U32", [1], struct.pack("<I", 7)),
    "i64": ("I64", [2], struct.pack("<2q", -(1 << 53), 5)), "u64": ("U64", [1], struct.pack("<Q", 1 << 53))}))
put("safetensors", "empty.safetensors", safetensors({}))
put("safetensors", "scalar.safetensors", safetensors({"t": ("F32", [], struct.pack("<f", 4))}))
put("safetensors", "zero-size.safetensors", safetensors({"z": ("F32", [0, 3], b"")}))
fixtures = os.path.join(here, "..", "..", "Tests", "KnetTests", "Fixtures", "safetensors")
for name in ["python.safetensors", "integers.safetensors", "inexact.safetensors"]:
    with open(os.path.join(fixtures, name), "rb") as f:
        put("safetensors", name, f.read())

# json: the headers above, and the grammar's corners
for name in sorted(os.listdir(os.path.join(here, "safetensors"))):
    with open(os.path.join(here, "safetensors", name), "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    put("json", name.replace(".safetensors", ".json"), blob[8:8 + n])
put("json", "escapes.json", b'{"s":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00","k":"\xc3\xa9"}')
put("json", "numbers.json", b'[0,-0,1.5,-2e10,3E+2,4e-3,123456789012345678901234567890]')
put("json", "literals.json", b' [true, false, null, {}, [], ""] ')
put("json", "nested.json", b'{"a":[{"b":[{"c":[[[1]]]}]}]}')

# housing: UCI's whitespace table and scikit-learn's CSV with its header lines
rows = real("housing/housing.data", 4096)
if rows:
    lines = rows.split(b"\n")[:5]
    put("housing", "housing-5.data", b"\n".join(lines) + b"\n")
    put("housing", "housing-crlf.data", b"\r\n".join(lines[:3]) + b"\r\n")
csv = os.path.join(here, "..", "..", "Sources", "knet", "Resources", "boston_house_prices.csv")
with open(csv, "rb") as f:
    put("housing", "boston-4.csv", b"".join(f.readlines()[:6]))
put("housing", "tabs.data", b"\t".join(b"%d" % i for i in range(14)) + b"\n" + b"\t".join(b"%d.5" % i for i in range(14)) + b"\n")

# text: real text, Unicode, a byte-order mark, invalid UTF-8, Shakespeare's notices
hiawatha = real("hiawatha/19.txt", 2048)
if hiawatha:
    put("text", "hiawatha-2k.txt", hiawatha)
tiny = real("tinyshakespeare/input.txt", 1024)
if tiny:
    put("text", "tinyshakespeare-1k.txt", tiny)
put("text", "unicode.txt", "naïve café — 日本語 😀\r\n".encode() * 3)
put("text", "bom.txt", b"\xef\xbb\xbfwith a byte-order mark\n")
put("text", "invalid-utf8.txt", b"ok \xff\xfe \xc3 \xe2\x82 end\n")
notice = b"<<THIS ELECTRONIC VERSION ... MEMBERSHIP.>>"
put("text", "shakespeare-works.txt", notice.join([b"front matter\n", b"license\n", b"THE SONNETS\nFrom fairest\n",
                                                   b"HAMLET\nWho's there?\n", b"MACBETH\nWhen shall we\n", b"end\n"]))
