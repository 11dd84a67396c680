//! The GraphQL endpoint of the tutorial (`POST /graphql`), over the same store as the REST routes.
//!
//! The schema matches the tutorial's: a root field `Account(id: String, name: String)` returning an `Account` with
//! `id`, `name`, `servedBy`, `quote(language: String)`, `events(eventName: String)` and `imageData`. Example:
//!
//! ```graphql
//! { Account(id: "10001") { id name quote { quote } } }
//! ```
//!
//! The serving address is not known when the schema is built (it depends on the connection), so it travels with
//! each request as [`ServedBy`] request data.
//!
//! A query is measured before async-graphql validates it, and refused with a GraphQL error when it is too long or
//! asks for too much work once its fragments are written out; see [`limits`].

use std::sync::Arc;

use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Schema};

pub mod limits;

use crate::excerpt::{excerpt, ECHO_CHARS};
use crate::model::{AccountEvent, ImageData, Quote};
use crate::store::{Lookup, Record, Store};

/// The executable schema of the accountservice.
pub type AccountSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Nesting and cost limits. The schema has no recursion, so honest queries stay far below them; they only bound
/// what a hostile query can make the server do.
const MAX_DEPTH: usize = 8;
const MAX_COMPLEXITY: usize = 256;

/// Builds the schema over `store`.
pub fn schema(store: Arc<Store>) -> AccountSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(store)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .extension(limits::RequestLimits)
        .finish()
}

/// The address of the instance answering a GraphQL request, attached as request data
/// (`request.data(ServedBy(...))`); `servedBy` fields read it.
#[derive(Clone, Debug)]
pub struct ServedBy(pub Arc<str>);

/// The root query type.
#[derive(Clone, Copy, Debug, Default)]
pub struct Query;

#[Object]
impl Query {
    /// One account, by `id` or, when no id is given, by exact `name`; `null` when there is no such account.
    #[graphql(name = "Account")]
    async fn account(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        name: Option<String>,
    ) -> async_graphql::Result<Option<AccountNode>> {
        let store = ctx.data::<Arc<Store>>()?;
        let served_by = ctx.data::<ServedBy>()?.0.clone();
        let record = match (id, name) {
            (Some(id), _) => match store.lookup(&id) {
                Lookup::Found(record) => Some(record),
                Lookup::Unknown => None,
                Lookup::Invalid => {
                    let id = excerpt(&id, ECHO_CHARS);
                    return Err(format!("Account id must be a decimal number, got \"{id}\"").into());
                }
            },
            (None, Some(name)) => store.find_by_name(&name),
            (None, None) => return Err("Account needs an `id` or a `name` argument".into()),
        };
        Ok(record.map(|record| AccountNode { record, served_by }))
    }
}

/// The GraphQL `Account` object: a stored account seen from one serving instance.
#[derive(Clone, Debug)]
pub struct AccountNode {
    record: Record,
    served_by: Arc<str>,
}

#[Object(name = "Account")]
impl AccountNode {
    /// The account id, a decimal number written as a string.
    async fn id(&self) -> String {
        self.record.id.to_string()
    }

    /// The account holder's name.
    async fn name(&self) -> &str {
        &self.record.name
    }

    /// The address of the instance that answered.
    async fn served_by(&self) -> &str {
        &self.served_by
    }

    /// The account's quote in `language` (two-letter ISO code such as `en` or `sv`); English when the language is
    /// absent or not in the catalogue.
    async fn quote(&self, language: Option<String>) -> Quote {
        self.record.quote(language.as_deref(), &self.served_by)
    }

    /// The account's events, oldest first; only those named `eventName` when it is given.
    async fn events(&self, event_name: Option<String>) -> Vec<AccountEvent> {
        self.record
            .events
            .iter()
            .filter(|event| {
                event_name
                    .as_ref()
                    .is_none_or(|wanted| &event.event_name == wanted)
            })
            .cloned()
            .collect()
    }

    /// Where the account's picture lives.
    async fn image_data(&self) -> ImageData {
        self.record.image_data(&self.served_by)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(query: &str) -> serde_json::Value {
        let schema = schema(Arc::new(Store::seeded()));
        let request = async_graphql::Request::new(query).data(ServedBy(Arc::from("127.0.0.1:1")));
        let response = schema.execute(request).await;
        serde_json::to_value(&response).unwrap_or_default()
    }

    #[tokio::test]
    async fn answers_the_tutorial_query() {
        let value = run(r#"{ Account(id: "10001") { id name quote { quote } } }"#).await;
        assert_eq!(
            value,
            serde_json::json!({"data": {"Account": {
                "id": "10001", "name": "Person_1", "quote": {"quote": "Better late than never."}
            }}})
        );
    }

    #[tokio::test]
    async fn resolves_every_field_with_the_tutorial_names() {
        let value = run(r#"{ Account(name: "Person_2") {
                id servedBy quote(language: "sv") { quote l language }
                events(eventName: "CREATED") { ID eventName created }
                imageData { id url servedBy } } }"#)
        .await;
        let account = &value["data"]["Account"];
        assert_eq!(account["id"], "10002");
        assert_eq!(account["servedBy"], "127.0.0.1:1");
        assert_eq!(account["quote"]["language"], "sv");
        assert_eq!(account["quote"]["l"], "127.0.0.1:1");
        assert_eq!(account["events"][0]["ID"], "1");
        assert_eq!(account["events"][0]["eventName"], "CREATED");
        assert_eq!(account["imageData"]["servedBy"], "127.0.0.1:1");
        let none = run(r#"{ Account(id: "10002") { events(eventName: "UPDATED") { ID } } }"#).await;
        assert_eq!(none["data"]["Account"]["events"], serde_json::json!([]));
    }

    #[tokio::test]
    async fn unknown_account_is_null_and_bad_input_an_error() {
        let value = run(r#"{ Account(id: "1") { id } }"#).await;
        assert_eq!(value["data"]["Account"], serde_json::Value::Null);
        let value = run(r#"{ Account(id: "x") { id } }"#).await;
        assert!(value["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("decimal")));
        let value = run(r#"{ Account { id } }"#).await;
        assert!(value["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`id`")));
    }
}
