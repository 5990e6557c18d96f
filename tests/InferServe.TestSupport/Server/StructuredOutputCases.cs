namespace InferServe.TestSupport.Server;

/// <summary>The schemas, regexes and grammars the structured-output tests run, with what each exercises.</summary>
public static class StructuredOutputCases
{
    public static readonly string[] Schemas =
    [
        // flat object, required, additionalProperties false
        """{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""",
        // enum
        """{"type":"object","properties":{"color":{"enum":["red","green","blue"]}},"required":["color"]}""",
        // const and numbers
        """{"type":"object","properties":{"kind":{"const":"point"},"x":{"type":"number"},"y":{"type":"number"}},"required":["kind","x","y"]}""",
        // array bounds
        """{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":4}""",
        // nested object with a bounded array inside
        """{"type":"object","properties":{"user":{"type":"object","properties":{"id":{"type":"integer","minimum":1},"tags":{"type":"array","items":{"type":"string","maxLength":6},"maxItems":3}},"required":["id","tags"]}},"required":["user"]}""",
        // $ref into $defs, used twice
        """{"$defs":{"point":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer"}},"required":["x","y"]}},"type":"object","properties":{"a":{"$ref":"#/$defs/point"},"b":{"$ref":"#/$defs/point"}},"required":["a","b"]}""",
        // anyOf
        """{"anyOf":[{"type":"integer"},{"type":"string","maxLength":5},{"type":"null"}]}""",
        // several types
        """{"type":["boolean","null"]}""",
        // optional properties (any subset, in order)
        """{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"integer"},"c":{"type":"string","maxLength":4}},"required":["b"]}""",
        // additionalProperties with a schema
        """{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"],"additionalProperties":{"type":"boolean"}}""",
        // string pattern
        """{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{2,4}$"}},"required":["code"]}""",
        // format: date
        """{"type":"string","format":"date"}""",
        // format: uuid
        """{"type":"object","properties":{"id":{"type":"string","format":"uuid"}},"required":["id"]}""",
        // recursive $ref (a chain of nodes)
        """{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":1}},"required":["v","kids"]}},"$ref":"#/$defs/node"}""",
        // minLength and maxLength
        """{"type":"string","minLength":3,"maxLength":8}""",
        // minimum 0
        """{"type":"object","properties":{"price":{"type":"number","minimum":0},"qty":{"type":"integer","minimum":0}},"required":["price","qty"]}""",
        // array of objects with enums of numbers
        """{"type":"array","items":{"type":"object","properties":{"k":{"enum":[1,2,3]},"on":{"type":"boolean"}},"required":["k","on"]},"minItems":1,"maxItems":3}""",
        // the empty object
        """{"type":"object","properties":{},"additionalProperties":false}""",
        // enum of mixed JSON values
        """{"enum":["a",1,true,null,{"x":[1,2]}]}""",
        // allOf with one schema around oneOf
        """{"allOf":[{"oneOf":[{"type":"object","properties":{"cat":{"const":"meow"}},"required":["cat"]},{"type":"object","properties":{"dog":{"const":"woof"}},"required":["dog"]}]}]}""",
        // non-ASCII enum (multi-byte UTF-8 through the token byte strings)
        """{"type":"object","properties":{"greeting":{"enum":["héllo","こんにちは","привет"]}},"required":["greeting"]}""",
        // formats: ipv4 and email
        """{"type":"object","properties":{"ip":{"type":"string","format":"ipv4"},"mail":{"type":"string","format":"email"}},"required":["ip","mail"]}""",
        // format: date-time
        """{"type":"string","format":"date-time"}""",
        // nested arrays
        """{"type":"array","items":{"type":"array","items":{"type":"boolean"},"maxItems":3},"maxItems":3}""",
        // definitions (draft-07 spelling) and a $ref'd enum
        """{"definitions":{"size":{"enum":["S","M","L"]}},"type":"object","properties":{"size":{"$ref":"#/definitions/size"},"count":{"type":"integer","minimum":0}},"required":["size","count"],"additionalProperties":false}""",
    ];

    /// <summary>Schemas with numeric bounds (minimum, maximum, exclusive bounds, multipleOf), integer and number.</summary>
    public static readonly string[] NumericSchemas =
    [
        """{"type":"integer","minimum":0,"maximum":120}""",
        """{"type":"integer","minimum":-50,"maximum":50}""",
        """{"type":"integer","exclusiveMinimum":-10,"exclusiveMaximum":10}""",
        """{"type":"integer","minimum":-1000,"maximum":-100}""",
        """{"type":"integer","maximum":-5}""",
        """{"type":"integer","minimum":1000}""",
        """{"type":"integer","minimum":17,"maximum":17}""",
        """{"type":"integer","minimum":0,"maximum":100,"multipleOf":5}""",
        """{"type":"integer","minimum":-90,"maximum":90,"multipleOf":15}""",
        // more multiples than are written out: the divisibility automaton
        """{"type":"integer","multipleOf":7}""",
        """{"type":"integer","minimum":0,"multipleOf":25}""",
        // fractional bounds on an integer: 3..9
        """{"type":"integer","exclusiveMinimum":2.5,"maximum":9.7}""",
        // the digit count changes inside the range
        """{"type":"integer","minimum":99,"maximum":1001}""",
        """{"type":"number","minimum":0,"maximum":1}""",
        """{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}""",
        """{"type":"number","minimum":-1.5,"maximum":2.25}""",
        """{"type":"number","minimum":-273.15}""",
        """{"type":"number","exclusiveMaximum":-0.001}""",
        """{"type":"number","minimum":3.14159,"maximum":3.1416}""",
        """{"type":"number","exclusiveMinimum":-100,"maximum":-99.5}""",
        """{"type":"number","minimum":10,"exclusiveMaximum":10.5}""",
        // a whole-number multipleOf makes a number an integer
        """{"type":"number","minimum":-10,"maximum":10,"multipleOf":3}""",
        // both spellings of a bound: the tighter one holds
        """{"type":"number","minimum":-2,"exclusiveMinimum":-1,"maximum":1}""",
        """{"type":"object","properties":{"age":{"type":"integer","minimum":0,"maximum":120},"score":{"type":"number","minimum":0,"maximum":100}},"required":["age","score"],"additionalProperties":false}""",
        """{"type":"array","items":{"type":"number","exclusiveMinimum":-1,"exclusiveMaximum":1},"minItems":1,"maxItems":4}""",
        """{"type":"object","properties":{"lat":{"type":"number","minimum":-90,"maximum":90},"lon":{"type":"number","minimum":-180,"maximum":180}},"required":["lat","lon"]}""",
        """{"anyOf":[{"type":"integer","minimum":-5,"maximum":-1},{"type":"number","minimum":100,"maximum":100.5},{"type":"null"}]}""",
        """{"type":["integer","null"],"minimum":1,"maximum":12}""",
    ];

    /// <summary>A regex and an equivalent .NET pattern to check outputs with (the same text here).</summary>
    public static readonly string[] Regexes =
    [
        @"[0-9]{3}-[0-9]{4}",
        @"(cat|dog|bird)s?",
        @"\d{4}-\d{2}-\d{2}",
        @"[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8}){0,2}",
        @"(yes|no)",
        @"[a-f0-9]{8}",
        @"-?\d{1,3}(\.\d{1,2})?",
        @"[αβγδ]{2,4}",
        @"(ab){1,6}c{1,2}",
        @"\w{1,5}@\w{1,5}\.(com|org)",
    ];

    /// <summary>A GBNF grammar and a .NET regex for the same language.</summary>
    public static readonly (string Grammar, string Regex)[] Grammars =
    [
        ("root ::= expr\nexpr ::= term ((\"+\" | \"-\") term){0,3}\nterm ::= [0-9]{1,3}", @"[0-9]{1,3}([+-][0-9]{1,3}){0,3}"),
        ("root ::= \"[\" item (\",\" item){0,4} \"]\"\nitem ::= [a-z]{1,6}", @"\[[a-z]{1,6}(,[a-z]{1,6}){0,4}\]"),
        ("# an answer\nroot ::= \"answer: \" (\"yes\" | \"no\" | \"maybe\")", @"answer: (yes|no|maybe)"),
        ("root ::= greeting \" \" name\ngreeting ::= \"hello\"\n  | \"hi\"\nname ::= [A-Z] [a-z]{2,5}", @"(hello|hi) [A-Z][a-z]{2,5}"),
        ("root ::= \"(\" pair (\";\" pair)? \")\"\npair ::= key \"=\" [0-9]{1,4}\nkey ::= \"x\" | \"y\"", @"\((x|y)=[0-9]{1,4}(;(x|y)=[0-9]{1,4})?\)"),
    ];
}
