//! The attribute's arguments: `name`, `route`, `namespace`, `crate`, `histogram`, `stream`,
//! `time_to_headers` and `request_size`.
//!
//! Parsing keeps going after a mistake in one argument's value, so that every mistake in the
//! attribute is reported in one build; only a token that cannot start an argument stops it.

use std::fmt;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitStr, Path, Token};

use crate::errors::Errors;
use crate::route::{is_identifier, Route};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(route);
    syn::custom_keyword!(namespace);
    syn::custom_keyword!(histogram);
    syn::custom_keyword!(stream);
    syn::custom_keyword!(time_to_headers);
    syn::custom_keyword!(request_size);
}

/// The full attribute, shown when a required argument is missing.
const USAGE: &str = "#[instrumented(name = \"GetAccount\", route = \"GET /accounts/{accountId}\")]";

/// The validated arguments of one `#[instrumented(...)]`.
#[derive(Debug)]
pub(crate) struct Args {
    /// The metric name fragment, e.g. `GetAccount`.
    pub(crate) name: String,
    /// The validated, normalised route.
    pub(crate) route: Route,
    /// A per-handler namespace overriding the default one.
    pub(crate) namespace: Option<String>,
    /// The path of the runtime crate; `None` means `::routemeter`.
    pub(crate) krate: Option<Path>,
    /// Which histograms this handler also records; `None` leaves it to the process-wide settings.
    pub(crate) histogram: Option<Histogram>,
    /// Whether the route is long-lived (server-sent events, long polling, upgrades).
    pub(crate) stream: bool,
    /// Whether the time to the response headers has a series of its own; `None` leaves it to the
    /// process-wide setting.
    pub(crate) time_to_headers: Option<bool>,
    /// Whether the request body's size is recorded; `None` leaves it to the process-wide setting.
    pub(crate) request_size: Option<bool>,
}

/// The value of `histogram`: `false`, `true` or `"native"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Histogram {
    Off,
    Classic,
    Native,
}

/// The argument keys, so that messages and examples are written once per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Name,
    Route,
    Namespace,
    Crate,
    Histogram,
    Stream,
    TimeToHeaders,
    RequestSize,
}

impl Key {
    /// Every key, in the order messages list them.
    const ALL: [Key; 8] = [
        Key::Name,
        Key::Route,
        Key::Namespace,
        Key::Crate,
        Key::Histogram,
        Key::Stream,
        Key::TimeToHeaders,
        Key::RequestSize,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Key::Name => "name",
            Key::Route => "route",
            Key::Namespace => "namespace",
            Key::Crate => "crate",
            Key::Histogram => "histogram",
            Key::Stream => "stream",
            Key::TimeToHeaders => "time_to_headers",
            Key::RequestSize => "request_size",
        }
    }

    /// A correct use of this key, quoted in error messages.
    fn example(self) -> &'static str {
        match self {
            Key::Name => "name = \"GetAccount\"",
            Key::Route => "route = \"GET /accounts/{accountId}\"",
            Key::Namespace => "namespace = \"accountservice\"",
            Key::Crate => "crate = \"::routemeter\"",
            Key::Histogram => "histogram = true",
            Key::Stream => "stream = true",
            Key::TimeToHeaders => "time_to_headers = true",
            Key::RequestSize => "request_size = true",
        }
    }

    /// "`name`, `route`, ..." for messages that list what is valid.
    fn list() -> String {
        Key::ALL
            .iter()
            .map(|key| format!("`{key}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One argument's value as found so far: whether the key was given, and its value if valid.
struct Slot<T> {
    seen: bool,
    value: Option<T>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            seen: false,
            value: None,
        }
    }
}

impl<T> Slot<T> {
    /// The one place that enforces "each argument at most once", for every key.
    fn set(&mut self, key: Key, key_span: Span, value: syn::Result<T>, errors: &mut Errors) {
        if self.seen {
            errors.push(syn::Error::new(
                key_span,
                format!("duplicate argument `{key}`; each argument may be given only once"),
            ));
        }
        let first = !self.seen;
        self.seen = true;
        if let Some(value) = errors.record(value) {
            if first {
                self.value = Some(value);
            }
        }
    }
}

/// Everything found while parsing, valid or not.
#[derive(Default)]
struct Found {
    name: Slot<String>,
    route: Slot<Route>,
    namespace: Slot<String>,
    krate: Slot<Path>,
    histogram: Slot<Histogram>,
    stream: Slot<bool>,
    time_to_headers: Slot<bool>,
    request_size: Slot<bool>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut found = Found::default();
        let mut errors = Errors::default();
        while !input.is_empty() {
            if let Err(fatal) = parse_argument(input, &mut found, &mut errors) {
                return Err(errors.finish_with(fatal));
            }
            if input.is_empty() {
                break;
            }
            if let Err(fatal) = input.parse::<Token![,]>() {
                return Err(errors.finish_with(fatal));
            }
        }
        let missing: Vec<String> = [(Key::Name, found.name.seen), (Key::Route, found.route.seen)]
            .iter()
            .filter(|(_, seen)| !seen)
            .map(|(key, _)| format!("`{key}`"))
            .collect();
        if !missing.is_empty() {
            let plural = if missing.len() > 1 { "s" } else { "" };
            errors.push(syn::Error::new(
                Span::call_site(),
                format!(
                    "missing required argument{plural} {}; every instrumented handler needs a metric \
                     name and a route, e.g. `{USAGE}`",
                    missing.join(" and ")
                ),
            ));
        }
        let args = match (found.name.value, found.route.value) {
            (Some(name), Some(route)) => Some(Args {
                name,
                route,
                namespace: found.namespace.value,
                krate: found.krate.value,
                histogram: found.histogram.value,
                stream: found.stream.value.unwrap_or(false),
                time_to_headers: found.time_to_headers.value,
                request_size: found.request_size.value,
            }),
            _ => None,
        };
        match (errors.into_error(), args) {
            (Some(error), _) => Err(error),
            (None, Some(args)) => Ok(args),
            // A required value that is missing without an error cannot happen; say so rather than panic.
            (None, None) => Err(syn::Error::new(
                Span::call_site(),
                format!("invalid arguments; expected e.g. `{USAGE}`"),
            )),
        }
    }
}

/// Parses one `key = value`; an `Err` means the rest of the attribute cannot be read.
fn parse_argument(
    input: ParseStream<'_>,
    found: &mut Found,
    errors: &mut Errors,
) -> syn::Result<()> {
    let lookahead = input.lookahead1();
    if lookahead.peek(kw::name) {
        let key = input.parse::<kw::name>()?;
        let value = value_tokens(input, Key::Name, key.span)
            .and_then(|tokens| string(tokens, Key::Name))
            .and_then(|lit| fragment(&lit, Key::Name));
        found.name.set(Key::Name, key.span, value, errors);
    } else if lookahead.peek(kw::route) {
        let key = input.parse::<kw::route>()?;
        let value = value_tokens(input, Key::Route, key.span)
            .and_then(|tokens| string(tokens, Key::Route))
            .and_then(|lit| {
                Route::parse(&lit.value()).map_err(|errors| {
                    let mut all = Errors::default();
                    for error in errors {
                        all.push(syn::Error::new(lit.span(), error));
                    }
                    // `Route::parse` never fails without a reason; the fallback only avoids a panic.
                    all.into_error()
                        .unwrap_or_else(|| syn::Error::new(lit.span(), "invalid route"))
                })
            });
        found.route.set(Key::Route, key.span, value, errors);
    } else if lookahead.peek(kw::namespace) {
        let key = input.parse::<kw::namespace>()?;
        let value = value_tokens(input, Key::Namespace, key.span)
            .and_then(|tokens| string(tokens, Key::Namespace))
            .and_then(|lit| fragment(&lit, Key::Namespace));
        found.namespace.set(Key::Namespace, key.span, value, errors);
    } else if lookahead.peek(Token![crate]) {
        let key = input.parse::<Token![crate]>()?;
        let value = value_tokens(input, Key::Crate, key.span)
            .and_then(|tokens| string(tokens, Key::Crate))
            .and_then(|lit| crate_path(&lit));
        found.krate.set(Key::Crate, key.span, value, errors);
    } else if lookahead.peek(kw::histogram) {
        let key = input.parse::<kw::histogram>()?;
        let value = value_tokens(input, Key::Histogram, key.span).and_then(histogram);
        found.histogram.set(Key::Histogram, key.span, value, errors);
    } else if lookahead.peek(kw::stream) {
        let key = input.parse::<kw::stream>()?;
        let value = value_tokens(input, Key::Stream, key.span)
            .and_then(|tokens| boolean(tokens, Key::Stream));
        found.stream.set(Key::Stream, key.span, value, errors);
    } else if lookahead.peek(kw::time_to_headers) {
        let key = input.parse::<kw::time_to_headers>()?;
        let value = value_tokens(input, Key::TimeToHeaders, key.span)
            .and_then(|tokens| boolean(tokens, Key::TimeToHeaders));
        found
            .time_to_headers
            .set(Key::TimeToHeaders, key.span, value, errors);
    } else if lookahead.peek(kw::request_size) {
        let key = input.parse::<kw::request_size>()?;
        let value = value_tokens(input, Key::RequestSize, key.span)
            .and_then(|tokens| boolean(tokens, Key::RequestSize));
        found
            .request_size
            .set(Key::RequestSize, key.span, value, errors);
    } else if input.peek(Ident::peek_any) {
        let key = input.call(Ident::parse_any)?;
        // The value of an unknown key is skipped; its own mistakes would only add noise.
        let _ = value_tokens(input, Key::Name, key.span());
        errors.push(unknown_key(&key));
    } else {
        return Err(lookahead.error());
    }
    Ok(())
}

/// Reads `= value` up to the next top-level comma.
fn value_tokens(input: ParseStream<'_>, key: Key, key_span: Span) -> syn::Result<TokenStream> {
    let eq = input.parse::<Option<Token![=]>>()?;
    let mut value = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        value.extend([input.parse::<TokenTree>()?]);
    }
    match eq {
        None => Err(syn::Error::new(
            key_span,
            format!("expected `=` after `{key}`, e.g. `{}`", key.example()),
        )),
        Some(eq) if value.is_empty() => Err(syn::Error::new(
            eq.span,
            format!("missing value for `{key}`, e.g. `{}`", key.example()),
        )),
        Some(_) => Ok(value),
    }
}

/// Parses `tokens` as exactly one `T`, with messages that name the key.
fn single<T: Parse>(tokens: TokenStream, key: Key, expected: &str) -> syn::Result<T> {
    let mismatch = || {
        syn::Error::new_spanned(
            &tokens,
            format!("`{key}` takes {expected}, e.g. `{}`", key.example()),
        )
    };
    let mut trees = tokens.clone().into_iter();
    let first = trees.next().ok_or_else(mismatch)?;
    let value = syn::parse2::<T>(first.into()).map_err(|_| mismatch())?;
    match trees.next() {
        None => Ok(value),
        // `name = "a" route = "..."`: the likely mistake is a missing comma.
        Some(TokenTree::Ident(next)) => Err(syn::Error::new(
            next.span(),
            format!("expected `,` before `{next}`; separate the arguments with commas"),
        )),
        Some(_) => Err(mismatch()),
    }
}

fn string(tokens: TokenStream, key: Key) -> syn::Result<LitStr> {
    single(tokens, key, "a string literal")
}

/// `true` or `false`, for the switches that take nothing else.
fn boolean(tokens: TokenStream, key: Key) -> syn::Result<bool> {
    if let Ok(lit) = syn::parse2::<LitStr>(tokens.clone()) {
        if matches!(lit.value().as_str(), "true" | "false") {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "`{key}` takes a bool, not a string; write `{key} = {}`",
                    lit.value()
                ),
            ));
        }
    }
    single::<LitBool>(tokens, key, "`true` or `false`").map(|lit| lit.value)
}

/// `true`, `false` or `"native"`.
fn histogram(tokens: TokenStream) -> syn::Result<Histogram> {
    if let Ok(lit) = syn::parse2::<LitStr>(tokens.clone()) {
        return match lit.value().as_str() {
            "native" => Ok(Histogram::Native),
            "true" | "false" => Err(syn::Error::new(
                lit.span(),
                format!(
                    "`histogram` takes a bool, not a string; write `histogram = {}`",
                    lit.value()
                ),
            )),
            other => Err(syn::Error::new(
                lit.span(),
                format!(
                    "unknown histogram `{other}`; `histogram` takes `true`, `false` or \
                     `\"native\"` (classic buckets and a native histogram)"
                ),
            )),
        };
    }
    single::<LitBool>(tokens, Key::Histogram, "`true`, `false` or `\"native\"`").map(|lit| {
        if lit.value {
            Histogram::Classic
        } else {
            Histogram::Off
        }
    })
}

/// A metric name fragment: it is pasted into `<namespace>_<name>`, so it must be a valid one.
fn fragment(lit: &LitStr, key: Key) -> syn::Result<String> {
    let value = lit.value();
    if is_identifier(&value) {
        return Ok(value);
    }
    const CHARSET: &str = "it becomes part of the Prometheus metric name, so it may contain only \
                           ASCII letters, digits and `_`, and must not start with a digit";
    let message = if value.is_empty() {
        format!("the {key} is empty; {CHARSET}; e.g. `{}`", key.example())
    } else {
        format!(
            "invalid {key} `{value}`: {CHARSET}; try `{key} = \"{}\"`",
            fragment_suggestion(&value)
        )
    };
    Err(syn::Error::new(lit.span(), message))
}

/// `value` with every character outside the charset replaced by `_`, and `_` before a leading digit.
fn fragment_suggestion(value: &str) -> String {
    let mut suggestion: String = value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if suggestion.starts_with(|c: char| c.is_ascii_digit()) {
        suggestion.insert(0, '_');
    }
    suggestion
}

/// `crate = "path"`: a module-style path to the runtime crate, e.g. a rename or a re-export.
fn crate_path(lit: &LitStr) -> syn::Result<Path> {
    lit.parse_with(Path::parse_mod_style).map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`crate` must be a path to the routemeter crate, e.g. `crate = \"::routemeter\"` or \
                 `crate = \"my_app::metrics\"`; `{}` is not a path",
                lit.value()
            ),
        )
    })
}

fn unknown_key(key: &Ident) -> syn::Error {
    let given = key.unraw().to_string();
    let mut message = format!(
        "unknown argument `{given}`; expected one of: {}",
        Key::list()
    );
    if let Some(known) = Key::ALL
        .iter()
        .find(|known| known.as_str().eq_ignore_ascii_case(&given))
    {
        message.push_str(&format!("; did you mean `{known}`?"));
    } else if matches!(given.as_str(), "method" | "path" | "url" | "uri") {
        message.push_str(&format!(
            "; the method and the path go together in one argument: `{}`",
            Key::Route.example()
        ));
    }
    syn::Error::new(key.span(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parsed arguments, or every error message in order.
    fn parse(text: &str) -> Result<Args, Vec<String>> {
        syn::parse_str::<Args>(text)
            .map_err(|error| error.into_iter().map(|e| e.to_string()).collect())
    }

    fn messages(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(args) => vec![format!("accepted as {args:?}")],
            Err(errors) => errors,
        }
    }

    #[test]
    fn parses_required_arguments() {
        let args = parse(r#"name = "GetAccount", route = "GET /accounts/<accountId>""#);
        let args = args.map(|a| {
            (
                a.name,
                a.route.method,
                a.route.path,
                a.namespace,
                a.histogram,
            )
        });
        assert_eq!(
            args,
            Ok((
                "GetAccount".to_owned(),
                "GET",
                "/accounts/{accountId}".to_owned(),
                None,
                None
            ))
        );
    }

    #[test]
    fn parses_optional_arguments_in_any_order() {
        let args = parse(
            r#"histogram = false, crate = "renamed::inner", route = "POST /a", namespace = "svc", name = "A","#,
        );
        let args = args.map(|a| {
            let krate = a.krate.map(|p| quote::quote!(#p).to_string());
            (a.namespace, a.histogram, krate)
        });
        assert_eq!(
            args,
            Ok((
                Some("svc".to_owned()),
                Some(Histogram::Off),
                Some("renamed :: inner".to_owned())
            ))
        );
    }

    #[test]
    fn reports_missing_required_arguments_together() {
        let errors = messages("");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("missing required arguments `name` and `route`;"));
        assert!(errors[0].contains(USAGE));
        assert!(messages(r#"name = "A""#)[0].starts_with("missing required argument `route`;"));
    }

    #[test]
    fn lists_valid_keys_for_unknown_argument() {
        assert_eq!(
            messages(r#"name = "A", route = "GET /", level = "info""#),
            ["unknown argument `level`; expected one of: \
              `name`, `route`, `namespace`, `crate`, `histogram`, `stream`, `time_to_headers`, \
              `request_size`"]
        );
        assert!(messages(r#"Name = "A", route = "GET /""#)[0].ends_with("did you mean `name`?"));
        assert!(
            messages(r#"name = "A", method = "GET""#)[0].contains("go together in one argument")
        );
    }

    #[test]
    fn reports_duplicates_with_one_message_shape() {
        let errors = messages(r#"name = "A", name = "B", route = "GET /", route = "GET /b""#);
        assert_eq!(
            errors,
            [
                "duplicate argument `name`; each argument may be given only once",
                "duplicate argument `route`; each argument may be given only once"
            ]
        );
    }

    #[test]
    fn rejects_invalid_fragments_with_a_suggestion() {
        let errors = messages(r#"name = "Get-Account", route = "GET /", namespace = "9svc""#);
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("invalid name `Get-Account`: "));
        assert!(errors[0].ends_with("try `name = \"Get_Account\"`"));
        assert!(errors[1].ends_with("try `namespace = \"_9svc\"`"));
    }

    #[test]
    fn rejects_empty_fragment() {
        assert!(messages(r#"name = "", route = "GET /""#)[0].starts_with("the name is empty;"));
    }

    #[test]
    fn reports_route_errors() {
        assert_eq!(
            messages(r#"name = "A", route = "get /a""#),
            ["unknown HTTP method `get`; methods are uppercase: write `GET`"]
        );
    }

    #[test]
    fn collects_every_error() {
        let errors = messages(
            r#"name = "a-b", route = "FETCH a", crate = "not a path", histogram = 1, colour = "red""#,
        );
        assert_eq!(errors.len(), 6, "{errors:#?}");
    }

    #[test]
    fn rejects_non_string_values() {
        assert_eq!(
            messages(r#"name = GetAccount, route = "GET /""#),
            ["`name` takes a string literal, e.g. `name = \"GetAccount\"`"]
        );
    }

    #[test]
    fn rejects_bad_crate_path() {
        assert!(
            messages(r#"name = "A", route = "GET /", crate = "my crate""#)[0]
                .starts_with("`crate` must be a path to the routemeter crate")
        );
        assert!(
            messages(r#"name = "A", route = "GET /", crate = "a::<T>""#)[0]
                .ends_with("`a::<T>` is not a path")
        );
    }

    #[test]
    fn rejects_non_bool_histogram() {
        assert_eq!(
            messages(r#"name = "A", route = "GET /", histogram = "true""#),
            ["`histogram` takes a bool, not a string; write `histogram = true`"]
        );
        assert_eq!(
            messages(r#"name = "A", route = "GET /", histogram = yes"#),
            ["`histogram` takes `true`, `false` or `\"native\"`, e.g. `histogram = true`"]
        );
        assert_eq!(
            messages(r#"name = "A", route = "GET /", histogram = "sparse""#),
            [
                "unknown histogram `sparse`; `histogram` takes `true`, `false` or `\"native\"` \
              (classic buckets and a native histogram)"
            ]
        );
    }

    #[test]
    fn parses_every_histogram() {
        for (value, expected) in [
            ("true", Histogram::Classic),
            ("false", Histogram::Off),
            ("\"native\"", Histogram::Native),
        ] {
            let args = parse(&format!(
                r#"name = "A", route = "GET /", histogram = {value}"#
            ));
            assert_eq!(args.map(|a| a.histogram), Ok(Some(expected)), "{value}");
        }
    }

    #[test]
    fn reports_missing_equals_and_value() {
        assert_eq!(
            messages(r#"name "A", route = "GET /""#),
            ["expected `=` after `name`, e.g. `name = \"GetAccount\"`"]
        );
        assert_eq!(
            messages(r#"name = , route = "GET /""#),
            ["missing value for `name`, e.g. `name = \"GetAccount\"`"]
        );
    }

    #[test]
    fn suggests_missing_comma() {
        assert_eq!(
            messages(r#"name = "A" route = "GET /""#),
            [
                "expected `,` before `route`; separate the arguments with commas",
                "missing required argument `route`; every instrumented handler needs a metric name \
                 and a route, e.g. `#[instrumented(name = \"GetAccount\", route = \"GET /accounts/{accountId}\")]`"
            ]
        );
    }

    #[test]
    fn stops_at_a_token_that_cannot_start_an_argument() {
        assert_eq!(
            messages(r#""GetAccount", route = "GET /""#),
            [
                "expected one of: `name`, `route`, `namespace`, `crate`, `histogram`, `stream`, \
              `time_to_headers`, `request_size`"
            ]
        );
    }

    #[test]
    fn suggestion_keeps_valid_characters() {
        assert_eq!(fragment_suggestion("Get Account"), "Get_Account");
        assert_eq!(fragment_suggestion("1x"), "_1x");
        assert_eq!(fragment_suggestion("größe"), "gr__e");
    }
}
