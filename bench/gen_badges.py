#!/usr/bin/python3
"""Writes a badge-scan CSV of N rows (about 134 bytes a row), in the style of a real
lead-retrieval export, with a few repeats so dedupe has work to do.
Usage: gen_badges.py N OUT.csv"""
import random
import sys

FIRST = ["Dana", "Renée", "José", "Zoë", "Łukasz", "Anna", "Chloé", "Ørjan", "Ming", "Sam"]
LAST = ["Whitfield", "Lefèvre", "Núñez", "Ångström", "Wróbel", "Schmidt", "Dupont", "Hæreid"]
COMPANY = ["Northwind Traders", "Contoso, Ltd.", "Fabrikam", "Tailspin Toys", "Nordvik AB"]


def main(n, path):
    rnd = random.Random(42)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("First Name,Last Name,Email,Company,Job Title,Phone,Scanned At,Notes,Rating\r\n")
        for i in range(n):
            k = i if rnd.random() > 0.02 else rnd.randrange(max(i, 1))   # ~2% repeats
            company = COMPANY[k % len(COMPANY)]
            f.write(f"{FIRST[k % 10]},{LAST[k % 8]},lead{k}@example{k % 1000}.com,"
                    f"\"{company}\",Head of Operations,+1 212 555 {k % 10000:04d},"
                    f"2026-03-0{4 + k % 3} {9 + k % 8}:{k % 60:02d},"
                    f"\"Asked about pricing, wants a demo\",{'Hot' if k % 3 else 'Warm'}\r\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
