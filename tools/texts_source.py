"""The committed list of test texts (tests/fixtures/texts.json) is written from here, so the long
and odd ones are reproducible. Run: python tools/texts_source.py"""
import json
import pathlib

PARAGRAPH = (
    "The Sun is the star at the centre of the Solar System. It is a massive, nearly perfect sphere "
    "of hot plasma, heated to incandescence by nuclear fusion reactions in its core, radiating the "
    "energy from its surface mainly as visible light and infrared radiation with ten percent at "
    "ultraviolet energies. It is by far the most important source of energy for life on Earth. "
)

TEXTS = [
    # English, short and plain
    "The quick brown fox jumps over the lazy dog.",
    "How big is the sun?",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "Semantic search finds documents by meaning rather than by keywords.",
    "WebAssembly runs near-native code inside the browser sandbox.",
    # e5-style query/passage pairs (prompts given as plain text here)
    "query: how much protein should a female eat",
    "passage: As a general guideline, the CDC's average requirement of protein for women ages 19 to 70 is 46 grams per day.",
    "query: summit define",
    "passage: Definition of summit for English Language Learners: the highest point of a mountain.",
    # Latin with accents
    "Le cœur déçu mais l'âme plutôt naïve, Louÿs rêva de crapaüter en canoë au delà des îles.",
    "Él pidió un café y una tostada en la cafetería de la esquina.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
    "Ação, coração e informação são palavras com acentuação.",
    "Zażółć gęślą jaźń.",
    # Cyrillic
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Москва — столица России.",
    # CJK
    "我爱自然语言处理。",
    "東京は日本の首都です。",
    "今日はいい天気ですね、散歩に行きましょう。",
    # Korean
    "안녕하세요, 만나서 반갑습니다.",
    "서울은 대한민국의 수도입니다.",
    # Arabic (RTL)
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "القاهرة هي عاصمة مصر.",
    # Greek, Hebrew, Devanagari, Thai
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "שלום עולם, מה שלומך?",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "สวัสดีชาวโลก",
    # emoji, ZWJ sequences, flags, skin tones, combining marks
    "I love pizza 🍕 and sushi 🍣!",
    "Family: 👨‍👩‍👧‍👦, rainbow flag: 🏳️‍🌈, thumbs up: 👍🏽",
    "Flags 🇫🇷🇯🇵 and keycap 1️⃣",
    "Combining marks: e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353",
    "zero\u200bwidth\u200djoiner and non\u200cjoiner",
    # degenerate inputs
    "",
    "   ",
    "\t\n\r  \u3000",
    "control\u0000chars\u0007here\u001b[31m and \u0085 next",
    "\u001c\u001dseparators\u001e\u001f",
    # mixed, code, numbers, URLs
    "Call +1 (555) 010-9999 or visit https://example.com/path?q=1&r=2#frag",
    "fn main() { println!(\"hello, world\"); }",
    "3.14159 2.71828 1.41421 6.02214076e23",
    "ALL CAPS SHOUTING AND MiXeD CaSe",
    "supercalifragilisticexpialidocious" * 4,
    # long texts: about 250 and about 600 tokens (truncated at max_seq_length 256)
    (PARAGRAPH * 3 + "Its diameter is about 109 times that of Earth, and its mass is about 330,000 times "
     "that of Earth.").strip(),
    (PARAGRAPH * 8).strip(),
]

if __name__ == "__main__":
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "texts.json"
    out.write_text(json.dumps(TEXTS, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(TEXTS)} texts to {out}")
