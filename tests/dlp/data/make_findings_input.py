#!/usr/bin/env python3
"""Writes the input of `dlp_bench findings FILE` (BENCHMARKS.md, DLP scan speed):
one text per line, each scanned as plain text and as JSON, so that two builds'
findings can be compared line for line after a change meant to leave them
alone. Deterministic (fixed seed).

  python3 tests/dlp/data/make_findings_input.py > /tmp/findings-input.txt

Holds the labelled corpus's texts, lines dense in digits (cards, SSNs, phone
numbers, dates, ids), and JSON arrays of customer records that mix every
kind the scanner reports, from a handful to a few hundred a line, so that the
report's cap (DLP_MAX_FINDINGS) cuts some of them and not others.
"""
import os
import random

rng = random.Random(20261207)
here = os.path.dirname(os.path.abspath(__file__))


def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def luhn_complete(body):
    for last in "0123456789":
        number = body + last
        total = 0
        for i, ch in enumerate(reversed(number)):
            d = int(ch)
            if i % 2 == 1:
                d = d * 2 - 9 if d * 2 > 9 else d * 2
            total += d
        if total % 10 == 0:
            return number
    raise AssertionError


def card():
    prefix = rng.choice(["4", "51", "55", "37", "6011"])
    length = 15 if prefix == "37" else 16
    number = luhn_complete(prefix + digits(length - len(prefix) - 1))
    style = rng.random()
    if style < 0.3:
        return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    if style < 0.45:
        return "-".join(number[i:i + 4] for i in range(0, len(number), 4))
    return number


def not_a_card():
    return digits(16)


def ssn():
    area = rng.choice([rng.randint(1, 665), rng.randint(667, 899), 0, 666, 900])
    return "%03d-%02d-%04d" % (area, rng.randint(0, 99), rng.randint(0, 9999))


def phone():
    return rng.choice(["+1 415 555 %s" % digits(4), "+44 20 7946 %s" % digits(4), "(415) 555-%s" % digits(4),
                       "+49 30 %s" % digits(8), "555-%s" % digits(4)])


def email(i):
    return rng.choice(["user%d@corp.io" % i, "a.b+%d@example.com" % i, "ops%d@mail.example.org" % i,
                       "x%d@test" % i, "first.last%d@bank.co.uk" % i])


def secret():
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([8, 20, 32, 40])))


def record(i):
    fields = ['"id":%s' % digits(rng.choice([6, 12, 16]))]
    choices = [
        lambda: '"card_number":"%s"' % card(),
        lambda: '"pan":"%s"' % not_a_card(),
        lambda: '"ssn":"%s"' % ssn(),
        lambda: '"ssn":"%s"' % digits(9),
        lambda: '"phone":"%s"' % phone(),
        lambda: '"mobile":"%s"' % digits(10),
        lambda: '"email":"%s"' % email(i),
        lambda: '"password":"%s"' % secret(),
        lambda: '"api_key":"%s"' % secret(),
        lambda: '"token":"ghp_%s"' % secret()[:36].ljust(36, "x"),
        lambda: '"iban":"DE89 3704 0044 0532 0130 00"',
        lambda: '"note":"call %s or mail %s"' % (phone(), email(i)),
        lambda: '"created_at":"2024-03-%02dT10:%02d:00Z"' % (rng.randint(1, 28), rng.randint(0, 59)),
        lambda: '"balance":%s.%s' % (digits(5), digits(2)),
    ]
    for _ in range(rng.randint(1, 6)):
        fields.append(rng.choice(choices)())
    return "{" + ",".join(fields) + "}"


out = []
with open(os.path.join(here, "labelled.tsv")) as corpus:
    for line in corpus:
        if line.startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t", 2)
        if len(parts) == 3:
            out.append(parts[2].encode().decode("unicode_escape", errors="replace").replace("\n", " "))
for _ in range(3000):
    pieces = []
    for _ in range(rng.randint(1, 12)):
        pieces.append(rng.choice([card, not_a_card, ssn, phone, lambda: digits(rng.randint(3, 20)),
                                  lambda: "%s/%s/%s" % (digits(2), digits(2), digits(4))])())
    out.append(rng.choice([" ", ", ", "; ", " id "]).join(pieces))
for n in range(1000):
    count = rng.choice([1, 3, 10, 40, 120, 250])
    out.append('{"customers":[' + ",".join(record(n * 1000 + i) for i in range(count)) + "]}")
for line in out:
    print(line[:60000])
