//! Unit tests for JSONPath parsing, selection and ResultPath setting.

use serde_json::{Value, json};

use super::*;
use crate::asl::error::{ErrorName, StatesError};

fn select(path: &str, root: &Value) -> Option<Value> {
    JsonPath::parse(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .select(root)
        .to_value()
}

fn store() -> Value {
    json!({
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick",
                 "isbn": "0-553-21311-3", "price": 8.99},
                {"category": "fiction", "author": "J. R. R. Tolkien", "title": "LOTR",
                 "isbn": "0-395-19395-8", "price": 22.99}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        },
        "first name": "Ada",
        "data": {"x-y": 3},
        "flag": false,
        "empty": null
    })
}

#[test]
fn definite_paths_select_one_node() {
    let doc = store();
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("$", Some(doc.clone())),
        ("$.store.bicycle.color", Some(json!("red"))),
        ("$.store.book[0].author", Some(json!("Nigel Rees"))),
        ("$.store.book[-1].title", Some(json!("LOTR"))),
        ("$['first name']", Some(json!("Ada"))),
        ("$[\"first name\"]", Some(json!("Ada"))),
        ("$.data['x-y']", Some(json!(3))),
        ("$.data.x-y", Some(json!(3))),
        ("$['store']['bicycle']['price']", Some(json!(19.95))),
        ("$.flag", Some(json!(false))),
        ("$.empty", Some(Value::Null)),
        ("$.missing", None),
        ("$.store.book[4]", None),
        ("$.store.book[-5]", None),
        ("$.store.bicycle[0]", None),
        ("$.store.book.title", None),
        ("$.flag.x", None),
    ];
    for (path, expected) in cases {
        let compiled = JsonPath::parse(path).unwrap();
        assert!(compiled.is_definite(), "{path}");
        assert!(compiled.is_reference_path(), "{path}");
        assert_eq!(select(path, &doc), expected, "{path}");
    }
}

#[test]
fn definite_selection_borrows() {
    let doc = store();
    let path = JsonPath::parse("$.store.bicycle").unwrap();
    match path.select(&doc) {
        Selected::One(node) => assert!(std::ptr::eq(node, &doc["store"]["bicycle"])),
        other => panic!("expected One, got {other:?}"),
    }
    assert_eq!(
        JsonPath::parse("$.nope").unwrap().select(&doc),
        Selected::Nothing
    );
}

#[test]
fn indefinite_paths_select_arrays() {
    let doc = store();
    let cases: Vec<(&str, Value)> = vec![
        (
            "$.store.book[*].author",
            json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ]),
        ),
        ("$.store.book[1:3].title", json!(["Sword", "Moby Dick"])),
        ("$.store.book[-1:].title", json!(["LOTR"])),
        ("$.store.book[:2].title", json!(["Sayings", "Sword"])),
        ("$.store.book[::2].title", json!(["Sayings", "Moby Dick"])),
        (
            "$.store.book[::-1].price",
            json!([22.99, 8.99, 12.99, 8.95]),
        ),
        ("$.store.book[5:9]", json!([])),
        ("$.store.book[0,2].title", json!(["Sayings", "Moby Dick"])),
        (
            "$.store.book[0, 9, 2].title",
            json!(["Sayings", "Moby Dick"]),
        ),
        ("$.store.bicycle['color','price']", json!(["red", 19.95])),
        ("$.store.bicycle.*", json!(["red", 19.95])),
        ("$.store.bicycle[*]", json!(["red", 19.95])),
        (
            "$.store.book[?(@.price > 10)].title",
            json!(["Sword", "LOTR"]),
        ),
        ("$.store.book[?(@.price >= 22.99)].title", json!(["LOTR"])),
        (
            "$.store.book[?(@.price < 9)].title",
            json!(["Sayings", "Moby Dick"]),
        ),
        ("$.store.book[?(@.price <= 8.95)].title", json!(["Sayings"])),
        (
            "$.store.book[?(@.isbn)].title",
            json!(["Moby Dick", "LOTR"]),
        ),
        (
            "$.store.book[?(!@.isbn)].title",
            json!(["Sayings", "Sword"]),
        ),
        (
            "$.store.book[?(@.category == 'fiction' && @.price < 20)].title",
            json!(["Sword", "Moby Dick"]),
        ),
        (
            "$.store.book[?(@.category == \"reference\" || @.price > 20)].title",
            json!(["Sayings", "LOTR"]),
        ),
        (
            "$.store.book[?((@.price > 20 || @.price < 9) && @.isbn)].title",
            json!(["Moby Dick", "LOTR"]),
        ),
        (
            "$.store.book[?(@.category != 'fiction')].title",
            json!(["Sayings"]),
        ),
        (
            "$.store.book[?(@.isbn != '0-553-21311-3')].title",
            json!(["Sayings", "Sword", "LOTR"]),
        ),
        (
            "$.store.book[?(@.price == 8.950)].title",
            json!(["Sayings"]),
        ),
        ("$.store.book[?(@.author > 'M')].title", json!(["Sayings"])),
        (
            "$.store.book[?(@.price > $.store.bicycle.price)].title",
            json!(["LOTR"]),
        ),
        (
            "$.store.book[?(@['category'] == 'reference')].price",
            json!([8.95]),
        ),
        (
            "$..author",
            json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ]),
        ),
        ("$..price", json!([8.95, 12.99, 8.99, 22.99, 19.95])),
        ("$..book[2].title", json!(["Moby Dick"])),
        ("$..['color']", json!(["red"])),
        ("$.store..nothing", json!([])),
        ("$.missing[*]", json!([])),
        ("$.store.bicycle[?(@.color == 'red')].price", json!([19.95])),
    ];
    for (path, expected) in cases {
        let compiled = JsonPath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(!compiled.is_definite(), "{path}");
        assert!(!compiled.is_reference_path(), "{path}");
        assert_eq!(select(path, &doc), Some(expected), "{path}");
    }
}

#[test]
fn filters_on_scalar_arrays_and_types() {
    let doc = json!({"xs": [1, "1", 2.0, true, null, {"ok": true}, {"ok": false}]});
    assert_eq!(select("$.xs[?(@ == 1)]", &doc), Some(json!([1])));
    assert_eq!(select("$.xs[?(@ == 2)]", &doc), Some(json!([2.0])));
    assert_eq!(select("$.xs[?(@ == '1')]", &doc), Some(json!(["1"])));
    assert_eq!(select("$.xs[?(@ == true)]", &doc), Some(json!([true])));
    assert_eq!(select("$.xs[?(@ == null)]", &doc), Some(json!([null])));
    assert_eq!(
        select("$.xs[?(@.ok == true)]", &doc),
        Some(json!([{"ok": true}]))
    );
    assert_eq!(select("$.xs[?(@ > 0)]", &doc), Some(json!([1, 2.0])));
    assert_eq!(select("$.xs[?(@ > -1.5e1)]", &doc), Some(json!([1, 2.0])));
}

#[test]
fn roots_are_recognised() {
    let cases = [
        ("$", PathRoot::Input),
        ("$.a", PathRoot::Input),
        ("$[0]", PathRoot::Input),
        ("$$", PathRoot::Context),
        ("$$.Execution.Id", PathRoot::Context),
        ("$$.Map.Item.Value.name", PathRoot::Context),
        ("$var", PathRoot::Variable("var".into())),
        ("$var.x[0]", PathRoot::Variable("var".into())),
        ("$_under_1", PathRoot::Variable("_under_1".into())),
        ("$count", PathRoot::Variable("count".into())),
    ];
    for (path, root) in cases {
        assert_eq!(JsonPath::parse(path).unwrap().root(), &root, "{path}");
    }
    let ctx = json!({"Execution": {"Id": "arn:x"}});
    assert_eq!(select("$$.Execution.Id", &ctx), Some(json!("arn:x")));
    let var = json!({"x": [5]});
    assert_eq!(select("$var.x[0]", &var), Some(json!(5)));
    assert_eq!(JsonPath::parse("$.a.b").unwrap().as_str(), "$.a.b");
}

#[test]
fn malformed_paths_are_rejected_with_positions() {
    let cases: &[(&str, usize)] = &[
        ("$.items[0", 9),
        ("$.items[?(@.price > ]", 20),
        ("a.b", 0),
        ("", 0),
        ("$.", 2),
        ("$.a.", 4),
        ("$..", 3),
        ("$a b", 2),
        ("$.a b", 3),
        ("$[", 2),
        ("$[]", 2),
        ("$['a]", 2),
        ("$['a' 'b']", 6),
        ("$[1:2:0]", 6),
        ("$[abc]", 2),
        ("$.a[?(@.x ==)]", 12),
        ("$.a[?(@.x == 1]", 14),
        ("$.a[?@.x]", 5),
        ("$.a)", 3),
        ("$.Jobs.sum()", 10),
        ("$$$", 2),
        ("$[99999999999999999999]", 2),
        ("$['\\q']", 3),
    ];
    for (path, position) in cases {
        match JsonPath::parse(path) {
            Err(PathError::MissingRoot { .. }) => assert_eq!(*position, 0, "{path}"),
            Err(PathError::Syntax { position: at, .. }) => assert_eq!(at, *position, "{path}"),
            other => panic!("{path}: expected an error, got {other:?}"),
        }
    }
    let message = JsonPath::parse("$.items[0").unwrap_err().to_string();
    assert!(
        message.contains("expected ']'") && message.contains("position 9"),
        "{message}"
    );
}

#[test]
fn conformance_paths_parse() {
    let Some(dir) = crate::asl::shared_or_skip("conformance/cases", "conformance cases") else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("conformance cases not found at {}", dir.display());
    };
    let mut checked = 0;
    for entry in entries {
        let case = entry.unwrap().path();
        let text = std::fs::read_to_string(case.join("definition.json")).unwrap();
        let definition: Value = serde_json::from_str(&text).unwrap();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let mut paths = Vec::new();
        collect_paths(&definition, &mut paths);
        for path in paths {
            let parsed = JsonPath::parse(&path);
            let must_fail = name.starts_with("validation-bad-jsonpath");
            if !must_fail {
                assert!(parsed.is_ok(), "{name}: {path}: {parsed:?}");
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} paths found");
    assert!(JsonPath::parse("$.items[0").is_err());
    assert!(JsonPath::parse("$.items[?(@.price > ]").is_err());
    // validation-itemspath-filter-01: valid JSONPath, but not a reference path.
    let filter = JsonPath::parse("$.items[?(@.ok == true)]").unwrap();
    assert!(!filter.is_reference_path());
}

/// Every string under a `*Path` key or a `.$` key that is a path (not an intrinsic).
fn collect_paths(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path_key = key.ends_with(".$")
                    || (key.ends_with("Path") && key != "ResultPath")
                    || key == "Variable";
                if let (true, Value::String(text)) = (path_key, child)
                    && text.starts_with('$')
                {
                    out.push(text.clone());
                }
                collect_paths(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_paths(item, out)),
        _ => {}
    }
}

#[test]
fn reference_paths_parse_and_reject() {
    for ok in ["$", "$.a", "$.a.b[0]", "$['k']", "$.a[-1]", "$[0]"] {
        assert!(ReferencePath::parse(ok).is_ok(), "{ok}");
    }
    let not_reference = [
        ("$.a[*]", 3, "a wildcard (*)"),
        ("$..a", 1, "a descendant segment (..)"),
        ("$.a[1:2]", 3, "a slice (:)"),
        ("$.a[0,1]", 3, "a union (,)"),
        ("$.a[?(@.x)]", 3, "a filter (?)"),
        ("$.a.*", 3, "a wildcard (*)"),
    ];
    for (path, position, found) in not_reference {
        assert_eq!(
            ReferencePath::parse(path),
            Err(PathError::NotReference {
                path: path.into(),
                position,
                found
            }),
            "{path}"
        );
    }
    assert!(matches!(
        ReferencePath::parse("$$.Execution"),
        Err(PathError::ReferenceRoot { .. })
    ));
    assert!(matches!(
        ReferencePath::parse("$var.x"),
        Err(PathError::ReferenceRoot { .. })
    ));
    assert!(matches!(
        ReferencePath::parse("$.a["),
        Err(PathError::Syntax { .. })
    ));
}

fn set(path: &str, target: Value, value: Value) -> Result<Value, StatesError> {
    ReferencePath::parse(path).unwrap().set(target, value)
}

#[test]
fn result_path_set_semantics() {
    assert_eq!(
        set("$", json!({"a": 1}), json!("done")).unwrap(),
        json!("done")
    );
    assert_eq!(
        set("$.r", json!({"a": 5}), json!({"fixed": 1})).unwrap(),
        json!({"a": 5, "r": {"fixed": 1}})
    );
    assert_eq!(
        set(
            "$.order.billing.summary",
            json!({"price": 12.5, "order": {"id": 7}}),
            json!({"total": 12.5})
        )
        .unwrap(),
        json!({"price": 12.5, "order": {"id": 7, "billing": {"summary": {"total": 12.5}}}})
    );
    assert_eq!(
        set("$.a", json!({"a": {"old": true}, "b": 2}), json!(3)).unwrap(),
        json!({"a": 3, "b": 2})
    );
    assert_eq!(
        set("$.xs[1]", json!({"xs": [1, 2, 3]}), json!("two")).unwrap(),
        json!({"xs": [1, "two", 3]})
    );
    assert_eq!(
        set("$.xs[-1].k", json!({"xs": [{}, {"k": 0}]}), json!(9)).unwrap(),
        json!({"xs": [{}, {"k": 9}]})
    );
    assert_eq!(
        set("$['a b'].c", json!({}), json!(1)).unwrap(),
        json!({"a b": {"c": 1}})
    );
    // Key order of existing fields is kept; new fields go last.
    let out = set("$.m", json!({"z": 1, "a": 2}), json!(0)).unwrap();
    assert_eq!(
        out.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["z", "a", "m"]
    );
}

#[test]
fn result_path_match_failures() {
    let failures = [
        ("$.count.detail", json!({"count": 5, "label": "x"})),
        ("$.a.b", json!({"a": "text"})),
        ("$.a.b", json!({"a": null})),
        ("$.a.b", json!({"a": [1, 2]})),
        ("$.a", json!([1, 2])),
        ("$.a", json!("scalar")),
        ("$[0]", json!({"a": 1})),
        ("$.xs[3]", json!({"xs": [1, 2, 3]})),
        ("$.missing[0]", json!({})),
        ("$.new.deeper[0]", json!({})),
    ];
    for (path, target) in failures {
        let error = set(path, target.clone(), json!(1)).unwrap_err();
        assert_eq!(
            error.name,
            ErrorName::ResultPathMatchFailure,
            "{path} on {target}"
        );
        assert!(error.cause.contains(path), "{}", error.cause);
    }
    let error = set("$.count.detail", json!({"count": 5}), json!(1)).unwrap_err();
    assert_eq!(
        error.cause,
        "Unable to apply ResultPath '$.count.detail' to input '{\"count\":5}': the field 'detail' cannot be set there"
    );
}

#[test]
fn truncated_json_cuts_long_values_on_char_boundaries() {
    let long = Value::String("é".repeat(40_000));
    let text = truncated_json(&long);
    assert!(text.len() <= MAX_QUOTED_JSON + 3);
    assert!(text.ends_with("..."));
    assert_eq!(truncated_json(&json!({"a": 1})), "{\"a\":1}");
}

#[test]
fn normalized_form_matches_jayway() {
    let cases = [
        ("$", "$"),
        ("$.foo", "$['foo']"),
        ("$.a.b[0]", "$['a']['b'][0]"),
        ("$['x y'][-1]", "$['x y'][-1]"),
        ("$$.Execution.Id", "$$['Execution']['Id']"),
        ("$v.k", "$v['k']"),
        ("$.a[*].b", "$['a'][*]['b']"),
        ("$['it\\'s']", "$['it\\'s']"),
    ];
    for (path, normalized) in cases {
        assert_eq!(
            JsonPath::parse(path).unwrap().normalized(),
            normalized,
            "{path}"
        );
    }
}

/// A bracket right after a dot (`$.[0]`, `$.[?(...)]`) is valid in AWS's dialect and means
/// the bracket alone: AWS runs `"OutputPath": "$.[?(@.year < 1999)].name"` (recorded:
/// localstack/localstack tests/aws/services/stepfunctions/templates/base/statemachines/
/// pass_result_regex_json_path.json5, test_base.py test_state_pass_regex_json_path).
#[test]
fn a_bracket_after_a_dot_is_the_bracket() {
    let root = json!({"a": [{"x": 1}, {"x": 5}], "k y": 2});
    for (dotted, plain) in [
        ("$.[0]", "$[0]"),
        ("$.a.[1]", "$.a[1]"),
        ("$.['k y']", "$['k y']"),
        ("$.a.[?(@.x > 2)]", "$.a[?(@.x > 2)]"),
        ("$.a.[*].x", "$.a[*].x"),
    ] {
        assert_eq!(select(dotted, &root), select(plain, &root), "{dotted}");
        assert_eq!(
            JsonPath::parse(dotted).unwrap().normalized(),
            JsonPath::parse(plain).unwrap().normalized(),
            "{dotted}"
        );
    }
    assert_eq!(select("$.a.[1].x", &root), Some(json!(5)));
    assert!(ReferencePath::parse("$.a.[0]").is_ok());
    assert!(JsonPath::parse("$.[").is_err());
}

/// Bracket names with escaped quotes and backslashes, as AWS (Jayway) reads them: `$['a\"b']`
/// names `a"b`, `$['it\'s']` names `it's`, `$['back\\slash']` names `back\slash`.
#[test]
fn bracket_names_take_escaped_quotes_and_backslashes() {
    let root = json!({"a\"b": 1, "it's": 2, "back\\slash": 3, "q\"": {"in": 4}});
    assert_eq!(select(r#"$['a\"b']"#, &root), Some(json!(1)));
    assert_eq!(select(r#"$["a\"b"]"#, &root), Some(json!(1)));
    assert_eq!(select(r"$['it\'s']", &root), Some(json!(2)));
    assert_eq!(select(r"$['back\\slash']", &root), Some(json!(3)));
    assert_eq!(select(r#"$['q\"'].in"#, &root), Some(json!(4)));
    assert_eq!(
        JsonPath::parse(r"$['back\\slash']").unwrap().normalized(),
        r"$['back\\slash']"
    );
}

#[test]
fn deeply_nested_filters_are_rejected_not_overflowing() {
    let deep = format!("$.a[?({}@.x{})]", "(".repeat(100_000), ")".repeat(100_000));
    assert!(matches!(
        JsonPath::parse(&deep),
        Err(PathError::Syntax { .. })
    ));
    let nots = format!("$.a[?({}@.x)]", "!".repeat(100_000));
    assert!(matches!(
        JsonPath::parse(&nots),
        Err(PathError::Syntax { .. })
    ));
    let fine = format!("$.a[?({}@.x{})]", "(".repeat(10), ")".repeat(10));
    assert!(JsonPath::parse(&fine).is_ok());
}
