"""A deterministic corpus of >= 500 strings for tokenizer parity: every script of the fixture
texts, ZWJ emoji, combining marks, RTL and bidi controls, control characters, odd whitespace and
very long words."""
import random

from texts_source import TEXTS

EMOJI = ["👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇫🇷", "1️⃣", "🧑‍💻", "❤️‍🔥", "🐈‍⬛", "😀", "🍕"]
COMBINING = ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "Z\u0351\u0352\u0353\u0354", "\u0915\u094d\u0937", "\u1100\u1161\u11a8"]
CONTROLS = ["\u0000", "\u0007", "\u001b", "\u0085", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff", "\u00ad"]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u202f"]
RTL = ["مرحبا", "שלום", "سلام عليكم", "עברית 123 English", "العربية (123) ٤٥٦"]


def corpus():
    rng = random.Random(1234)
    words = sorted({w for t in TEXTS for w in t.split()})
    out = list(TEXTS)
    out += words
    out += [w.upper() for w in words[:80]] + [w.capitalize() for w in words[80:160]]
    for i in range(120):
        picked = rng.sample(words, 3)
        out.append(rng.choice(SPACES).join(picked) + rng.choice(EMOJI + [""]))
    for i in range(60):
        base = rng.choice(words)
        pos = rng.randrange(len(base) + 1)
        out.append(base[:pos] + rng.choice(CONTROLS + COMBINING) + base[pos:])
    out += [e * n for e in EMOJI for n in (1, 3)]
    out += [c * 5 for c in COMBINING]
    out += RTL + [f"{r} {w}" for r in RTL for w in ("test", "123", "😀")]
    out += ["a" * n for n in (50, 99, 100, 101, 300)] + ["supercalifragilistic" * k for k in (2, 5, 10)]
    out += ["x" + "\u0301" * 40, "http://example.com/" + "path/" * 30, "1234567890" * 12]
    out += ["", " ", "\t\n", "\u3000\u3000"]
    seen = set()
    return [s for s in out if not (s in seen or seen.add(s))]


if __name__ == "__main__":
    print(len(corpus()))
