#!/usr/bin/env python3
"""Generates labelled.tsv, the labelled DLP corpus read by labelled_corpus_test.cc.

    python3 tests/dlp/data/make_labelled.py > tests/dlp/data/labelled.tsv

Deterministic (fixed seed, Python 3 standard library only): running it again
gives the same file. The file is committed; this script documents how it was
made.

Labels follow the rules of each data type, not what the detectors do: card
numbers are built for each network's IIN ranges and lengths and completed with
a Luhn digit; IBANs get ISO 7064 mod-97 check digits over a BBAN shaped like
the country's; GitHub tokens carry the CRC32/base62 checksum GitHub
announced; AWS key ids use the base32 alphabet AWS keys are drawn from. Near
misses break exactly one rule (a Luhn digit, a length, a check digit, an
alphabet) or put a valid-looking value where docs/dlp.md says it is not
reported (an identifier key, a credential header of a request, a published
test number, a documentation domain, a placeholder); those are labelled "-".

Line format, tab separated:
    labels    comma-separated detector ids the line must raise, or "-"
    context   json | text | form | header
              json, text: a response body (application/json, text/plain)
              form: a request body (application/x-www-form-urlencoded)
              header: one request header, "Name: value"
    text      backslash-escaped: \\\\ \\t \\n \\r
Lines starting with '#' are comments.
"""

import base64
import json
import random
import string
import sys
import urllib.parse
import zlib

SEED = 20240515
R = random.Random(SEED)

DIGITS = string.digits
UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
ALNUM = DIGITS + UPPER + LOWER
BASE62 = DIGITS + UPPER + LOWER
BASE32 = UPPER + "234567"
HEX = "0123456789abcdef"
B64 = UPPER + LOWER + DIGITS + "+/"
B64URL = UPPER + LOWER + DIGITS + "-_"

rows = []


def add(labels, context, text):
    assert context in ("json", "text", "form", "header"), context
    rows.append((",".join(labels) if labels else "-", context, text))


def rand(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def pick(seq):
    return R.choice(seq)


def js(obj):
    """A JSON body, compact or pretty-printed as APIs send them."""
    if R.random() < 0.3:
        return json.dumps(obj, indent=2)
    return json.dumps(obj, separators=(",", ":") if R.random() < 0.5 else (", ", ": "))


def form(pairs):
    return urllib.parse.urlencode(pairs)


# --- Filler: realistic non-sensitive values ---------------------------------

FIRST = ["Ann", "Bob", "Chen", "Dara", "Elif", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kira", "Luca", "Mia",
         "Noah", "Olga", "Pia", "Ravi", "Sara", "Tomas", "Uma", "Vera", "Wei", "Yusuf", "Zoe"]
LAST = ["Adams", "Brown", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski",
        "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka", "Novak", "Weber"]
CITIES = ["Berlin", "Lyon", "Leeds", "Porto", "Austin", "Osaka", "Turin", "Ghent", "Bergen", "Zurich", "Denver"]
WORDS = ["widget", "order", "shipment", "delivery", "invoice", "account", "profile", "settings", "report",
         "dashboard", "review", "status", "update", "customer", "catalog", "inventory", "release", "project"]


def name():
    return f"{pick(FIRST)} {pick(LAST)}"


def iso_time():
    return f"2024-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}T{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:" \
           f"{R.randint(0, 59):02d}Z"


def uuid4():
    h = rand(HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{pick('89ab')}{h[17:20]}-{h[20:]}"


def small_id():
    return R.randint(1000, 99999999)


def price():
    return round(R.uniform(1, 999), 2)


def filler_fields(n):
    """Benign members to put around a labelled value."""
    choices = [
        lambda: ("id", small_id()),
        lambda: ("created_at", iso_time()),
        lambda: ("status", pick(["active", "pending", "closed", "shipped"])),
        lambda: ("name", name()),
        lambda: ("city", pick(CITIES)),
        lambda: ("amount", price()),
        lambda: ("currency", pick(["EUR", "USD", "GBP", "JPY", "CHF"])),
        lambda: ("request_id", uuid4()),
        lambda: ("count", R.randint(0, 500)),
        lambda: ("verified", R.random() < 0.5),
        lambda: ("note", f"{pick(WORDS).capitalize()} {pick(WORDS)} updated"),
    ]
    out = {}
    for _ in range(n):
        k, v = pick(choices)()
        out[k] = v
    return out


def with_filler(key, value, n=None):
    obj = filler_fields(R.randint(0, 4) if n is None else n)
    obj[key] = value
    items = list(obj.items())
    R.shuffle(items)
    return dict(items)


# --- Payment cards -----------------------------------------------------------

def luhn_digit(partial):
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number):
    return luhn_digit(number[:-1]) == number[-1]


def card_with(prefix, length):
    body = prefix + rand(DIGITS, length - len(prefix) - 1)
    return body + luhn_digit(body)


TEST_CARDS = {"4111111111111111", "4242424242424242", "4012888888881881", "5555555555554444", "5105105105105100",
              "378282246310005", "371449635398431", "6011111111111117", "3566002020360505", "4000056655665556"}

# (brand, prefix generator, lengths). IIN ranges as the networks publish them.
BRANDS = [
    ("visa", lambda: "4", [16] * 12 + [13, 19]),
    ("mastercard", lambda: str(R.randint(51, 55)), [16]),
    ("mastercard2", lambda: str(R.randint(2221, 2720)), [16]),
    ("amex", lambda: pick(["34", "37"]), [15]),
    ("discover", lambda: pick(["6011", str(R.randint(644, 649)), "65"]), [16] * 5 + [19]),
    ("jcb", lambda: str(R.randint(3528, 3589)), [16]),
    ("diners", lambda: pick([str(R.randint(300, 305)), "36", "38"]), [14]),
    ("unionpay", lambda: "62", [16, 16, 17, 18, 19]),
    ("maestro", lambda: pick(["5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"]), [16, 19]),
    ("mir", lambda: str(R.randint(2200, 2204)), [16]),
]


def real_card(brand=None):
    while True:
        b = pick(BRANDS) if brand is None else next(x for x in BRANDS if x[0] == brand)
        prefix = b[1]()
        number = card_with(prefix, pick(b[2]))
        if number in TEST_CARDS or len(set(number)) <= 2:
            continue
        return number


def printed(number, style=None):
    """How cards are printed: compact, or grouped as on the card."""
    style = style or pick(["compact", "compact", "space", "dash"])
    if style == "compact":
        return number
    sep = " " if style == "space" else "-"
    n = len(number)
    if n == 15:
        groups = [number[:4], number[4:10], number[10:]]
    elif n == 14:
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i:i + 4] for i in range(0, n, 4)]
    return sep.join(groups)


CARD_KEYS = ["card_number", "cardNumber", "pan", "cc_number", "creditCardNumber", "card", "ccnum", "debit_card",
             "payment_card", "CardNo"]


def card_positive(number):
    kind = R.randint(0, 9)
    p = printed(number)
    if kind <= 2:
        add(["dlp.credit_card"], "json", js(with_filler(pick(CARD_KEYS), p)))
    elif kind == 3:
        add(["dlp.credit_card"], "json", js({"payment": {"method": "card", "card": {
            "number": p, "exp_month": R.randint(1, 12), "exp_year": R.randint(2025, 2031)}}, "order_id": small_id()}))
    elif kind == 4:
        add(["dlp.credit_card"], "form", form([("name", name()), ("cc_number", p), ("exp", f"{R.randint(1, 12):02d}/"
                                                                                         f"{R.randint(25, 31)}"),
                                                ("cvv", rand(DIGITS, 3))]))
    elif kind == 5:
        add(["dlp.credit_card"], "text", pick([
            f"Card number: {p}\nExpiry: {R.randint(1, 12):02d}/{R.randint(25, 31)}\n",
            f"<tr><td>Credit card</td><td>{p}</td></tr>",
            f"Your payment card {p} was charged {price()} EUR on {iso_time()[:10]}.",
            f"{pick(FIRST)},{pick(LAST)},{number},{R.randint(1, 12):02d}/{R.randint(25, 31)}\n",
            f"Customer {name()} paid with {p} at the {pick(CITIES)} store.",
        ]))
    elif kind == 6:
        add(["dlp.credit_card"], "text", f"{R.randint(1, 28)} {pick(['Mar', 'Apr', 'May'])} 10:{R.randint(10, 59)}:00 "
                                         f"payment-svc INFO charge ok pan={number} amount={price()}")
    elif kind == 7:
        add(["dlp.credit_card"], "header", f"{pick(['X-Card-Number', 'X-Payment-Card', 'X-Cc-Number'])}: {p}")
    elif kind == 8:
        add(["dlp.credit_card"], "json", js({"data": [with_filler("card_number", p, 2)], "has_more": False}))
    else:
        add(["dlp.credit_card"], "form", form([("card", number), ("amount", str(price())), ("currency", "EUR")]))


def gen_cards():
    for b in BRANDS:
        count = 14 if b[0] == "visa" else 6
        for _ in range(count):
            card_positive(real_card(b[0]))
    # Published test numbers with no card word nearby: lowered below the
    # reporting threshold (docs/dlp.md).
    for number in sorted(TEST_CARDS):
        add([], "text",
            pick([f"Use the test card {number} with any future expiry date.",
                  f"In the sandbox, enter {printed(number, 'space')} and any CVC."]))
    # Luhn failures with valid IIN and length, under card names.
    for _ in range(30):
        good = real_card()
        bad = good[:-1] + str((int(good[-1]) + R.randint(1, 9)) % 10)
        assert not luhn_ok(bad)
        ctx = R.randint(0, 2)
        if ctx == 0:
            add([], "json", js(with_filler(pick(CARD_KEYS), printed(bad))))
        elif ctx == 1:
            add([], "form", form([("cc_number", printed(bad)), ("exp", "12/27")]))
        else:
            add([], "text", f"Card number: {printed(bad)}")
    # Luhn-valid, but no network issues that prefix or that length.
    for _ in range(25):
        kind = R.randint(0, 3)
        if kind == 0:
            number = card_with(pick(["1", "7", "8", "9", "0"]), pick([13, 14, 15, 16, 17, 18, 19]))
        elif kind == 1:
            number = card_with("4", pick([14, 15, 17, 18]))  # Visa is 13, 16 or 19
        elif kind == 2:
            number = card_with(pick(["34", "37"]), pick([14, 16]))  # Amex is 15
        else:
            number = card_with(str(R.randint(51, 55)), pick([14, 15, 17]))  # Mastercard is 16
        add([], "json", js(with_filler(pick(CARD_KEYS), number)))
    # Card-shaped identifiers: Luhn-valid with a card IIN, named as what they are.
    for _ in range(30):
        number = real_card()
        key = pick(["order_id", "orderId", "tracking_number", "invoice_no", "transaction_ref", "trace_id",
                    "shipment_id", "parcel_number", "serial_number", "sequence", "timestamp", "id"])
        add([], "json", js(with_filler(key, number if R.random() < 0.5 else int(number))))
    for _ in range(10):
        number = real_card()
        add([], "text", pick([f"Order #{number} shipped via DHL.", f"Tracking number {number}, in transit.",
                              f"Invoice {number} is due on {iso_time()[:10]}.",
                              f"Reference: {number}"]))
    # Timestamps and counters shaped like cards: epoch micro- and nanoseconds,
    # compact date-times.
    for _ in range(20):
        t = R.randint(1_600_000_000, 1_760_000_000)
        value = pick([f"{t}{rand(DIGITS, 6)}", f"{t}{rand(DIGITS, 9)}", f"{t}{rand(DIGITS, 3)}",
                      f"2024{R.randint(1, 12):02d}{R.randint(1, 28):02d}{R.randint(0, 23):02d}{R.randint(0, 59):02d}"
                      f"{R.randint(0, 59):02d}{rand(DIGITS, 3)}"])
        key = pick(["ts", "created_us", "event_time_ns", "updated", "value", "seq_no"])
        if R.random() < 0.6:
            add([], "json", js({key: value, "event": pick(WORDS)}))
        else:
            add([], "text", f"{iso_time()} {key}={value} event={pick(WORDS)}")
    # UUIDs whose segments are all digits, ISBN-13s and EAN-13s.
    for _ in range(8):
        u = f"{rand(DIGITS, 8)}-{rand(DIGITS, 4)}-4{rand(DIGITS, 3)}-8{rand(DIGITS, 3)}-{rand(DIGITS, 12)}"
        if R.random() < 0.5:
            add([], "json", js({"request_id": u}))
        else:
            add([], "text", f"trace {u} finished")
    for _ in range(8):
        body = "978" + rand(DIGITS, 9)
        check = str((10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(body)) % 10) % 10)
        isbn = body + check
        add([], "json", js({"isbn": isbn, "title": f"The {pick(WORDS)} book"}) if R.random() < 0.5 else
            js({"isbn13": f"{isbn[:3]}-{isbn[3]}-{isbn[4:7]}-{isbn[7:12]}-{isbn[12]}"}))
    for _ in range(8):
        body = pick(["40", "50", "54", "62"]) + rand(DIGITS, 10)
        check = str((10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(body)) % 10) % 10)
        add([], "json", js({"ean": body + check, "sku": f"SKU-{rand(DIGITS, 6)}", "price": price()}))
    # Decimal numbers and digit runs glued to words.
    for _ in range(8):
        number = real_card()
        add([], "text", pick([f"total {number}.{rand(DIGITS, 2)} units", f"id=x{number}", f"hash {number}ab9f",
                              f"0.{number}"]))
    # Filler numbers: at most two distinct digits, never issued.
    for filler in ["4444444444444448", "5555555555555557"]:
        if luhn_ok(filler):
            add([], "json", js({"card_number": filler}))


# --- US SSN ------------------------------------------------------------------

SSN_NEVER_VALID = {"078051120", "219099999", "123456789"}


def real_ssn():
    while True:
        area = R.randint(1, 899)
        if area == 666:
            continue
        s = f"{area:03d}{R.randint(1, 99):02d}{R.randint(1, 9999):04d}"
        if s not in SSN_NEVER_VALID:
            return s


def dashed(s, sep="-"):
    return f"{s[:3]}{sep}{s[3:5]}{sep}{s[5:]}"


def gen_ssn():
    for i in range(70):
        s = real_ssn()
        kind = i % 10
        if kind <= 2:
            add(["dlp.us_ssn"], "json", js(with_filler(pick(["ssn", "SSN", "social_security_number", "applicantSsn"]),
                                                       dashed(s))))
        elif kind == 3:
            add(["dlp.us_ssn"], "json", js({"applicant": with_filler(pick(["ssn", "ssn_number"]), s, 2)}))
        elif kind == 4:
            add(["dlp.us_ssn"], "text", pick([f"SSN: {dashed(s)}", f"Social Security Number: {dashed(s, ' ')}",
                                               f"Employee {name()}, SSN {dashed(s)}, hired {iso_time()[:10]}"]))
        elif kind == 5:
            add(["dlp.us_ssn"], "form", form([("first", pick(FIRST)), ("ssn", dashed(s)), ("dob", "1984-03-12")]))
        elif kind == 6:
            add(["dlp.us_ssn"], "text", f"{name()}|{dashed(s)}|{pick(CITIES)}|{R.randint(10000, 99999)}")
        elif kind == 7:
            add(["dlp.us_ssn"], "form", form([("taxpayer_ssn", s), ("year", "2023")]))
        elif kind == 8:
            add(["dlp.us_ssn"], "json", js({"employee": {"name": name(), "tax": {"ssn": dashed(s, pick(["-", " "]))}}}))
        else:
            add(["dlp.us_ssn"], "header", f"X-Applicant-Ssn: {dashed(s)}")
    # Never issued: area 000, 666, 900-999 (987-65-4320..9 is the advertising
    # range), group 00, serial 0000; and the numbers known to be invalid.
    bad = []
    for _ in range(10):
        bad.append(f"000{R.randint(1, 99):02d}{R.randint(1, 9999):04d}")
        bad.append(f"666{R.randint(1, 99):02d}{R.randint(1, 9999):04d}")
        bad.append(f"{R.randint(900, 999)}{R.randint(1, 99):02d}{R.randint(1, 9999):04d}")
        bad.append(f"{R.randint(1, 899):03d}00{R.randint(1, 9999):04d}")
        bad.append(f"{R.randint(1, 665):03d}{R.randint(1, 99):02d}0000")
    bad += [f"98765432{d}" for d in range(10)] + sorted(SSN_NEVER_VALID)
    for s in bad:
        ctx = R.randint(0, 2)
        if ctx == 0:
            add([], "json", js(with_filler("ssn", dashed(s))))
        elif ctx == 1:
            add([], "text", f"SSN: {dashed(s)}")
        else:
            add([], "form", form([("ssn", dashed(s) if R.random() < 0.5 else s)]))
    # Valid numbers that docs/dlp.md does not report: nine bare digits without
    # an SSN name, spaced groups without context, identifiers.
    for _ in range(12):
        add([], "json", js(with_filler(pick(["zip", "routing_number", "account_id", "amount", "employee_no"]),
                                       real_ssn())))
    for _ in range(6):
        add([], "text", f"Batch {dashed(real_ssn(), ' ')} processed")
    for _ in range(6):
        add([], "json", js({"order_ref": dashed(real_ssn())}))
    # Shapes that are not ddd-dd-dddd standing alone.
    for _ in range(12):
        s = real_ssn()
        add([], "text", pick([f"ssn {s[:3]}-{s[3:5]} {s[5:]}", f"ssn {dashed(s)}{R.randint(0, 9)}",
                              f"part 1-{dashed(s)}", f"see {s[:3]}-{s[3:5]}-{s[5:]}-{rand(DIGITS, 2)}",
                              f"v{dashed(s)}"]))


# --- IBAN --------------------------------------------------------------------

def bban_for(cc):
    n = lambda k: rand(DIGITS, k)
    a = lambda k: rand(UPPER, k)
    c = lambda k: rand(DIGITS + UPPER, k) if R.random() < 0.3 else rand(DIGITS, k)
    return {
        "DE": lambda: n(18), "GB": lambda: a(4) + n(14), "FR": lambda: n(10) + c(11) + n(2),
        "ES": lambda: n(20), "NL": lambda: a(4) + n(10), "IT": lambda: a(1) + n(10) + c(12),
        "CH": lambda: n(5) + c(12), "BE": lambda: n(12), "AT": lambda: n(16), "PL": lambda: n(24),
        "NO": lambda: n(11), "SE": lambda: n(20), "DK": lambda: n(14), "IE": lambda: a(4) + n(14),
        "PT": lambda: n(21), "FI": lambda: n(14), "LU": lambda: n(3) + c(13), "CZ": lambda: n(20),
    }[cc]()


IBAN_COUNTRIES = ["DE", "GB", "FR", "ES", "NL", "IT", "CH", "BE", "AT", "PL", "NO", "SE", "DK", "IE", "PT", "FI",
                  "LU", "CZ"]


def iban_of(cc, bban):
    digits = "".join(str(int(ch, 36)) for ch in bban + cc + "00")
    return f"{cc}{98 - int(digits) % 97:02d}{bban}"


def mod97(iban):
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97


def grouped(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def gen_iban():
    for i in range(80):
        cc = IBAN_COUNTRIES[i % len(IBAN_COUNTRIES)]
        iban = iban_of(cc, bban_for(cc))
        p = grouped(iban) if R.random() < 0.4 else iban
        kind = i % 6
        if kind == 0:
            add(["dlp.iban"], "json", js(with_filler(pick(["iban", "IBAN", "bank_account", "payout_iban"]), p)))
        elif kind == 1:
            add(["dlp.iban"], "json", js({"beneficiary": {"name": name(), "account": p, "bic": rand(UPPER, 6) + "2X"}}))
        elif kind == 2:
            add(["dlp.iban"], "text", pick([f"Please transfer the amount to IBAN {p} by Friday.",
                                            f"IBAN: {p}\nAccount holder: {name()}", f"Kontoinhaber {name()}, {p}"]))
        elif kind == 3:
            add(["dlp.iban"], "form", form([("holder", name()), ("iban", p), ("mandate", "on")]))
        elif kind == 4:
            add(["dlp.iban"], "text", f"<dd>{p}</dd>")
        else:
            add(["dlp.iban"], "header", f"X-Payout-Account: {p}")
    for i in range(70):
        cc = IBAN_COUNTRIES[i % len(IBAN_COUNTRIES)]
        good = iban_of(cc, bban_for(cc))
        kind = i % 7
        if kind == 0:  # one changed digit
            pos = R.choice([j for j in range(4, len(good)) if good[j].isdigit()])
            bad = good[:pos] + str((int(good[pos]) + R.randint(1, 9)) % 10) + good[pos + 1:]
        elif kind == 1:  # two adjacent characters swapped
            pos = R.choice([j for j in range(4, len(good) - 1) if good[j] != good[j + 1]])
            bad = good[:pos] + good[pos + 1] + good[pos] + good[pos + 2:]
        elif kind == 2:  # one character short, with check digits that fit
            bad = iban_of(cc, bban_for(cc)[:-1])
        elif kind == 3:  # one character long
            bad = iban_of(cc, bban_for(cc) + pick(DIGITS))
        elif kind == 4:  # a country without IBANs
            bad = iban_of(pick(["US", "CA", "AU", "CN", "JP", "IN"]), rand(DIGITS, R.randint(14, 20)))
        elif kind == 5:  # check digits 00, 01 or 99, outside 02-98, that still give mod-97 = 1
            while good[2:4] not in ("02", "97", "98"):
                good = iban_of(cc, bban_for(cc))
            bad = good[:2] + {"02": "99", "97": "00", "98": "01"}[good[2:4]] + good[4:]
            assert mod97(bad) == 1
        else:  # lower case is not the electronic format
            bad = good.lower()
        if kind in (0, 1):
            assert mod97(bad) != 1, bad
        p = grouped(bad) if R.random() < 0.4 else bad
        if i % 3 == 0:
            add([], "json", js({"iban": p}))
        elif i % 3 == 1:
            add([], "text", f"IBAN: {p}")
        else:
            add([], "form", form([("iban", p)]))
    # IBAN-like strings that are something else.
    for s in ["DEUTDEFF500", "GB2", "ISO 13616", "NL91 is the check", "Room DE12 ABCD", "FR76", "AB12 CDEF GHIJ"]:
        add([], "text", f"Reference {s} noted")


# --- Email -------------------------------------------------------------------

DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.jp", "acme-corp.com", "corp.io", "mail.example-shop.de",
           "uni-heidelberg.de", "stanford.edu", "nhs.uk", "bbc.co.uk", "orange.fr", "libero.it", "web.de",
           "proton.me", "icloud.com", "startup.ai", "studio.design", "shop.store", "fastmail.fm", "gov.br",
           "company.co", "agency.digital", "tech.dev", "team.app", "hey.com", "zoho.eu", "posteo.net", "gmx.ch",
           "cloud.online", "news.media", "team.berlin", "studio.nyc", "bistro.tokyo", "hello.photography"]


def email():
    first, last = pick(FIRST).lower(), pick(LAST).lower()
    local = pick([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", f"{first}+{pick(WORDS)}",
                  f"{first}.{last}{R.randint(1, 99)}", f"{last}{R.randint(1950, 2005)}", first])
    return f"{local}@{pick(DOMAINS)}"


def gen_email():
    for i in range(80):
        e = email()
        kind = i % 8
        if kind <= 1:
            add(["dlp.email"], "json", js(with_filler(pick(["email", "emailAddress", "contact_email", "user_mail",
                                                            "billing_email"]), e)))
        elif kind == 2:
            add(["dlp.email"], "json", js({"user": {"profile": {"name": name(), "email": e}}}))
        elif kind == 3:
            add(["dlp.email"], "text", pick([f"Contact {e} for details.", f"From: {name()} <{e}>\nSubject: hi",
                                             f"<a href=\"mailto:{e}\">Write to us</a>",
                                             f"{iso_time()} login ok user={e} ip=10.0.{R.randint(0, 255)}.7"]))
        elif kind == 4:
            add(["dlp.email"], "form", form([("email", e), ("newsletter", "1")]))
        elif kind == 5:
            add(["dlp.email"], "header", f"{pick(['From', 'X-User-Email', 'X-Forwarded-Email'])}: {e}")
        elif kind == 6:
            add(["dlp.email"], "json", js({"recipients": [e], "subject": f"Your {pick(WORDS)}"}))
        else:
            add(["dlp.email"], "text", f"{name()},{e},{pick(CITIES)}\n")
    negatives = [
        "user@localhost", "root@localhost", "admin@server", "a@b", "logo@2x.png", "icon@3x.webp", "hero@2x.jpg",
        "sprite@2x.svg", "lodash@4.17.21", "@babel/core@7.24.0", "react@18.2.0", "npm i vue@3.4.21",
        "someone@example.com", "jane.doe@example.org", "test@test.test", "user@site.invalid", "dev@app.localhost",
        "noreply@example.net", "john..doe@corp.io", "jane.@corp.io", "printer@office.local", "build@ci.internal",
        "admin@10.0.0.1", "git@github", "ping @channel now", "@media screen", "user@corp", "user@corp.c0m",
        "ops@host.lan", "mail@domain.x", "name@domain.123", "svc@cluster.svc", "pkg@1.2.3", "me@192.168.1.1",
        "john.doe(at)corp.io", "john.doe at corp dot io", "image@2x.png 2x", "font@latest",
    ]
    for i, n in enumerate(negatives):
        for ctx in ("text", "json"):
            add([], ctx, f"see {n} for more" if ctx == "text" else js({"value": n, "kind": pick(WORDS)}))


# --- Phone numbers -------------------------------------------------------------

def intl_phone():
    """An international number in one of the ways people write them."""
    cc, national = pick([
        ("1", lambda: f"{pick(['212', '312', '415', '646', '702', '917'])} {R.randint(200, 999)} {rand(DIGITS, 4)}"),
        ("44", lambda: pick([f"20 7{rand(DIGITS, 3)} {rand(DIGITS, 4)}", f"7{rand(DIGITS, 3)} {rand(DIGITS, 6)}"])),
        ("49", lambda: pick([f"30 {rand(DIGITS, 7)}", f"151 {rand(DIGITS, 8)}"])),
        ("33", lambda: "6 " + " ".join(rand(DIGITS, 2) for _ in range(4))),
        ("34", lambda: f"6{rand(DIGITS, 2)} {rand(DIGITS, 3)} {rand(DIGITS, 3)}"),
        ("39", lambda: f"3{rand(DIGITS, 2)} {rand(DIGITS, 3)} {rand(DIGITS, 4)}"),
        ("31", lambda: f"6 {rand(DIGITS, 8)}"),
        ("91", lambda: f"9{rand(DIGITS, 4)} {rand(DIGITS, 5)}"),
        ("55", lambda: f"11 9{rand(DIGITS, 4)}-{rand(DIGITS, 4)}"),
        ("81", lambda: f"90-{rand(DIGITS, 4)}-{rand(DIGITS, 4)}"),
        ("61", lambda: f"4{rand(DIGITS, 2)} {rand(DIGITS, 3)} {rand(DIGITS, 3)}"),
        ("41", lambda: f"79 {rand(DIGITS, 3)} {rand(DIGITS, 2)} {rand(DIGITS, 2)}"),
        ("65", lambda: f"{pick('89')}{rand(DIGITS, 3)} {rand(DIGITS, 4)}"),
    ])
    number = national()
    style = R.randint(0, 5)
    if style == 1:
        number = number.replace(" ", "-")
    elif style == 2 and cc == "1":
        parts = number.split(" ")
        number = f"({parts[0]}) {parts[1]}-{parts[2]}"
    elif style == 3:
        number = number.replace(" ", "").replace("-", "")
    elif style == 4 and cc == "44":
        number = "(0)" + number
    return f"+{cc} {number}" if style != 3 else f"+{cc}{number}"


def national_phone():
    return pick([
        lambda: f"({pick(['212', '415', '617'])}) {R.randint(200, 999)}-{rand(DIGITS, 4)}",
        lambda: f"020 7{rand(DIGITS, 3)} {rand(DIGITS, 4)}",
        lambda: f"07{rand(DIGITS, 3)} {rand(DIGITS, 6)}",
        lambda: f"030 {rand(DIGITS, 8)}",
        lambda: "06 " + " ".join(rand(DIGITS, 2) for _ in range(4)),
        lambda: f"{pick(['415', '646'])}.{R.randint(200, 999)}.{rand(DIGITS, 4)}",
    ])()


def gen_phone():
    for i in range(80):
        kind = i % 8
        if kind <= 1:
            add(["dlp.phone"], "json", js(with_filler(pick(["phone", "phoneNumber", "mobile", "contact_phone", "tel",
                                                            "fax", "msisdn"]), intl_phone())))
        elif kind == 2:
            add(["dlp.phone"], "json", js(with_filler(pick(["phone", "mobile_phone", "telephone", "cell"]),
                                                      national_phone())))
        elif kind == 3:
            add(["dlp.phone"], "text", pick([f"Call us on {intl_phone()} (Mon-Fri).",
                                             f"{name()} - {intl_phone()} - {pick(CITIES)}",
                                             f"Tel: {national_phone()}", f"Mobile: {national_phone()}"]))
        elif kind == 4:
            add(["dlp.phone"], "form", form([("name", name()), ("phone", intl_phone()), ("optin", "yes")]))
        elif kind == 5:
            add(["dlp.phone"], "form", form([("mobile", national_phone()), ("country", "GB")]))
        elif kind == 6:
            add(["dlp.phone"], "header", f"{pick(['X-Phone-Number', 'X-Customer-Phone', 'X-Msisdn'])}: {intl_phone()}")
        else:
            add(["dlp.phone"], "json", js({"contact": {"name": name(), "phones": [intl_phone()]}}))
    negatives_named = ["2024-01-31", "31.01.2024", "10.20.30.40", "192.168.1.254", "12345", "v2.3.1", "N/A",
                       "+12", "ext. 42", "0", "unknown", "2024-03-15T10:00:00Z", "1.2.3.4", "15/03/2024"]
    for v in negatives_named:
        add([], "json", js({pick(["phone", "mobile", "fax"]): v}))
        add([], "form", form([("phone", v)]))
    negatives_text = [
        f"offset +05:30 applied", "timezone UTC+0100", "release 1.2.3+20240315", "grew +12.5% this year",
        "total +1,234.56 EUR", "score +12345", "+0 123 456 7890 is not a number", "+1234567890123456789",
        "2+2=4 and 3+3=6", "x+4420794609581234567", "+1 000 000 000 raised", "q=pizza+10001+ny",
        "+44", "C++17 and C++20", "temperature +21.5 C", "build +9 more",
    ]
    for v in negatives_text:
        add([], "text", v)
        add([], "json", js({"message": v}))
    # National numbers without a phone name: docs/dlp.md does not report them.
    for _ in range(10):
        add([], "text", f"Reference {national_phone()} on file")
    for _ in range(6):
        add([], "json", js({"hotel": national_phone(), "telemetry": R.randint(1, 100)}))


# --- AWS ---------------------------------------------------------------------

def aws_key_id(prefix=None):
    return (prefix or pick(["AKIA", "AKIA", "ASIA"])) + rand(BASE32, 16)


def aws_secret():
    while True:
        s = rand(B64, 40)
        if any(c.islower() for c in s) and any(c.isupper() for c in s) and any(c.isdigit() for c in s):
            return s


def gen_aws():
    for i in range(60):
        k = aws_key_id()
        kind = i % 6
        if kind == 0:
            add(["dlp.aws_access_key"], "json", js(with_filler(pick(["AccessKeyId", "accessKeyId", "aws_key"]), k)))
        elif kind == 1:
            add(["dlp.aws_access_key"], "text", f"[default]\naws_access_key_id = {k}\nregion = eu-west-1\n")
        elif kind == 2:
            add(["dlp.aws_access_key"], "text", f"export AWS_ACCESS_KEY_ID={k}\nexport AWS_REGION=us-east-1\n")
        elif kind == 3:
            add(["dlp.aws_access_key"], "json", js({"userIdentity": {"type": "IAMUser", "accessKeyId": k,
                                                                      "userName": pick(FIRST).lower()},
                                                     "eventName": "GetObject", "eventTime": iso_time()}))
        elif kind == 4:
            add(["dlp.aws_access_key"], "form", form([("access_key", k), ("bucket", "backups")]))
        else:
            add(["dlp.aws_access_key"], "text", f"Deploy failed for key {k}: AccessDenied")
    for i in range(50):
        s = aws_secret()
        kind = i % 5
        if kind == 0:
            add(["dlp.aws_secret_key"], "text", f"aws_secret_access_key = {s}\n")
        elif kind == 1:
            add(["dlp.aws_secret_key"], "text", f"AWS_SECRET_ACCESS_KEY={s}\n")
        elif kind == 2:
            add(["dlp.aws_secret_key"], "json", js({"SecretAccessKey": s, "Expiration": iso_time()}))
        elif kind == 3:
            add(["dlp.aws_access_key", "dlp.aws_secret_key"], "json",
                js({"Credentials": {"AccessKeyId": aws_key_id("ASIA"), "SecretAccessKey": s,
                                    "Expiration": iso_time()}}))
        else:
            add(["dlp.aws_access_key", "dlp.aws_secret_key"], "text",
                f"[prod]\naws_access_key_id = {aws_key_id('AKIA')}\naws_secret_access_key = {s}\n")
    # Near misses.
    for _ in range(12):  # digits 0, 1, 8, 9 are not in the key alphabet
        k = list(aws_key_id())
        for _ in range(R.randint(1, 3)):
            k[R.randint(4, 19)] = pick("0189")
        add([], "text", f"key {''.join(k)} rotated")
    for _ in range(8):
        add([], "text", f"key {aws_key_id()[:R.choice([18, 19])]} truncated")
    for _ in range(8):
        add([], "text", f"id {aws_key_id()}{pick(BASE32)} is longer")
    for _ in range(6):
        add([], "text", f"value {aws_key_id().lower()} lower")
    for prefix in ["AIDA", "AROA", "ANPA", "AGPA", "AIPA", "ANVA", "APKA", "AKIB", "AKIZ"]:
        add([], "json", js({"UserId" if prefix == "AIDA" else "Id": prefix + rand(BASE32, 16)}))
    for _ in range(6):
        add([], "text", "aws_access_key_id = " + "AKIA" + "IOSFODNN7EXAMPLE")
    for _ in range(10):  # SigV4: the key id travels in Authorization by design
        add([], "header", f"Authorization: AWS4-HMAC-SHA256 Credential={aws_key_id()}/20240315/us-east-1/s3/"
                          f"aws4_request, SignedHeaders=host;x-amz-date, Signature={rand(HEX, 64)}")
    add([], "text", "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY")
    for _ in range(8):  # 40 base64 characters without the name
        add([], "text", f"blob {aws_secret()} end")
    for _ in range(6):  # not random enough
        add([], "text", "aws_secret_access_key = " + pick(["A" * 40, "abcdABCD1234" * 3 + "abcd",
                                                            "0123456789" * 4]))


# --- Google Cloud ------------------------------------------------------------

def pem_lines(n_chars, width=64, prefix=""):
    body = prefix + rand(UPPER + LOWER + DIGITS + "+/", n_chars - len(prefix))
    return [body[i:i + width] for i in range(0, len(body), width)]


def pkcs8_pem():
    lines = pem_lines(1620, prefix="MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ")
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


def gcp_key_file(with_key=True):
    project = f"{pick(WORDS)}-{pick(WORDS)}-{R.randint(100000, 999999)}"
    account = f"{pick(WORDS)}-sa"
    d = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": rand(HEX, 40),
        "private_key": pkcs8_pem() if with_key else "",
        "client_email": f"{account}@{project}.iam.gserviceaccount.com",
        "client_id": rand(DIGITS, 21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{account}%40{project}"
                                f".iam.gserviceaccount.com",
        "universe_domain": "googleapis.com",
    }
    return d


def gcp_api_key():
    return "AIza" + "Sy" + rand(B64URL, 33)


def gen_gcp():
    for i in range(45):
        d = gcp_key_file()
        if i % 3 == 0:
            add(["dlp.gcp_service_account_key", "dlp.email"], "text", json.dumps(d, indent=2))
        elif i % 3 == 1:
            add(["dlp.gcp_service_account_key", "dlp.email"], "json", js(d))
        else:
            add(["dlp.gcp_service_account_key", "dlp.email"], "json", js({"name": "deploy", "credentials": d}))
    for i in range(10):
        d = gcp_key_file(with_key=False)
        if i % 2:
            d["private_key"] = "-----BEGIN PRIVATE KEY-----\nREDACTED\n-----END PRIVATE KEY-----\n"
        add(["dlp.email"], "json", js(d))
    for i in range(6):
        d = gcp_key_file()
        d["type"] = "external_account" if i % 2 else "impersonated_service_account"
        del d["private_key"]
        add(["dlp.email"], "json", js(d))
    for i in range(60):
        k = gcp_api_key()
        kind = i % 6
        if kind == 0:
            add(["dlp.gcp_api_key"], "text", f"<script src=\"https://maps.googleapis.com/maps/api/js?key={k}"
                                             f"&callback=initMap\"></script>")
        elif kind == 1:
            add(["dlp.gcp_api_key"], "text", f"const firebaseConfig = {{\n  apiKey: \"{k}\",\n  authDomain: "
                                             f"\"{pick(WORDS)}-app.firebaseapp.com\",\n}};")
        elif kind == 2:
            add(["dlp.gcp_api_key"], "json", js(with_filler(pick(["api_key", "apiKey", "google_key", "key"]), k)))
        elif kind == 3:
            add(["dlp.gcp_api_key"], "json", js({"client": {"api_key": [{"current_key": k}]}}))
        elif kind == 4:
            add(["dlp.gcp_api_key"], "form", form([("key", k), ("q", pick(CITIES))]))
        else:
            add(["dlp.gcp_api_key"], "text", f"GOOGLE_API_KEY={k}\n")
    for _ in range(8):
        add([], "text", f"key {gcp_api_key()[:-1]} short")
    for _ in range(8):
        add([], "text", f"key {gcp_api_key()}{pick(ALNUM)} long")
    for _ in range(8):  # sent where keys are sent by design
        add([], "header", f"X-Goog-Api-Key: {gcp_api_key()}")
    for v in ["AIza" + "X" * 35, "AIzaSy" + "X" * 33, "AIza" + "0" * 35, "AIzaSyYOUR_API_KEY_HERE",
              "AIzaSy" + "-" * 33]:
        add([], "json", js({"api_key_hint": v}))
        add([], "text", f"value: {v}")


# --- GitHub ------------------------------------------------------------------

def base62(n, width):
    s = ""
    while n:
        s = BASE62[n % 62] + s
        n //= 62
    return s.rjust(width, "0")


def github_token(prefix=None):
    body = rand(BASE62, 30)
    return (prefix or pick(["ghp_", "ghp_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"])) + body + \
        base62(zlib.crc32(body.encode()), 6)


def github_fine_grained():
    return "github_pat_" + rand(BASE62, 22) + "_" + rand(BASE62, 59)


def gen_github():
    for i in range(70):
        t = github_token() if i % 7 else github_fine_grained()
        kind = i % 6
        if kind == 0:
            add(["dlp.github_token"], "json", js(with_filler(pick(["token", "github_token", "access_token", "pat"]), t)))
        elif kind == 1:
            add(["dlp.github_token"], "text", f"GITHUB_TOKEN={t}\n")
        elif kind == 2:
            add(["dlp.github_token"], "text", f"remote: Invalid credentials for {t} (see logs)")
        elif kind == 3:
            add(["dlp.github_token"], "header", f"Authorization: token {t}")
        elif kind == 4:
            add(["dlp.github_token"], "form", form([("token", t), ("scope", "repo")]))
        else:
            add(["dlp.github_token"], "json", js({"installation": {"id": small_id(), "access": {"value": t}}}))
    for i in range(50):
        t = github_token()
        kind = i % 5
        if kind <= 1:  # one character changed: checksum fails
            pos = R.randint(4, 39)
            bad = t[:pos] + pick([c for c in BASE62 if c != t[pos]]) + t[pos + 1:]
        elif kind == 2:
            bad = t[:-1]
        elif kind == 3:
            bad = t + pick(BASE62)
        else:
            bad = t[:4] + "x" * 36
        if i % 2:
            add([], "text", f"value {bad} seen")
        else:
            add([], "json", js({"value": bad}))
    for _ in range(6):
        add([], "text", f"pat github_pat_{rand(BASE62, 21)}_{rand(BASE62, 59)} short")


# --- Slack ---------------------------------------------------------------------

def slack_token():
    kind = pick(["xoxb", "xoxb", "xoxp", "xapp", "xoxa"])
    if kind == "xoxb":
        return f"xoxb-{rand(DIGITS, R.randint(10, 13))}-{rand(DIGITS, 13)}-{rand(ALNUM, 24)}"
    if kind == "xoxp":
        return f"xoxp-{rand(DIGITS, 12)}-{rand(DIGITS, 12)}-{rand(DIGITS, 13)}-{rand(HEX, 32)}"
    if kind == "xapp":
        return f"xapp-1-A{rand(UPPER + DIGITS, 10)}-{rand(DIGITS, 13)}-{rand(HEX, 64)}"
    return f"xoxa-2-{rand(DIGITS, 12)}-{rand(DIGITS, 12)}-{rand(DIGITS, 13)}-{rand(HEX, 32)}"


def slack_webhook():
    kind = R.randint(0, 5)
    if kind <= 3:
        return f"https://hooks.slack.com/services/T{rand(UPPER + DIGITS, 8)}/B{rand(UPPER + DIGITS, 10)}/" \
               f"{rand(ALNUM, 24)}"
    if kind == 4:
        return f"https://hooks.slack.com/workflows/T{rand(UPPER + DIGITS, 8)}/A{rand(UPPER + DIGITS, 10)}/" \
               f"{rand(DIGITS, 18)}/{rand(ALNUM, 24)}"
    return f"https://hooks.slack.com/triggers/T{rand(UPPER + DIGITS, 8)}/{rand(DIGITS, 13)}/{rand(HEX, 32)}"


def gen_slack():
    for i in range(60):
        t = slack_token()
        kind = i % 5
        if kind == 0:
            add(["dlp.slack_token"], "json", js({"ok": True, "access_token": t, "token_type": "bot",
                                                 "scope": "chat:write", "bot_user_id": "U" + rand(UPPER + DIGITS, 10)}))
        elif kind == 1:
            add(["dlp.slack_token"], "text", f"SLACK_BOT_TOKEN={t}\n")
        elif kind == 2:
            add(["dlp.slack_token"], "header", f"Authorization: Bearer {t}")
        elif kind == 3:
            add(["dlp.slack_token"], "form", form([("token", t), ("channel", "C" + rand(UPPER + DIGITS, 10))]))
        else:
            add(["dlp.slack_token"], "json", js(with_filler("slack", {"token": t})))
    for i in range(60):
        w = slack_webhook()
        kind = i % 4
        if kind == 0:
            add(["dlp.slack_webhook"], "json", js(with_filler(pick(["webhook_url", "slackWebhook", "url"]), w)))
        elif kind == 1:
            add(["dlp.slack_webhook"], "text", f"curl -X POST -d '{{\"text\":\"deploy done\"}}' {w}")
        elif kind == 2:
            add(["dlp.slack_webhook"], "form", form([("webhook", w), ("channel", "#ops")]))
        else:
            add(["dlp.slack_webhook"], "header", f"X-Notify-Url: {w}")
    negatives = [
        "xoxb-your-token-here", "xoxb-123-456-abc", "xoxb-XXXXXXXXXXXX-XXXXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXX",
        "xoxp-your-user-token", "xoxb-" + "0" * 11 + "-" + "0" * 13 + "-" + "x" * 24,
        "xoxb-1234567890-1234567890123-" + "x" * 24, "xoxb-" + rand(DIGITS, 11) + "-" + "X" * 24,
        "xapp-1-A0000000000-0000000000000-" + "0" * 64, "xoxe-1-" + rand(ALNUM, 30),
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "https://hooks.slack.com/services/YOUR/WEBHOOK/URL", "https://hooks.slack.com/services/",
        "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/short",
        "https://hooks.slack.com/apps/A0123/install", "https://api.slack.com/messaging/webhooks",
        "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/xxxxxxxxxxxxxxxxxxxxxxxx",
        "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/" + "0" * 24,
    ]
    for v in negatives:
        add([], "text", f"set it to {v} first")
        add([], "json", js({"value": v}))
    for _ in range(8):
        add([], "text", f"xoxb-{rand(DIGITS, 11)}-{rand(DIGITS, 13)}-{rand(ALNUM, 12)} truncated")


# --- Stripe --------------------------------------------------------------------

def stripe_key():
    kind = pick(["sk_live_", "sk_live_", "rk_live_", "pk_live_", "sk_test_", "pk_test_"])
    return kind + (rand(ALNUM, 24) if R.random() < 0.4 else "51" + rand(ALNUM, 97))


def gen_stripe():
    for i in range(60):
        k = stripe_key()
        kind = i % 5
        if kind == 0:
            add(["dlp.stripe_key"], "text", f"STRIPE_SECRET_KEY={k}\n")
        elif kind == 1:
            add(["dlp.stripe_key"], "json", js(with_filler(pick(["stripe_key", "secretKey", "publishable_key"]), k)))
        elif kind == 2:
            add(["dlp.stripe_key"], "header", f"Authorization: Bearer {k}")
        elif kind == 3:
            add(["dlp.stripe_key"], "text", f"Stripe.api_key = \"{k}\"")
        else:
            add(["dlp.stripe_key"], "form", form([("key", k), ("mode", "live")]))
    negatives = ["sk_live_" + "x" * 24, "sk_live_" + "X" * 24, "sk_live_" + "0" * 24, "sk_live_...",
                 "sk_live_YOUR_SECRET_KEY", "sk_test_" + rand(ALNUM, 10), "sk_prod_" + rand(ALNUM, 24),
                 "acct_" + rand(ALNUM, 16), "cus_" + rand(ALNUM, 14), "pi_" + rand(ALNUM, 24),
                 "sk-live-" + rand(ALNUM, 24), "ask_live_" + rand(ALNUM, 24), "sk_live_" + rand(ALNUM, 15),
                 "pk_live_<your key>", "rk_live_" + "*" * 24, "sk_ live_" + rand(ALNUM, 24)]
    for v in negatives:
        add([], "text", f"use {v} here")
        add([], "json", js({"value": v}))
    for _ in range(20):
        add([], "text", f"plan {pick(['sk', 'pk', 'rk'])}_{pick(['live', 'test'])}_{rand(ALNUM, R.randint(5, 19))} "
                        f"too short")


# --- JWT -----------------------------------------------------------------------

def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(alg=None, header=None, payload=None, sig_bytes=None):
    alg = alg or pick(["HS256", "RS256", "ES256", "HS512", "PS256"])
    header = header if header is not None else {"alg": alg, "typ": "JWT"} if R.random() < 0.6 else \
        {"kid": rand(ALNUM, 16), "alg": alg}
    payload = payload if payload is not None else {
        "sub": str(small_id()), "iat": R.randint(1_700_000_000, 1_720_000_000),
        "exp": R.randint(1_720_000_000, 1_760_000_000), "scope": pick(["read", "read write", "admin"]),
        "iss": f"https://auth.{pick(WORDS)}.com/"}
    n = sig_bytes if sig_bytes is not None else {"HS256": 32, "HS512": 64, "ES256": 64}.get(alg, 256)
    sig = bytes(R.getrandbits(8) for _ in range(n))
    return f"{b64u(json.dumps(header, separators=(',', ':')).encode())}." \
           f"{b64u(json.dumps(payload, separators=(',', ':')).encode())}.{b64u(sig)}"


def gen_jwt():
    for i in range(70):
        t = jwt() if i % 14 else jwt(alg="none", sig_bytes=0)
        kind = i % 5
        if kind == 0:
            add(["dlp.jwt"], "json", js({"access_token": t, "token_type": "Bearer", "expires_in": 3600}))
        elif kind == 1:
            add(["dlp.jwt"], "json", js({"id_token": t, "session": {"user": pick(FIRST)}}))
        elif kind == 2:
            add(["dlp.jwt"], "text", f"Debug: request sent with Authorization: Bearer {t}\n")
        elif kind == 3:
            add(["dlp.jwt"], "form", form([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                                           ("assertion", t)]))
        else:
            add(["dlp.jwt"], "text", f"<input type=\"hidden\" name=\"state\" value=\"{t}\">")
    # Three dotted base64url parts that are not a JWS.
    for i in range(40):
        kind = i % 8
        if kind == 0:  # header without alg
            t = jwt(header={"typ": "JWT", "kid": rand(ALNUM, 8)})
        elif kind == 1:  # header is JSON but payload is not
            header = b64u(b'{"alg":"HS256"}')
            t = f"{header}.{b64u(bytes(R.getrandbits(8) for _ in range(24)))}." \
                f"{b64u(bytes(R.getrandbits(8) for _ in range(32)))}"
        elif kind == 2:  # header is not JSON
            payload = b64u(b'{"sub":"1"}')
            t = f"ey{rand(B64URL, 20)}.{payload}.{rand(B64URL, 43)}"
        elif kind == 3:  # signature too short for a signed token
            t = jwt(alg="HS256", sig_bytes=6)
        elif kind == 4:  # JWE: five parts, payload encrypted
            t = ".".join([b64u(b'{"alg":"RSA-OAEP","enc":"A256GCM"}'), rand(B64URL, 342), rand(B64URL, 16),
                          rand(B64URL, 120), rand(B64URL, 22)])
        elif kind == 5:  # JSON header whose alg is not a string member
            t = jwt(header={"algorithm": "HS256"})
        elif kind == 6:  # base64 of a JSON cursor, not a token
            t = b64u(json.dumps({"page": R.randint(2, 99), "after": str(small_id())}).encode())
        else:  # dotted words that start with "ey"
            t = f"eyeglass.{pick(WORDS)}.{pick(WORDS)}-{R.randint(1, 9)}"
        add([], ["json", "text"][i % 2], js({"cursor": t}) if i % 2 == 0 else f"value {t} end")
    for _ in range(10):  # sent where tokens are sent by design
        add([], "header", f"Authorization: Bearer {jwt()}")
    for _ in range(6):
        add([], "header", f"Cookie: theme=dark; session={jwt()}")


# --- PEM private keys ----------------------------------------------------------

def pem(label, n_chars, prefix, headers=""):
    lines = pem_lines(n_chars, prefix=prefix)
    return f"-----BEGIN {label}-----\n{headers}" + "\n".join(lines) + f"\n-----END {label}-----\n"


def private_key():
    kind = R.randint(0, 6)
    if kind == 0:
        return pem("RSA PRIVATE KEY", 1588, "MIIEowIBAAKCAQEA")
    if kind == 1:
        return pkcs8_pem()
    if kind == 2:
        return pem("EC PRIVATE KEY", 160, "MHcCAQEEI")
    if kind == 3:
        return pem("OPENSSH PRIVATE KEY", 540, "b3BlbnNzaC1rZXktdjEAAAAA", )
    if kind == 4:
        return pem("ENCRYPTED PRIVATE KEY", 1716, "MIIFHDBOBgkqhkiG9w0BBQ0w")
    if kind == 5:
        return pem("RSA PRIVATE KEY", 1600, "", headers=f"Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
                                                     f"{rand(HEX.upper(), 32)}\n\n")
    return pem("PGP PRIVATE KEY BLOCK", 1800, "lQOYBGB", headers="Version: GnuPG v2\n\n")


def gen_private_key():
    for i in range(60):
        k = private_key()
        kind = i % 4
        if kind == 0:
            add(["dlp.private_key"], "text", k)
        elif kind == 1:
            add(["dlp.private_key"], "json", js({"tls": {"cert_id": small_id(), "key": k}}))
        elif kind == 2:
            add(["dlp.private_key"], "text", f"# config dump\nserver.name = {pick(WORDS)}\nssl.key = |\n{k}")
        else:
            add(["dlp.private_key"], "form", form([("name", "deploy"), ("key", k)]))
    # Public material and placeholders.
    for i in range(40):
        kind = i % 10
        if kind == 0:
            v = pem("PUBLIC KEY", 392, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
        elif kind == 1:
            v = pem("CERTIFICATE", 1200, "MIIDdzCCAl+gAwIBAgIE")
        elif kind == 2:
            v = pem("RSA PUBLIC KEY", 360, "MIIBCgKCAQEA")
        elif kind == 3:
            v = pem("CERTIFICATE REQUEST", 900, "MIICvDCCAaQCAQAw")
        elif kind == 4:
            v = pem("PGP PUBLIC KEY BLOCK", 1200, "mQINBGB", headers="\n")
        elif kind == 5:
            v = f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rand(B64, 43)} {pick(FIRST).lower()}@laptop"
        elif kind == 6:
            v = "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"
        elif kind == 7:
            v = "-----BEGIN RSA PRIVATE KEY-----\n<paste your key here>\n-----END RSA PRIVATE KEY-----\n"
        elif kind == 8:
            v = "Paste your key (it starts with -----BEGIN PRIVATE KEY-----) into the field below."
        else:
            v = "-----BEGIN EC PRIVATE KEY-----\nREDACTED\n-----END EC PRIVATE KEY-----\n"
        add([], ["text", "json"][i % 2], v if i % 2 == 0 else js({"pem": v}))


# --- Generic secrets -----------------------------------------------------------

def random_secret():
    kind = R.randint(0, 5)
    if kind == 0:
        return rand(ALNUM, R.randint(20, 40))
    if kind == 1:
        return rand(B64, R.randint(32, 44))
    if kind == 2:
        return rand(HEX, pick([32, 40, 64]))
    if kind == 3:
        return rand(ALNUM + "!@#%^*-_=+", R.randint(16, 28))
    if kind == 4:
        return rand(B64URL, 43)
    return uuid4()  # many APIs issue UUIDs as keys


def gen_generic_secret():
    strong = ["client_secret", "api_key", "apiKey", "secret", "secret_key", "password", "db_password",
              "signing_key", "private_token_secret", "webhook_secret", "app_secret", "API_SECRET", "passphrase",
              "x-api-key", "encryption_key_secret", "credentials"]
    for i in range(90):
        v = random_secret()
        kind = i % 9
        if kind <= 2:
            add(["dlp.generic_secret"], "json", js(with_filler(pick(strong[:-1]), v)))
        elif kind == 3:
            add(["dlp.generic_secret"], "json", js({"database": {"host": "db.internal", "user": "app",
                                                                 "password": v}}))
        elif kind == 4:
            add(["dlp.generic_secret"], "text", pick([f"DB_PASSWORD={v}\n", f"client_secret: {v}\n",
                                                      f"export API_KEY='{v}'", f"<add key=\"ApiSecret\" value=\"{v}\"/>",
                                                      f"secret = \"{v}\""]))
        elif kind == 5:
            add(["dlp.generic_secret"], "form", form([("username", pick(FIRST).lower()), ("password", v)]))
        elif kind == 6:
            add(["dlp.generic_secret"], "form", form([("grant_type", "client_credentials"), ("client_id", "app"),
                                                      ("client_secret", v)]))
        elif kind == 7:
            add(["dlp.generic_secret"], "json", js({"refresh_token": v, "token_type": "bearer"}))
        else:
            add(["dlp.generic_secret"], "header", f"{pick(['X-Client-Secret', 'X-Webhook-Secret'])}: {v}")
    # Not random: people's passwords, words, placeholders, templates.
    values = ["hunter2", "Summer2024!", "P@ssw0rd", "correct-horse-battery-staple", "letmein123", "changeme",
              "${DB_PASSWORD}", "<your-api-key>", "********", "xxxxxxxxxxxxxxxx", "REDACTED", "your_api_key_here",
              "{{ secret }}", "null", "%(password)s", "SuperSecretPassword", "ABCDEFGHIJKLMNOP", "1234567890123456",
              "aaaaaaaaaaaaaaaaaaaa", "abcdefghijklmnopqrstuvwxyz012345", "secret", "password123", "admin",
              "Please-Change-Me-2024", "<redacted>", "$(cat /run/secrets/db)", "/run/secrets/api_key",
              "https://vault.internal/v1/secret/data/app", "true", "********************", "__SECRET__"]
    for i, v in enumerate(values):
        key = pick(["password", "api_key", "client_secret", "secret"])
        add([], "json", js({key: v}))
        add([], "text", f"{key.upper()}={v}\n")
    # Random values under names that say what they are: digests, ids, nonces.
    for _ in range(40):
        key = pick(["sha256", "checksum", "etag", "csrf_token", "request_id", "trace_id", "nonce", "uuid",
                    "commit_hash", "content_digest", "fingerprint", "session_uuid", "description", "title",
                    "image_hash", "xsrf"])
        add([], "json", js({key: random_secret()}))
    for _ in range(10):  # no name at all
        add([], "text", f"the value {random_secret()} appears in this sentence")
    for _ in range(10):  # keys sent where keys are sent by design, by the client that owns them
        add([], "header", f"{pick(['X-Api-Key', 'Api-Key', 'X-Auth-Token'])}: {rand(ALNUM, 32)}")
    for _ in range(6):
        add([], "header", f"Authorization: Basic {base64.b64encode(f'{pick(FIRST)}:{rand(ALNUM, 16)}'.encode()).decode()}")


# --- Bulk card numbers ---------------------------------------------------------

def gen_bulk():
    for i in range(40):
        cards = sorted({real_card(pick(["visa", "mastercard", "amex", "discover"])) for _ in range(R.randint(5, 20))})
        kind = i % 3
        if kind == 0:
            add(["dlp.bulk_card_numbers", "dlp.credit_card"], "json",
                js({"cards": [{"holder": name(), "card_number": c, "exp": "12/28"} for c in cards]}))
        elif kind == 1:
            add(["dlp.bulk_card_numbers", "dlp.credit_card"], "text",
                "name,pan,exp\n" + "".join(f"{name()},{c},0{R.randint(1, 9)}/2{R.randint(5, 9)}\n" for c in cards))
        else:
            add(["dlp.bulk_card_numbers", "dlp.credit_card"], "json",
                js([{"id": small_id(), "payment": {"card": printed(c, "space")}} for c in cards]))
    for i in range(20):
        kind = i % 4
        if kind == 0:  # below the threshold
            add(["dlp.credit_card"], "json", js({"cards": [{"card_number": real_card()} for _ in range(R.randint(2, 4))]}))
        elif kind == 1:  # one card repeated
            c = real_card()
            add(["dlp.credit_card"], "json", js({"cards": [{"card_number": c} for _ in range(6)]}))
        elif kind == 2:  # identifiers that validate: named as identifiers
            add([], "json", js({"orders": [{"order_id": real_card(), "total": price()} for _ in range(8)]}))
        else:  # a table of random ids in which a few happen to validate
            parcels = [{"tracking_number": "4" + rand(DIGITS, 15), "weight": price()} for _ in range(60)]
            add([], "json", js({"parcels": parcels}))


# --- Benign traffic ------------------------------------------------------------

def gen_benign():
    for i in range(150):
        kind = i % 10
        if kind == 0:
            add([], "json", js({"products": [{"sku": f"SKU-{rand(DIGITS, 8)}", "title": f"{pick(WORDS).title()} "
                                              f"{R.randint(1, 500)}", "price": price(), "stock": R.randint(0, 900)}
                                             for _ in range(R.randint(2, 6))]}))
        elif kind == 1:
            add([], "text", f"<html><head><title>{pick(WORDS).title()}</title></head><body><p>Welcome back, "
                            f"{pick(FIRST)}. Your {pick(WORDS)} from {iso_time()[:10]} is {pick(['ready', 'late'])}."
                            f"</p></body></html>")
        elif kind == 2:
            add([], "json", js({"data": [filler_fields(5) for _ in range(3)], "page": R.randint(1, 20)}))
        elif kind == 3:
            add([], "text", f"{iso_time()} INFO [{pick(WORDS)}-svc] request_id={uuid4()} status=200 "
                            f"latency_ms={R.randint(1, 900)} bytes={R.randint(100, 99999)}")
        elif kind == 4:
            add([], "form", form([("q", f"{pick(WORDS)} {pick(CITIES)}"), ("page", str(R.randint(1, 9))),
                                  ("sort", "price")]))
        elif kind == 5:
            add([], "header", pick([f"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
                                    f"Gecko) Chrome/122.0.{R.randint(1000, 9999)}.{R.randint(10, 300)} Safari/537.36",
                                    f"X-Request-Id: {uuid4()}", f"If-None-Match: \"{rand(HEX, 32)}\"",
                                    f"X-Forwarded-For: 10.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}",
                                    f"X-Amzn-Trace-Id: Root=1-{rand(HEX, 8)}-{rand(HEX, 24)}",
                                    "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
                                    f"Date: Tue, {R.randint(10, 28)} Mar 2024 10:{R.randint(10, 59)}:00 GMT"]))
        elif kind == 6:
            add([], "json", js({"metrics": {"cpu": round(R.random(), 4), "mem_bytes": R.randint(10**8, 10**10),
                                            "uptime_s": R.randint(1, 10**7), "version": f"2.{R.randint(0, 30)}.1"}}))
        elif kind == 7:
            add([], "text", f"Dear {pick(FIRST)},\nthank you for your {pick(WORDS)}. Our team in {pick(CITIES)} will "
                            f"reply within {R.randint(1, 5)} business days.\nKind regards")
        elif kind == 8:
            add([], "json", js({"token_type": "Bearer", "expires_in": 3600, "scope": "read write",
                                "password_policy": {"min_length": 12, "require_symbol": True}}))
        else:
            add([], "form", form([("username", pick(FIRST).lower()), ("remember", "on"), ("csrf_token", rand(ALNUM, 32))]))


def escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main():
    gen_cards()
    gen_ssn()
    gen_iban()
    gen_email()
    gen_phone()
    gen_aws()
    gen_gcp()
    gen_github()
    gen_slack()
    gen_stripe()
    gen_jwt()
    gen_private_key()
    gen_generic_secret()
    gen_bulk()
    gen_benign()
    out = sys.stdout
    out.write("# Labelled DLP corpus, generated by make_labelled.py (seed %d); do not edit by hand.\n" % SEED)
    out.write("# labels<TAB>context<TAB>text (backslash-escaped)\n")
    for labels, context, text in rows:
        out.write(f"{labels}\t{context}\t{escape(text)}\n")


if __name__ == "__main__":
    main()
