//! Property tests of the attribute's input: route literals, argument lists and whole expansions, generated at
//! random. A proc macro that panics is an internal compiler error in the user's build, so nothing may panic; every
//! rejection must say why; and a valid route comes back normalised, the same however it was spelled.
//!
//! Each property runs 256 cases; `PROPTEST_CASES=100000 cargo test -p routemeter-macros route::props` fuzzes
//! harder.

use std::str::FromStr;

use proc_macro2::TokenStream;
use proptest::prelude::*;

use super::{is_identifier, Route, METHODS};
use crate::args::Args;

/// Text that looks like a route often and like anything else sometimes.
fn route_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ \t]{0,2}(GET|get|POST|Patch|FETCH|)[ \t]{0,3}[/a-z{}<>*_0-9 ?#\"\\\\é.\t-]{0,30}[ \t]{0,2}",
        "(GET|DELETE) /([a-z]{0,3}[{<]\\*?[A-Za-z_0-9-]{0,4}[}>]?/?){0,4}",
    ]
}

/// One piece of a valid path template, and how it must come back.
#[derive(Clone, Debug)]
enum Part {
    Literal(String),
    /// A parameter: its name and whether it is spelled `<name>` rather than `{name}`.
    Param(String, bool),
}

/// A valid route as the user may write it, and as it must come back: `(text, method, normalised path)`.
fn valid_route() -> impl Strategy<Value = (String, &'static str, String)> {
    let literal = "[A-Za-z0-9._~!$&'()+,;=:@%*/\"\\\\é-]{0,8}".prop_map(Part::Literal);
    let param = ("[A-Za-z_][A-Za-z0-9_]{0,6}", any::<bool>()).prop_map(|(n, a)| Part::Param(n, a));
    let parts = prop::collection::vec(prop_oneof![literal, param], 0..6);
    let catch_all = prop::option::of(("[A-Za-z_][A-Za-z0-9_]{0,6}", any::<bool>()));
    (
        prop::sample::select(&METHODS[..]),
        parts,
        catch_all,
        "[ \t]{0,2}",
        "[ \t]{1,3}",
        "[ \t]{0,2}",
    )
        .prop_map(|(method, parts, catch_all, lead, gap, trail)| {
            let (mut written, mut normalised) = ("/".to_owned(), "/".to_owned());
            let mut params = 0;
            let mut param = |name: &str, star: &str, angle: bool| {
                // A number after each name keeps the names distinct, as they must be.
                params += 1;
                let name = format!("{star}{name}{params}");
                let spelled = if angle {
                    format!("<{name}>")
                } else {
                    format!("{{{name}}}")
                };
                (spelled, format!("{{{name}}}"))
            };
            for part in parts {
                let (spelled, expected) = match part {
                    Part::Literal(text) => (text.clone(), text),
                    Part::Param(name, angle) => param(&name, "", angle),
                };
                written.push_str(&spelled);
                normalised.push_str(&expected);
            }
            if let Some((name, angle)) = catch_all {
                let (spelled, expected) = param(&name, "*", angle);
                written.push_str(&spelled);
                normalised.push_str(&expected);
            }
            (
                format!("{lead}{method}{gap}{written}{trail}"),
                method,
                normalised,
            )
        })
}

/// Argument lists built from the attribute's vocabulary and its likely mistakes.
fn argument_list() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "name",
        "route",
        "namespace",
        "crate",
        "histogram",
        "nme",
        "r#name",
        "=",
        "==",
        ",",
        "\"GetAccount\"",
        "\"Get-Account\"",
        "\"9lives\"",
        "\"\"",
        "\"GET /accounts/{accountId}\"",
        "\"GET /a/<id>/{*rest}\"",
        "\"get /a\"",
        "\"GET /a/{id\"",
        "\"::routemeter\"",
        "\"not a path\"",
        "\"é\"",
        "true",
        "false",
        "1",
        "1.5",
        "'c'",
        "b\"bytes\"",
        "::",
        "foo::bar",
        "(a, b)",
        "[x]",
        "{ }",
        "#",
        "-",
    ]);
    prop::collection::vec(piece, 0..14).prop_map(|pieces| pieces.join(" "))
}

/// Items the attribute may be put on: supported handlers, unsupported ones, and things that are not functions.
fn item() -> impl Strategy<Value = String> {
    let shapes = prop::sample::select(vec![
        "async fn h(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> { todo!() }",
        "pub async fn h() -> Response<()> { Response::new(()) }",
        "fn h() -> impl Future<Output = Response<()>> { let x = 1; async move { Response::new(()) } }",
        "fn h() -> impl Future<Output = Response<()>> { ready(Response::new(())) }",
        "async fn h<T: Clone>(&self, t: T) -> Result<Response<B>, E> where T: Send { t.go().await }",
        "#[doc = \"x\"] async fn h(_: u8) -> Response<()> { return Response::new(()); }",
        "const fn h() {}",
        "async fn h();",
        "fn h() {}",
        "async fn h() -> u8 { 1 }",
        "struct S;",
        "impl S { async fn h(&self) -> Response<()> { todo!() } }",
        "async fn h() -> Response<()> { 1 + }",
        "",
    ]);
    let garbage = prop::collection::vec(
        prop::sample::select(vec![
            "async", "fn", "h", "(", ")", "->", "impl", "Future", "<", ">", "{", "}", "Output",
            "=", ";", "pub", "const", "unsafe", "extern", "\"C\"", "move", "self", "&", "'a",
            "where", ":",
        ]),
        0..16,
    )
    .prop_map(|tokens| tokens.join(" "));
    prop_oneof![3 => shapes.prop_map(str::to_owned), 1 => garbage]
}

/// Quotes `text` as a Rust string literal (Debug writes valid escapes).
fn literal(text: &str) -> String {
    format!("{text:?}")
}

/// Text that is an identifier often, and anything else sometimes.
fn name_like() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[A-Za-z0-9_ é-]{0,6}"]
}

proptest! {
    #[test]
    fn the_runtime_applies_the_same_identifier_rule(name in name_like()) {
        prop_assert_eq!(is_identifier(&name), routemeter::__private::is_valid_name(&name));
    }

    #[test]
    fn any_route_text_parses_or_says_why(text in route_like()) {
        match Route::parse(&text) {
            Ok(route) => {
                prop_assert!(METHODS.contains(&route.method));
                prop_assert!(route.path.starts_with('/'));
                prop_assert!(!route.path.contains(|c: char| c.is_whitespace() || "?#<>".contains(c)));
                // A normalised route is a fixed point.
                let again = Route::parse(&format!("{} {}", route.method, route.path));
                prop_assert_eq!(again, Ok(route));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|error| error.to_string().len() > 10), "{:?}", errors);
            }
        }
    }

    #[test]
    fn valid_routes_come_back_normalised((text, method, path) in valid_route()) {
        let parsed = Route::parse(&text);
        prop_assert_eq!(parsed, Ok(Route { method, path: path.clone() }), "{:?}", text);
        prop_assert_eq!(
            Route::parse(&format!("{method} {path}")),
            Ok(Route { method, path })
        );
    }

    #[test]
    fn a_forbidden_character_anywhere_in_a_valid_path_is_rejected(
        (text, method, path) in valid_route(),
        bad in prop::sample::select(vec![' ', '\t', '?', '#', '{', '}', '<', '>', '\u{a0}']),
        at in any::<prop::sample::Index>(),
    ) {
        let _ = text;
        // Insert after the leading `/`, at a character boundary; whitespace at the very end is only the
        // surrounding whitespace the literal may have, so it goes inside.
        let inside = bad.is_whitespace();
        let boundaries: Vec<usize> = path
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain((!inside).then_some(path.len()))
            .collect();
        if boundaries.is_empty() {
            return Ok(());
        }
        let at = boundaries[at.index(boundaries.len())];
        let broken = format!("{}{bad}{}", &path[..at], &path[at..]);
        prop_assert!(Route::parse(&format!("{method} {broken}")).is_err(), "{:?}", broken);
    }

    #[test]
    fn a_lowercase_method_is_rejected_with_the_uppercase_one((_, method, path) in valid_route()) {
        let lower = method.to_ascii_lowercase();
        let errors = Route::parse(&format!("{lower} {path}")).err().unwrap_or_default();
        let expected = format!("write `{method}`");
        prop_assert!(errors.iter().any(|error| error.to_string().contains(&expected)), "{:?}", errors);
    }

    #[test]
    fn argument_lists_parse_or_say_why(text in argument_list()) {
        // Text that does not even lex is the compiler's business, not the attribute's.
        if let Ok(tokens) = TokenStream::from_str(&text) {
            match syn::parse2::<Args>(tokens) {
                Ok(args) => {
                    prop_assert!(is_identifier(&args.name));
                    prop_assert!(args.namespace.iter().all(|namespace| is_identifier(namespace)));
                }
                Err(error) => prop_assert!(error.into_iter().all(|e| !e.to_string().is_empty())),
            }
        }
    }

    #[test]
    fn any_name_and_route_values_parse_or_say_why(name in any::<String>(), route in route_like()) {
        let text = format!("name = {}, route = {}", literal(&name), literal(&route));
        let tokens = TokenStream::from_str(&text);
        prop_assert!(tokens.is_ok(), "{}", text);
        if let Ok(tokens) = tokens {
            match syn::parse2::<Args>(tokens) {
                Ok(args) => {
                    prop_assert_eq!(&args.name, &name);
                    prop_assert!(is_identifier(&name));
                    prop_assert_eq!(Route::parse(&route), Ok(args.route));
                }
                Err(_) => prop_assert!(!is_identifier(&name) || Route::parse(&route).is_err()),
            }
        }
    }

    #[test]
    fn expansion_never_panics(attr in argument_list(), item in item()) {
        let (Ok(attr_tokens), Ok(item_tokens)) = (TokenStream::from_str(&attr), TokenStream::from_str(&item)) else {
            return Ok(());
        };
        let valid_args = syn::parse2::<Args>(attr_tokens.clone()).is_ok();
        let expanded = crate::expand::instrumented(attr_tokens, item_tokens).to_string();
        if !valid_args {
            // A mistake in the arguments is a compile error, beside the item left as it was.
            prop_assert!(expanded.contains("compile_error"), "{}", expanded);
        }
    }

    #[test]
    fn valid_arguments_instrument_the_item_or_say_why(
        name in "[A-Za-z_][A-Za-z0-9_]{0,10}",
        (route, _, _) in valid_route(),
        extras in prop::collection::vec(
            prop::sample::select(vec![
                "histogram = true",
                "histogram = false",
                "namespace = \"shop\"",
                "crate = \"::routemeter\"",
                "crate = \"my_app::metrics\"",
            ]),
            0..3,
        ),
        item in item(),
    ) {
        let mut attr = format!("name = {}, route = {}", literal(&name), literal(&route));
        for extra in &extras {
            attr.push_str(", ");
            attr.push_str(extra);
        }
        let Ok(item_tokens) = TokenStream::from_str(&item) else {
            return Ok(());
        };
        let attr_tokens = TokenStream::from_str(&attr);
        prop_assert!(attr_tokens.is_ok(), "{}", attr);
        let Ok(attr_tokens) = attr_tokens else {
            return Ok(());
        };
        let unchanged = item_tokens.to_string();
        let expanded = crate::expand::instrumented(attr_tokens, item_tokens).to_string();
        // Never silently wrong: instrumented, a compile error, or (a body the compiler will reject) unchanged.
        prop_assert!(
            expanded.contains("__ROUTEMETER_HANDLER") || expanded.contains("compile_error") || expanded == unchanged,
            "{} on {}: {}",
            attr,
            item,
            expanded
        );
    }
}
