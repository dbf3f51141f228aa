#!/usr/bin/env python3
"""Writes N valid playbooks into DIR: the five bundled examples, each copy renamed, so the corpus
is real playbooks of realistic size that all pass `wpk validate`."""
import os
import re
import sys

def main() -> None:
    target, count = sys.argv[1], int(sys.argv[2])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    examples_dir = os.path.join(root, "examples", "playbooks")
    examples = sorted(f for f in os.listdir(examples_dir) if f.endswith(".wpk.yaml"))
    texts = [open(os.path.join(examples_dir, f), encoding="utf-8").read() for f in examples]
    os.makedirs(target, exist_ok=True)
    for i in range(count):
        text = texts[i % len(texts)]
        # A distinct, still DNS-1123 name per copy; nothing else changes.
        text = re.sub(r"(?m)^(  name: )([a-z0-9-]+)$", lambda m: f"{m.group(1)}{m.group(2)}-{i}", text, count=1)
        with open(os.path.join(target, f"playbook-{i:05d}.wpk.yaml"), "w", encoding="utf-8") as out:
            out.write(text)

if __name__ == "__main__":
    main()
