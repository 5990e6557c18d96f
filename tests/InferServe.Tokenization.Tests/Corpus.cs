namespace InferServe.Tokenization.Tests;

/// <summary>Texts every tokenizer must agree on with the reference: each line targets a tokenizer edge.</summary>
internal static class Corpus
{
    public static readonly string[] Texts =
    [
        "Once upon a time, Tom had a dog",
        "",
        "Hello world! How's it going? I'm fine, they'll see. We've DONE IT'S HE'D",
        "don't won't it's 'quoted' '' rock'n'roll",
        "def fib(n):\n    if n < 2:\n        return n\n    return fib(n-1) + fib(n-2)\n\nprint(fib(30))  # 832040\n",
        "public static int[] Encode(string text) => text.Select(c => (int)c).ToArray();\n\t\t// tabs\r\n}",
        "Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 ❤️‍🔥 🏳️‍🌈 flags 🇺🇸🇯🇵🇩🇪",
        "你好，世界！今天天气很好。日本語のテキストも。한국어 문장입니다.",
        "مرحبا بالعالم! Café naïve résumé façade Ångström São Paulo",
        "Cafe\u0301 e\u0301le\u0300ve (decomposed accents)",
        "Ελληνικά Русский текст עברית हिन्दी ไทย",
        "𝐀𝐁𝐂 math 𝟙𝟚𝟛 and 𠀀𠀁 ext-B",
        "  leading and trailing  ",
        "a\t\tb\n\n\nc   d\r\n e",
        "\n\n",
        "    ",
        "\t",
        "1234567890123456789 3.14159 1,000,000 2024-01-01 00:00",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
        "<s>[INST] hi [/INST] hello</s><s> again",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n",
        "text<|eot_id|>",
        "already ▁ metaspace ▁▁x",
        "control \u0001\u0002 chars \u007f",
        "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!!! ... ??? --- ***",
        string.Concat(Enumerable.Repeat("In a hole in the ground there lived a hobbit, 42 times; naïve café 日本. ", 30)),
    ];
}
