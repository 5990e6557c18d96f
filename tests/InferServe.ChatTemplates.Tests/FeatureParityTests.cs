using System.Text.Json.Nodes;

namespace InferServe.ChatTemplates.Tests;

/// <summary>
/// Small templates, one language feature each, rendered by both implementations.
/// Complements the real-template parity tests with features those templates do not reach.
/// </summary>
public sealed class FeatureParityTests
{
    private static readonly Dictionary<string, string> Snippets = new()
    {
        ["loop_vars"] = "{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }};{% endfor %}",
        ["for_if_else"] = "{% for x in [1,2,3,4] if x is even %}{{ x }}{% else %}none{% endfor %}|{% for x in [] %}{{ x }}{% else %}empty{% endfor %}",
        ["for_dict_and_items"] = "{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}|{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}|{% for k, v in {'x': [1]} | items %}{{ k }}{{ v }}{% endfor %}",
        ["break_continue"] = "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}",
        ["slicing"] = "{{ [1,2,3,4,5][1:3] }}{{ [1,2,3,4,5][::-1] }}{{ [1,2,3,4,5][-2:] }}{{ 'hello'[1:-1] }}{{ 'hello'[::-1] }}{{ [1,2,3,4,5][::2] }}{{ messages[1:] | length }}",
        ["namespace"] = "{% set ns = namespace(count=0, found=false) %}{% for m in messages %}{% set ns.count = ns.count + 1 %}{% if m.role == 'user' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}",
        ["set_scoping"] = "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set y = 3 %}{% endif %}{{ y }}",
        ["set_block_and_tuple"] = "{% set a, b = 1, 'two' %}{{ a }}{{ b }}{% set block %}  inner {{ a }}  {% endset %}[{{ block }}]",
        ["string_filters"] = "{{ 'hello world-foo' | title }}|{{ 'hELLO' | capitalize }}|{{ 'Abc' | upper }}{{ 'Abc' | lower }}|{{ '  pad  ' | trim }}|{{ 'a-b-c' | replace('-', '+') }}|{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'abc' | length }}",
        ["string_methods"] = "{{ ' x '.strip() }}|{{ ' x '.lstrip() }}|{{ ' x '.rstrip() }}|{{ 'abc'.startswith('a') }}{{ 'abc'.endswith(('x','c')) }}|{{ 'a,b,,c'.split(',') }}|{{ '  a  b c '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'hi'.upper() }}{{ 'Hi'.lower() }}{{ 'hi there'.title() }}",
        ["list_filters"] = "{{ [3,1,2] | sort }}{{ [3,1,2] | sort(reverse=true) }}{{ ['b','A','c'] | sort }}{{ [1,2,2,3,1] | unique }}{{ [1,2,3] | reverse }}{{ [1,2,3] | first }}{{ [1,2,3] | last }}{{ [1,2,3] | join('-') }}{{ ['a', none, 1, 2.5, true] | join }}{{ [1,2] | list }}{{ [1,2] | length }}",
        ["attr_filters"] = "{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }}{{ messages | rejectattr('role', 'equalto', 'user') | list | length }}{{ messages | map(attribute='missing', default='d') | join(',') }}{{ messages | selectattr('content') | list | length }}",
        ["tojson"] = "{{ {'a': 1, 'b': [true, none, 1.5, 'x\"y'], 'c': {}} | tojson }}|{{ [] | tojson(indent=2) }}|{{ {'k': [1, {'n': 'é'}]} | tojson(indent=2) }}|{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ 'é中' | tojson(ensure_ascii=true) }}|{{ undefined_var | tojson }}|{{ 'a\\tb\\u0001' | tojson }}",
        ["default_filter"] = "{{ missing | default('fallback') }}|{{ '' | default('x') }}|{{ '' | default('x', true) }}|{{ none | default('n') }}",
        ["conversions"] = "{{ '42' | int }}{{ '4.5' | float }}{{ 3.7 | int }}{{ 'x' | int }}{{ 5 | float }}{{ 5 | string }}{{ 2.0 | string }}{{ true | string }}{{ [1,'a'] | string }}{{ -3 | abs }}",
        ["tests"] = "{{ x is defined }}{{ missing is defined }}{{ missing is undefined }}{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ 1.5 is number }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is iterable }}{{ {} is iterable }}{{ [] is sequence }}{{ true is true }}{{ false is false }}{{ 1 is true }}{{ 3 is odd }}{{ 4 is even }}{{ x is not none }}{{ 'ab' is lower }}{{ none is boolean }}",
        ["operators"] = "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 1 + 2.5 }} {{ 'a' ~ 1 ~ 2.0 ~ true }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 2 * 3 }} {{ 1 < 2 }} {{ 2 >= 3 }} {{ -x }} {{ +x }}",
        ["membership_equality"] = "{{ 'a' in 'cat' }}{{ 'z' not in 'cat' }}{{ 1 in [1,2] }}{{ 'k' in {'k': 1} }}{{ 'k' not in {'k': 1} }}{{ 1 == 1.0 }}{{ none == missing }}{{ 'a' != 'b' }}{{ 1 == true }}{{ 'x' in missing }}{{ 'x' not in missing }}",
        ["logic_ternary"] = "{{ 'yes' if x else 'no' }}{{ 'yes' if missing else 'no' }}{{ x and 'and' }}{{ missing or 'or' }}{{ not missing }}{{ not not x }}{{ (1 if false) is defined }}{{ 0 or '' or 'last' }}",
        ["dict_methods"] = "{% set d = {'a': 1, 'b': none} %}{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 'dflt') }}{{ d.keys() | list }}{{ d.values() | list }}{{ d | length }}{{ d['a'] }}{{ d.a }}{{ d.zz }}",
        ["macro"] = "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(name='Cy', punct='.') }}",
        ["whitespace_control"] = "a  {{- ' b ' -}}  c\n  {%- if true -%}\n  d  \n{%- endif %}\n  {# comment #}\ne {#- trimmed -#} f\n    {% if true %}\n    g\n    {% endif %}\nh\n",
        ["literals_escapes"] = "{{ \"dq \\\"x\\\" \\\\ \\u00e9 \\x41\" }}|{{ 'sq \\'x\\'' }}|{{ 1.50 }}|{{ 0.1 + 0.2 }}|{{ True }}{{ False }}{{ None }}|{{ 'ab' 'cd' }}|{{ {'k': {'n': 1}}['k']['n'] }}",
        ["undefined_rendering"] = "[{{ missing }}][{{ missing.attr }}][{{ missing['k'] }}][{{ none }}][{{ messages[99] }}][{{ x.nope }}]",
        ["raise_exception"] = "before{{ raise_exception('Bad: ' ~ messages | length) }}",
        ["range"] = "{{ range(3) | list }}{{ range(1, 4) | list }}{{ range(10, 0, -3) | list }}{% for i in range(2) %}{{ i }}{% endfor %}",
    };

    private static readonly Lazy<IReadOnlyDictionary<string, ReferenceRenderer.Result>> Reference = new(() =>
        ReferenceRenderer.RenderAll(Snippets.Select(s => new ReferenceRenderer.Case(s.Key, s.Value, Context()))));

    private static JsonObject Context() => new()
    {
        ["messages"] = new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = "u1" },
            new JsonObject { ["role"] = "assistant", ["content"] = "a1" },
            new JsonObject { ["role"] = "user", ["content"] = "" }),
        ["x"] = 5,
        ["add_generation_prompt"] = false,
    };

    public static TheoryData<string> Names => new(Snippets.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Snippet_matches_reference(string name)
    {
        ReferenceRenderer.RequireAvailable();
        var expected = Reference.Value[name];
        var template = ChatTemplate.Parse(Snippets[name]);
        ChatMessage[] messages = [new("user", "u1"), new("assistant", "a1"), new("user", "")];
        string Render() => template.Render(messages, false, null, null, new Dictionary<string, object?> { ["x"] = 5 });
        if (expected.Error is not null)
        {
            Assert.Equal(expected.Error, Assert.Throws<ChatTemplateException>(Render).Message);
            return;
        }
        Assert.Equal(expected.Output, Render());
    }
}
