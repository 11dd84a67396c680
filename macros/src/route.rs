//! The route literal `"METHOD /path"`: parsed, validated and normalised to the `{param}` spelling.
//!
//! This module works on plain strings so that it can be unit-tested without a compiler around it;
//! `args.rs` attaches the error messages to the literal's span.

use std::collections::HashSet;
use std::fmt;

/// The HTTP methods a route may name, in the order error messages list them.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// An example shown whenever the overall shape of the literal is wrong.
const EXAMPLE: &str = "\"GET /accounts/{accountId}\"";

/// A validated route: the method and the path template with every parameter written `{param}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// One of [`METHODS`].
    pub(crate) method: &'static str,
    /// The normalised path template, e.g. `/accounts/{accountId}`.
    pub(crate) path: String,
}

/// Why a route literal was rejected; `Display` gives the full message shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteError(String);

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds a [`RouteError`] with `format!` syntax.
macro_rules! route_error {
    ($($arg:tt)*) => {
        RouteError(format!($($arg)*))
    };
}

impl Route {
    /// Parses `"METHOD /path"`, e.g. `GET /accounts/{accountId}` or `GET /accounts/<accountId>`.
    /// A wrong method and a wrong path are both reported.
    pub(crate) fn parse(text: &str) -> Result<Route, Vec<RouteError>> {
        let (method, path) = split(text).map_err(|error| vec![error])?;
        match (parse_method(method), normalise_path(path)) {
            (Ok(method), Ok(path)) => Ok(Route { method, path }),
            (method, path) => Err(method.err().into_iter().chain(path.err()).collect()),
        }
    }
}

/// Splits the literal into its method and its path.
fn split(text: &str) -> Result<(&str, &str), RouteError> {
    let mut parts = text.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(path), None) => Ok((method, path)),
        (None, _, _) => Err(route_error!(
            "the route is empty; expected \"METHOD /path\", e.g. {EXAMPLE}"
        )),
        (Some(path), None, _) if path.starts_with('/') => Err(route_error!(
            "the route `{path}` has no HTTP method; write it first, e.g. \"GET {path}\""
        )),
        (Some(method), None, _) => Err(route_error!(
            "the route `{method}` has no path; expected \"METHOD /path\", e.g. {EXAMPLE}"
        )),
        (Some(_), Some(_), Some(_)) => Err(route_error!(
            "the route `{text}` has more than a method and a path; \
             a path cannot contain whitespace, e.g. {EXAMPLE}"
        )),
    }
}

/// Accepts one of [`METHODS`], spelled exactly.
fn parse_method(method: &str) -> Result<&'static str, RouteError> {
    if let Some(known) = METHODS.iter().find(|known| **known == method) {
        return Ok(known);
    }
    let upper = method.to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        return Err(route_error!(
            "unknown HTTP method `{method}`; methods are uppercase: write `{upper}`"
        ));
    }
    Err(route_error!(
        "unknown HTTP method `{method}`; expected one of: {}",
        METHODS.join(", ")
    ))
}

/// Checks the path template and rewrites `<param>` to `{param}`.
fn normalise_path(path: &str) -> Result<String, RouteError> {
    if !path.starts_with('/') {
        return Err(route_error!(
            "the path `{path}` must start with `/`; write \"/{path}\""
        ));
    }
    if let Some(bad) = path.chars().find(|c| matches!(c, '?' | '#')) {
        return Err(route_error!(
            "the path `{path}` contains `{bad}`; a route is a path template \
             without query string or fragment"
        ));
    }

    let mut normalised = String::with_capacity(path.len());
    let mut seen = HashSet::new();
    let mut rest = path;
    while let Some((start, open)) = rest
        .char_indices()
        .find(|(_, c)| matches!(c, '{' | '<' | '}' | '>'))
    {
        normalised.push_str(&rest[..start]);
        let close = match open {
            '{' => '}',
            '<' => '>',
            stray => {
                return Err(route_error!(
                    "unmatched `{stray}` in the path `{path}`; \
                     parameters are written `{{param}}` or `<param>`"
                ))
            }
        };
        let after_open = &rest[start + 1..];
        // The parameter ends at the first bracket or slash; anything but `close` is malformed.
        let end = after_open.find(['{', '<', '}', '>', '/']);
        let found = end.and_then(|end| after_open[end..].chars().next());
        let (param, after) = match (end, found) {
            (Some(end), Some(found)) if found == close => {
                (&after_open[..end], &after_open[end + 1..])
            }
            (Some(end), Some(found)) if matches!(found, '}' | '>') => {
                let param = &after_open[..end];
                return Err(route_error!(
                    "the parameter `{open}{param}{found}` in the path `{path}` mixes brackets; \
                     write `{{{param}}}` or `<{param}>`"
                ));
            }
            _ => {
                let param = &after_open[..end.unwrap_or(after_open.len())];
                return Err(route_error!(
                    "unclosed `{open}` in the path `{path}`; close the parameter: `{open}{param}{close}`"
                ));
            }
        };
        let name = param.strip_prefix('*').unwrap_or(param);
        check_param(path, open, close, param, name)?;
        let catch_all = name.len() != param.len();
        if catch_all && !after.is_empty() {
            return Err(route_error!(
                "the catch-all parameter `{open}{param}{close}` must end the path `{path}`"
            ));
        }
        if !seen.insert(name) {
            return Err(route_error!(
                "the parameter `{name}` appears twice in the path `{path}`; give each a distinct name"
            ));
        }
        normalised.push('{');
        normalised.push_str(param);
        normalised.push('}');
        rest = after;
    }
    normalised.push_str(rest);
    Ok(normalised)
}

/// A parameter name must be an identifier, so that routers and readers agree on where it ends.
fn check_param(
    path: &str,
    open: char,
    close: char,
    param: &str,
    name: &str,
) -> Result<(), RouteError> {
    if name.is_empty() {
        return Err(route_error!(
            "empty parameter `{open}{param}{close}` in the path `{path}`; name it, e.g. `{open}id{close}`"
        ));
    }
    if is_identifier(name) {
        return Ok(());
    }
    let suggestion: String = name
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            'A'..='Z' | 'a'..='z' | '_' => c,
            '0'..='9' if i > 0 => c,
            _ => '_',
        })
        .collect();
    let star = if name.len() == param.len() { "" } else { "*" };
    Err(route_error!(
        "invalid parameter name `{name}` in the path `{path}`; a parameter is an identifier \
         (ASCII letters, digits and `_`, not starting with a digit), e.g. `{open}{star}{suggestion}{close}`"
    ))
}

/// `[A-Za-z_][A-Za-z0-9_]*`: the charset shared by parameters and metric name fragments.
pub(crate) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    /// The method and path of an accepted route; a rejection shows up in the assertion's diff.
    fn ok(text: &str) -> (String, String) {
        match Route::parse(text) {
            Ok(route) => (route.method.to_owned(), route.path),
            Err(errors) => ("rejected".to_owned(), join(&errors)),
        }
    }

    /// The messages of a rejected route; an acceptance shows up in the assertion's diff.
    fn err(text: &str) -> String {
        match Route::parse(text) {
            Ok(route) => format!("accepted as {route:?}"),
            Err(errors) => join(&errors),
        }
    }

    fn join(errors: &[RouteError]) -> String {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" | ")
    }

    #[test]
    fn reports_method_and_path_together() {
        assert_eq!(
            err("get accounts"),
            "unknown HTTP method `get`; methods are uppercase: write `GET` | \
             the path `accounts` must start with `/`; write \"/accounts\""
        );
    }

    #[test]
    fn accepts_every_method() {
        for method in METHODS {
            assert_eq!(ok(&format!("{method} /")).0, method);
        }
    }

    #[test]
    fn keeps_braced_parameters() {
        assert_eq!(
            ok("GET /accounts/{accountId}"),
            ("GET".into(), "/accounts/{accountId}".into())
        );
    }

    #[test]
    fn normalises_angle_parameters() {
        assert_eq!(
            ok("PUT /accounts/<accountId>/items/<item_2>").1,
            "/accounts/{accountId}/items/{item_2}"
        );
    }

    #[test]
    fn mixes_both_spellings_across_parameters() {
        assert_eq!(ok("GET /a/<x>/b/{y}").1, "/a/{x}/b/{y}");
    }

    #[test]
    fn accepts_catch_all_at_the_end() {
        assert_eq!(ok("GET /static/{*rest}").1, "/static/{*rest}");
        assert_eq!(ok("GET /static/<*rest>").1, "/static/{*rest}");
    }

    #[test]
    fn tolerates_surrounding_whitespace() {
        assert_eq!(ok("  DELETE   /a  ").1, "/a");
    }

    #[test]
    fn keeps_plain_paths() {
        assert_eq!(ok("GET /health").1, "/health");
        assert_eq!(ok("GET /").1, "/");
        assert_eq!(ok("GET /a/b/").1, "/a/b/");
    }

    #[test]
    fn rejects_empty_route() {
        assert!(err("").contains("the route is empty"));
        assert!(err("   ").contains("e.g. \"GET /accounts/{accountId}\""));
    }

    #[test]
    fn rejects_missing_method() {
        assert_eq!(
            err("/accounts"),
            "the route `/accounts` has no HTTP method; write it first, e.g. \"GET /accounts\""
        );
    }

    #[test]
    fn rejects_missing_path() {
        assert!(err("GET").contains("has no path"));
    }

    #[test]
    fn rejects_whitespace_in_path() {
        assert!(err("GET /a b").contains("cannot contain whitespace"));
    }

    #[test]
    fn suggests_uppercase_for_lowercase_method() {
        assert_eq!(
            err("get /a"),
            "unknown HTTP method `get`; methods are uppercase: write `GET`"
        );
        assert!(err("Patch /a").contains("write `PATCH`"));
    }

    #[test]
    fn lists_methods_for_unknown_method() {
        assert_eq!(
            err("FETCH /a"),
            "unknown HTTP method `FETCH`; expected one of: \
             GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH"
        );
    }

    #[test]
    fn rejects_relative_path() {
        assert_eq!(
            err("GET accounts/{id}"),
            "the path `accounts/{id}` must start with `/`; write \"/accounts/{id}\""
        );
    }

    #[test]
    fn rejects_query_and_fragment() {
        assert!(err("GET /a?b=1").contains("contains `?`"));
        assert!(err("GET /a#b").contains("contains `#`"));
    }

    #[test]
    fn rejects_unclosed_parameter() {
        assert_eq!(
            err("GET /accounts/{accountId"),
            "unclosed `{` in the path `/accounts/{accountId`; close the parameter: `{accountId}`"
        );
        assert!(err("GET /a/{id/b").contains("close the parameter: `{id}`"));
        assert!(err("GET /a/<id").contains("`<id>`"));
        assert!(err("GET /a/{x{y}}").contains("unclosed `{`"));
    }

    #[test]
    fn rejects_stray_closing_bracket() {
        assert!(err("GET /a/id}").starts_with("unmatched `}`"));
        assert!(err("GET /a/id>").starts_with("unmatched `>`"));
    }

    #[test]
    fn rejects_mixed_brackets() {
        assert_eq!(
            err("GET /a/{id>"),
            "the parameter `{id>` in the path `/a/{id>` mixes brackets; write `{id}` or `<id>`"
        );
        assert!(err("GET /a/<id}").contains("mixes brackets"));
    }

    #[test]
    fn rejects_empty_parameter() {
        assert_eq!(
            err("GET /a/{}"),
            "empty parameter `{}` in the path `/a/{}`; name it, e.g. `{id}`"
        );
        assert!(err("GET /a/<>").contains("e.g. `<id>`"));
        assert!(err("GET /a/{*}").contains("empty parameter `{*}`"));
    }

    #[test]
    fn rejects_invalid_parameter_name() {
        assert_eq!(
            err("GET /a/{account-id}"),
            "invalid parameter name `account-id` in the path `/a/{account-id}`; a parameter is an \
             identifier (ASCII letters, digits and `_`, not starting with a digit), e.g. `{account_id}`"
        );
        assert!(err("GET /a/<1st>").contains("e.g. `<_st>`"));
        assert!(err("GET /a/{*re-st}").contains("e.g. `{*re_st}`"));
    }

    #[test]
    fn rejects_catch_all_before_the_end() {
        assert!(err("GET /a/{*rest}/b").contains("must end the path"));
    }

    #[test]
    fn rejects_duplicate_parameter() {
        assert!(err("GET /a/{id}/b/<id>").contains("the parameter `id` appears twice"));
    }

    #[test]
    fn identifier_charset() {
        assert!(is_identifier("GetAccount"));
        assert!(is_identifier("_x9"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("9x"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier("ä"));
    }
}
