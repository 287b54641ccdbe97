#!/usr/bin/env python3
"""Runs the shared ASL conformance harness and fails on any case not listed as a known failure.

Usage: conformance.py HARNESS BINARY KNOWN_FAILURES_FILE

The known-failures file lists one case name per line (`#` starts a comment: say why). A listed
case that now passes is reported so the list only ever shrinks.
"""
import json, os, subprocess, sys, tempfile

harness, binary, known_file = sys.argv[1:4]
known = set()
if os.path.exists(known_file):
    for line in open(known_file):
        name = line.split("#", 1)[0].strip()
        if name:
            known.add(name)

with tempfile.TemporaryDirectory() as tmp:
    report = os.path.join(tmp, "report.json")
    proc = subprocess.run([sys.executable, harness, binary, "--report", report], text=True)
    results = json.load(open(report))

failed = sorted(case for case, r in results.items() if not r["ok"])
unexpected = [c for c in failed if c not in known]
fixed = sorted(c for c in known if c in results and results[c]["ok"])
for case in fixed:
    print(f"known failure now passes, remove it from {known_file}: {case}")
if unexpected:
    print(f"conformance: {len(unexpected)} unexpected failure(s): {', '.join(unexpected)}")
    sys.exit(1)
print(f"conformance gate: ok ({len(results) - len(failed)} passed, {len(failed)} known failures)")
