#!/usr/bin/env python3
"""Writes the gzip / DEFLATE fixtures of InflateTests.swift and their manifest.

Run from this folder: python3 make_data_fixtures.py
Each fixture is decompressed by the Swift decoder and compared (length and SHA-256)
with the payload recorded in manifest.json. Payloads come from a fixed seed, so the
script is reproducible (zlib's output may differ across zlib versions; that is fine,
the manifest records payloads, not compressed bytes).
"""
import gzip, hashlib, json, random, struct, zlib

rng = random.Random(1234)
WORDS = ("the of and to in is that it was for on are as with his they at be this from "
         "have or by one had not but what all were when we there can an your which their").split()


def text(n):
    """About n bytes of word salad with numbers: compressible, but not trivially."""
    out, size = [], 0
    while size < n:
        w = rng.choice(WORDS) if rng.random() < 0.9 else str(rng.randrange(100000))
        out.append(w); size += len(w) + 1
    return (" ".join(out))[:n].encode()


def raw_deflate(data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY):
    c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
    return c.compress(data) + c.flush()


def gzip_all_fields(data):
    """A gzip member with FEXTRA, FNAME, FCOMMENT and FHCRC set."""
    flags = 0x02 | 0x04 | 0x08 | 0x10
    header = b"\x1f\x8b\x08" + bytes([flags]) + struct.pack("<I", 1234567890) + b"\x02\x03"
    extra = b"AB\x03\x00xyz"
    header += struct.pack("<H", len(extra)) + extra + b"name.txt\x00" + b"a comment\x00"
    header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    return header + raw_deflate(data, 9) + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


payloads = {
    "empty": b"",
    "one": b"a",
    "abc": b"abc",
    "zeros": bytes(5000),
    "runs": b"ab" * 3000 + b"xyz" * 1000,
    "binary": bytes(rng.randrange(256) for _ in range(3000)),
    "text": text(20000),
}
manifest = []


def add(name, kind, payload, blob):
    with open(name, "wb") as f:
        f.write(blob)
    manifest.append({"file": name, "kind": kind, "size": len(payload),
                     "sha256": hashlib.sha256(payload).hexdigest()})


for key, data in payloads.items():
    for level in (0, 1, 9):
        add(f"{key}-{level}.gz", "gzip", data, gzip.compress(data, compresslevel=level, mtime=0))
for key in ("text", "runs", "binary"):
    data = payloads[key]
    add(f"{key}-fixed.deflate", "deflate", data, raw_deflate(data, 6, zlib.Z_FIXED))
    add(f"{key}-huffman.deflate", "deflate", data, raw_deflate(data, 6, zlib.Z_HUFFMAN_ONLY))
    add(f"{key}-rle.deflate", "deflate", data, raw_deflate(data, 6, zlib.Z_RLE))
add("fields.gz", "gzip", payloads["text"], gzip_all_fields(payloads["text"]))
add("members.gz", "gzip", payloads["abc"] + payloads["text"],
    gzip.compress(payloads["abc"], mtime=0) + gzip.compress(payloads["text"], mtime=0))
big = bytearray(text(4096))
while len(big) < (1 << 20):   # mostly copies of earlier stretches (matches up to 32 KiB back), some fresh text
    if rng.random() < 0.7:
        start = max(0, len(big) - rng.randrange(1, 32768))
        big += big[start:start + rng.randrange(20, 400)]
    else:
        big += text(rng.randrange(10, 200))
big = bytes(big[:1 << 20])
add("big.gz", "gzip", big, gzip.compress(big, compresslevel=6, mtime=0))

with open("manifest.json", "w") as f:
    json.dump(manifest, f, indent=1)
    f.write("\n")
