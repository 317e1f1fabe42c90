#!/usr/bin/env python3
"""Turns the ```swift blocks of a Markdown file (README.md, a DocC article) into source
files of a Swift package, so that building the package compiles them.

    swift_blocks.py MARKDOWN --package DIR --target NAME [--url URL]

Every block is compiled unless it says otherwise: the blocks, in order, become the
top-level code of DIR/Sources/NAME/main.swift (`import` lines moved to the top), each
preceded by a `#sourceLocation` so that an error names the Markdown file and line. An
HTML comment on a line of its own before the block (invisible on the rendered page)
says how to compile it, one directive per comment:

    <!-- swift-check: manifest -->     the block is a Package.swift: written to DIR, the URL
                                       of its first `.package(url:` replaced by --url
    <!-- swift-check: main -->         the block is the main.swift of the manifest's first
                                       target: written to DIR/Sources/<that target>/
    <!-- swift-check: scope -->        the block starts a new `do { }` scope (closing the
                                       previous one): its names may repeat earlier ones;
                                       unmarked blocks after it continue in it
    <!-- swift-check: given CODE -->   CODE comes first, in the block's scope: the values
                                       the text assumes (`x`, `y`, ...)
    <!-- swift-check: skip REASON -->  the block is not compiled

Prints the manifest's first target name when the file has a manifest block.
"""
import argparse
import os
import re
import sys

DIRECTIVE = re.compile(r"^\s*<!--\s*swift-check:\s*(\w+)\s*(.*?)\s*-->\s*$")
FENCE_OPEN = re.compile(r"^\s*```swift\s*$")
FENCE_CLOSE = re.compile(r"^\s*```\s*$")


def blocks(path):
    """Yields (directives, first line number, code lines) for every ```swift block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    pending = []
    i = 0
    while i < len(lines):
        m = DIRECTIVE.match(lines[i])
        if m:
            pending.append((m.group(1), m.group(2)))
        elif FENCE_OPEN.match(lines[i]):
            start = i + 1
            j = start
            while j < len(lines) and not FENCE_CLOSE.match(lines[j]):
                j += 1
            if j == len(lines):
                sys.exit(f"{path}:{i + 1}: unterminated ```swift block")
            yield pending, start + 1, lines[start:j]
            pending = []
            i = j
        elif lines[i].strip():
            pending = []          # a directive belongs to the block right after it
        i += 1


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("markdown")
    parser.add_argument("--package", required=True, help="the package folder to write into")
    parser.add_argument("--target", required=True, help="the executable target of the ordinary blocks")
    parser.add_argument("--url", help="the dependency URL that replaces the manifest's")
    args = parser.parse_args()
    source = os.path.abspath(args.markdown)

    imports, body = [], []
    in_scope = False
    manifest_target = None
    main_block = None
    for directives, line, code in blocks(args.markdown):
        kinds = [d for d, _ in directives]
        unknown = set(kinds) - {"manifest", "main", "scope", "given", "skip"}
        if unknown:
            sys.exit(f"{args.markdown}:{line - 1}: unknown swift-check directive {sorted(unknown)}")
        if "skip" in kinds:
            continue
        if "manifest" in kinds:
            text = "\n".join(code) + "\n"
            if args.url:
                text, n = re.subn(r'(\.package\(\s*url:\s*)"[^"]*"', lambda m: f'{m.group(1)}"{args.url}"', text, count=1)
                if n != 1:
                    sys.exit(f"{args.markdown}:{line}: the manifest block has no .package(url: ...)")
            found = re.search(r'\.(?:executableTarget|target)\(\s*name:\s*"([^"]+)"', text)
            if not found:
                sys.exit(f"{args.markdown}:{line}: the manifest block names no target")
            manifest_target = found.group(1)
            write(os.path.join(args.package, "Package.swift"), text)
            continue
        if "main" in kinds:
            main_block = (line, code)
            continue
        if "scope" in kinds:
            if in_scope:
                body.append("}")
            body.append("do {")
            in_scope = True
        for kind, code_text in directives:
            if kind == "given":
                body.append(code_text)
        body.append(f'#sourceLocation(file: "{source}", line: {line})')
        for text in code:            # an import moves to the top; its line stays, empty
            if text.startswith("import "):
                imports.append(text)
                text = ""
            body.append(text)
        body.append("#sourceLocation()")
    if in_scope:
        body.append("}")

    if main_block:
        if not manifest_target:
            sys.exit(f"{args.markdown}: a main block needs a manifest block before it")
        line, code = main_block
        write(os.path.join(args.package, "Sources", manifest_target, "main.swift"),
              f'#sourceLocation(file: "{source}", line: {line})\n' + "\n".join(code) + "\n")
    header = f"// Generated by scripts/swift_blocks.py from {os.path.basename(source)}: its ```swift blocks.\n"
    unique_imports = list(dict.fromkeys(imports))
    write(os.path.join(args.package, "Sources", args.target, "main.swift"),
          header + "\n".join(unique_imports + body) + "\n")
    if manifest_target:
        print(manifest_target)


if __name__ == "__main__":
    main()
