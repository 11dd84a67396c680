//! The account as the tutorial's clients see it: the JSON shape of `GET /accounts/{accountId}`.
//!
//! Field names follow the tutorial byte for byte (`servedBy`, `imageData`, `accountEvents`, the upper-case `ID` of an
//! event and the terse `l` of a quote), so that its scripts and dashboards read our answers unchanged. The nested
//! types double as GraphQL objects with the same field names; the GraphQL `Account` itself lives in
//! the `graphql` module because its fields take arguments.

use async_graphql::SimpleObject;
use serde::{Deserialize, Serialize};

/// One account, as answered by `GET /accounts/{accountId}` and `PUT /accounts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The account id, a decimal number written as a string (`"10001"`).
    pub id: String,
    /// The account holder's name (`Person_1` for the seeded accounts).
    pub name: String,
    /// The address of the instance that answered, so a client can see load balancing at work.
    pub served_by: String,
    /// A quote of the day attached to the account.
    pub quote: Quote,
    /// Where the account's picture lives.
    pub image_data: ImageData,
    /// What happened to the account, oldest first.
    pub account_events: Vec<AccountEvent>,
}

/// A quote, in one language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, SimpleObject)]
pub struct Quote {
    /// The text of the quote.
    pub quote: String,
    /// The instance that served the quote (the tutorial's quote service wrote its address here).
    pub l: String,
    /// Two-letter ISO 639-1 language code of the text, such as `en` or `sv`.
    pub language: String,
}

/// The account's picture (GraphQL type `AccountImage`, the tutorial's name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "AccountImage")]
pub struct ImageData {
    /// The account id the image belongs to.
    pub id: String,
    /// Where the image can be fetched.
    pub url: String,
    /// The instance that served the image data.
    pub served_by: String,
}

/// Something that happened to an account, such as its creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct AccountEvent {
    /// The event's id, unique within its account.
    #[serde(rename = "ID")]
    #[graphql(name = "ID")]
    pub id: String,
    /// What happened: `CREATED` or `UPDATED`.
    pub event_name: String,
    /// When it happened, UTC, as `YYYY-MM-DDTHH:MM:SS`.
    pub created: String,
}

/// The new account's id, the answer of `POST /accounts`: `{"ID":"10100"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The id the store assigned.
    #[serde(rename = "ID")]
    pub id: String,
}

/// The body of `/health`: `{"status":"UP"}` while healthy, `{"status":"DOWN"}` otherwise, as in the tutorial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// `UP` or `DOWN`.
    pub status: String,
}
