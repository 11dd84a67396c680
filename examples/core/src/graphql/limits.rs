//! What one GraphQL request may cost, checked before async-graphql validates it.
//!
//! async-graphql's depth and complexity limits are compared only after validation, and validation walks every
//! fragment spread as if it were written out: ten spreads of a fragment that spreads ten of the next, twenty
//! levels down, is 1,885 bytes of query and 10^20 fields of walking. So the query is measured first, on the
//! parsed document, with each fragment counted once and its cost reused wherever it is spread (linear in the
//! query's length): its *work* is every field, fragment spread, inline fragment, directive and argument it would
//! have once written out. (Argument values are not multiplied by spreads, since validation checks them where
//! they are written; their size is bounded by the query's length.) Over [`MAX_WORK`], or longer than [`MAX_QUERY_BYTES`], it is refused with a
//! GraphQL error before async-graphql does anything else with it, so what validation and execution may cost is
//! bounded and no worker thread is kept busy by one request.
//!
//! Answers are bounded too: at most [`MAX_ERRORS`] errors of at most [`ERROR_CHARS`] characters each, since error
//! messages quote the query (an unknown field's name, a bad argument's value) and the query's variables.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest,
};
use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Positioned, Request, Response, ServerError, ServerResult};

use crate::excerpt::{excerpt, ECHO_CHARS};

/// The longest query accepted, in bytes: the tutorial's queries are under 300.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// The most work a query may ask for once its fragments are written out. The tutorial's largest query is about
/// 20; the complexity limit already refuses more than 256 fields.
pub const MAX_WORK: u64 = 2_000;

/// How deep fragments may spread fragments that spread fragments.
pub const MAX_FRAGMENT_NESTING: usize = 32;

/// The most errors one answer carries; the rest are summed up in one more.
pub const MAX_ERRORS: usize = 10;

/// The longest error message an answer carries, in characters.
pub const ERROR_CHARS: usize = 200;

/// The schema extension that applies these limits to every request.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLimits;

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimits)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestLimits {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        bound_errors(&mut response.errors);
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let length = request.query.len();
        if length > MAX_QUERY_BYTES {
            return Err(ServerError::new(
                format!("the query is {length} bytes long, over the limit of {MAX_QUERY_BYTES}"),
                None,
            ));
        }
        // Parsed here, once: async-graphql uses the document it finds in the request.
        let document = request.parsed_query()?;
        match work(document) {
            Ok(work) if work <= MAX_WORK => next.run(ctx, request).await,
            Ok(_) | Err(Refused::TooMuchWork) => Err(ServerError::new(
                format!(
                    "the query asks for too much work: over {MAX_WORK} fields, fragments, directives and arguments \
                     once its fragments are written out"
                ),
                None,
            )),
            Err(Refused::TooDeep) => Err(ServerError::new(
                format!("fragments spread fragments more than {MAX_FRAGMENT_NESTING} levels deep"),
                None,
            )),
            Err(Refused::Cycle(name)) => Err(ServerError::new(
                format!(
                    "fragment \"{}\" spreads itself",
                    excerpt(&name, ECHO_CHARS)
                ),
                None,
            )),
        }
    }
}

/// Why a query was refused before its work was known.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// Over [`MAX_WORK`] already.
    TooMuchWork,
    /// Fragments nested over [`MAX_FRAGMENT_NESTING`] deep.
    TooDeep,
    /// This fragment spreads itself, directly or through others.
    Cycle(String),
}

/// The work of every operation in `document`, its fragments written out.
fn work(document: &ExecutableDocument) -> Result<u64, Refused> {
    let mut walk = Walk {
        document,
        fragments: HashMap::new(),
    };
    let mut total = 0_u64;
    for (_, operation) in document.operations.iter() {
        total = add(total, directives(&operation.node.directives))?;
        total = add(total, walk.selection_set(&operation.node.selection_set, 0)?)?;
    }
    Ok(total)
}

/// One walk over a document, remembering what each fragment costs.
struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// `None` while a fragment is being measured: meeting it again then is a cycle.
    fragments: HashMap<&'a str, Option<u64>>,
}

impl<'a> Walk<'a> {
    fn selection_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        nesting: usize,
    ) -> Result<u64, Refused> {
        let mut total = 0_u64;
        for selection in &set.node.items {
            let cost = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let arguments = count(field.arguments.len());
                    let nested = self.selection_set(&field.selection_set, nesting)?;
                    add(
                        add(
                            1_u64.saturating_add(arguments),
                            directives(&field.directives),
                        )?,
                        nested,
                    )?
                }
                Selection::InlineFragment(inline) => {
                    let nested = self.selection_set(&inline.node.selection_set, nesting)?;
                    add(add(1, directives(&inline.node.directives))?, nested)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let fragment = self.fragment(name, nesting + 1)?;
                    add(add(1, directives(&spread.node.directives))?, fragment)?
                }
            };
            total = add(total, cost)?;
        }
        Ok(total)
    }

    /// What the fragment `name` costs wherever it is spread; an unknown fragment costs nothing here (validation
    /// reports it).
    fn fragment(&mut self, name: &'a str, nesting: usize) -> Result<u64, Refused> {
        match self.fragments.get(name) {
            Some(Some(known)) => return Ok(*known),
            Some(None) => return Err(Refused::Cycle(name.to_owned())),
            None => {}
        }
        if nesting > MAX_FRAGMENT_NESTING {
            return Err(Refused::TooDeep);
        }
        let document = self.document;
        let Some((key, definition)) = document.fragments.get_key_value(name) else {
            return Ok(0);
        };
        self.fragments.insert(key.as_str(), None);
        let cost = add(
            directives(&definition.node.directives),
            self.selection_set(&definition.node.selection_set, nesting)?,
        )?;
        self.fragments.insert(key.as_str(), Some(cost));
        Ok(cost)
    }
}

/// `a + b`, or a refusal once over the budget (so sums never overflow and a walk stops early).
fn add(a: u64, b: u64) -> Result<u64, Refused> {
    let sum = a.saturating_add(b);
    if sum > MAX_WORK {
        return Err(Refused::TooMuchWork);
    }
    Ok(sum)
}

/// The work of a list of directives: each, and each of its arguments.
fn directives(directives: &[Positioned<Directive>]) -> u64 {
    directives.iter().fold(0_u64, |sum, directive| {
        sum.saturating_add(1)
            .saturating_add(count(directive.node.arguments.len()))
    })
}

/// A length as work.
fn count(length: usize) -> u64 {
    u64::try_from(length).unwrap_or(u64::MAX)
}

/// Keeps at most [`MAX_ERRORS`] errors of at most [`ERROR_CHARS`] characters each.
fn bound_errors(errors: &mut Vec<ServerError>) {
    let dropped = errors.len().saturating_sub(MAX_ERRORS);
    errors.truncate(MAX_ERRORS);
    for error in errors.iter_mut() {
        if error.message.chars().nth(ERROR_CHARS).is_some() {
            error.message = excerpt(&error.message, ERROR_CHARS);
        }
    }
    if dropped > 0 {
        errors.push(ServerError::new(
            format!("{dropped} more errors left out"),
            None,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work_of(query: &str) -> Result<u64, Refused> {
        let document = async_graphql::parser::parse_query(query).unwrap_or_else(|err| {
            unreachable!("test queries parse: {err}");
        });
        work(&document)
    }

    /// `levels` fragments, each spreading the next `fan_out` times.
    pub(crate) fn fan_out(levels: usize, fan_out: usize) -> String {
        let mut query = String::from("query { ...F0 }\n");
        for level in 0..levels {
            let spreads = format!("...F{} ", level + 1).repeat(fan_out);
            query.push_str(&format!("fragment F{level} on Query {{ {spreads}}}\n"));
        }
        query.push_str(&format!(
            "fragment F{levels} on Query {{ Account(id: \"10001\") {{ id }} }}\n"
        ));
        query
    }

    #[test]
    fn counts_fields_arguments_and_directives() {
        assert_eq!(work_of(r#"{ Account(id: "1") { id name } }"#), Ok(4));
        assert_eq!(
            work_of(r#"{ Account(id: "1") { id @include(if: true) } }"#),
            Ok(5)
        );
        assert_eq!(
            work_of(r#"{ a: Account(id: "1") { id } b: Account(name: "x") { id } }"#),
            Ok(6)
        );
    }

    #[test]
    fn counts_each_fragment_once_but_charges_every_spread() {
        let query = r#"{ ...A ...A } fragment A on Query { Account(id: "1") { id } }"#;
        // Each spread: 1, plus the fragment's 3.
        assert_eq!(work_of(query), Ok(8));
        assert_eq!(work_of(&fan_out(2, 2)), Ok(1 + 2 * (1 + 2 * (1 + 3))));
    }

    #[test]
    fn refuses_fan_out_cycles_and_deep_chains_quickly() {
        for levels in [6, 7, 20, 30] {
            let started = std::time::Instant::now();
            assert_eq!(
                work_of(&fan_out(levels, 10)),
                Err(Refused::TooMuchWork),
                "{levels}"
            );
            assert!(started.elapsed() < std::time::Duration::from_millis(100));
        }
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(matches!(work_of(cycle), Err(Refused::Cycle(_))));
        assert_eq!(work_of(&fan_out(40, 1)), Err(Refused::TooDeep));
    }

    #[test]
    fn keeps_answers_short() {
        let mut errors: Vec<_> = (0..50)
            .map(|_| ServerError::new("x".repeat(10_000), None))
            .collect();
        bound_errors(&mut errors);
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        assert!(errors
            .iter()
            .all(|error| error.message.chars().count() <= ERROR_CHARS + 1));
        assert_eq!(errors[MAX_ERRORS].message, "40 more errors left out");
    }
}
